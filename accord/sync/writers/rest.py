"""REST API writer: one JSON request per change, or batches of changes on one endpoint."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from urllib.parse import quote

from accord.config.models import RestDestination
from accord.logs import get_logger
from accord.sync.errors import DeliveryError, SyncError, TransientDeliveryError
from accord.sync.http import HttpSender
from accord.sync.payload import IDEMPOTENCY_HEADER, json_body
from accord.sync.writers.base import Change, Outcome, pending, rejected, sent

logger = get_logger(__name__)

_NOT_FOUND = frozenset({404, 410})


def auth_headers(destination: RestDestination) -> dict[str, str]:
    """Return the authentication header, with the token read from the environment.

    Raises:
        SyncError: When the environment variable is not set.
    """
    auth = destination.auth
    if auth is None:
        return {}
    token = os.environ.get(auth.token_env)
    if not token:
        raise SyncError(
            destination.name,
            f"environment variable {auth.token_env} is not set; export the API token in it",
        )
    if auth.type == "bearer":
        return {"Authorization": f"Bearer {token}"}
    return {auth.header or "Authorization": token}


def record_path(template: str, record_key: str) -> str:
    """Return ``template`` with ``{key}`` replaced by the URL-quoted record key."""
    return template.replace("{key}", quote(record_key, safe=""))


class RestWriter:
    """Writes changes to a JSON REST API."""

    def __init__(
        self,
        destination: RestDestination,
        make_sender: Callable[..., HttpSender] = HttpSender,
    ) -> None:
        self.destination = destination
        # Without a batch endpoint every change is its own request, and the
        # runner commits the outcomes of 'requests_per_commit' requests at a
        # time, so a sync killed part-way resends at most that many.
        self.batch_size = (
            destination.batch_size if destination.batch_path else destination.requests_per_commit
        )
        self.headers = {"Content-Type": "application/json", **auth_headers(destination)}
        base_url = (
            destination.base_url
            if destination.base_url.endswith("/")
            else (destination.base_url + "/")
        )
        self.sender = make_sender(
            destination.name, destination.retry, destination.rate_limit, base_url
        )

    def close(self) -> None:
        """Close the HTTP client."""
        self.sender.close()

    def write(self, changes: list[Change]) -> list[Outcome]:
        """Send ``changes`` in one batch request when configured, else one request each.

        A rejected batch of several changes is sent again one change at a
        time, to find the rejected records.
        """
        batch_path = self.destination.batch_path
        if not batch_path:
            return self._singles(changes)
        try:
            return self._batch(batch_path, changes)
        except TransientDeliveryError as exc:
            return pending(changes, str(exc))
        except DeliveryError as exc:
            if len(changes) == 1:
                return [rejected(changes[0], str(exc), exc.status_code, exc.response_body)]
            logger.warning(
                "destination %s: batch of %d rejected (HTTP %s); sending one at a time to "
                "find the rejected records",
                self.destination.name,
                len(changes),
                exc.status_code,
            )
        return self._singles(changes)

    def _singles(self, changes: list[Change]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for index, change in enumerate(changes):
            try:
                self._send_one(change)
            except TransientDeliveryError as exc:
                return outcomes + pending(changes[index:], str(exc))
            except DeliveryError as exc:
                outcomes.append(rejected(change, str(exc), exc.status_code, exc.response_body))
                continue
            outcomes.append(sent(change))
        return outcomes

    def _send_one(self, change: Change) -> None:
        destination = self.destination
        headers = {**self.headers, IDEMPOTENCY_HEADER: change.idempotency_key}
        if change.operation == "delete":
            path = record_path(destination.delete_path or destination.path, change.record_key)
            self.sender.send("DELETE", path, None, headers, ok_statuses=_NOT_FOUND)
            return
        if change.operation == "insert":
            path = record_path(destination.insert_path or destination.path, change.record_key)
            body = {destination.key.column: change.record_key, **change.body()}
            self.sender.send(destination.insert_method, path, json_body(body), headers)
            return
        path = record_path(destination.path, change.record_key)
        self.sender.send(destination.method, path, json_body(change.body()), headers)

    def _batch(self, batch_path: str, changes: list[Change]) -> list[Outcome]:
        items = [
            {
                "operation": change.operation,
                "key": change.record_key,
                "idempotency_key": change.idempotency_key,
                "fields": change.body(),
            }
            for change in changes
        ]
        joined = "|".join(change.idempotency_key for change in changes)
        headers = {**self.headers, IDEMPOTENCY_HEADER: hashlib.sha256(joined.encode()).hexdigest()}
        self.sender.send("POST", batch_path, json_body({"records": items}), headers)
        return [sent(change) for change in changes]
