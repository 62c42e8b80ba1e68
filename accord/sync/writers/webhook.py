"""Webhook writer: one signed JSON POST per change."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from accord.config.models import WebhookDestination
from accord.sync.errors import SyncError
from accord.sync.http import HttpSender
from accord.sync.payload import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, json_body, sign
from accord.sync.writers.base import Change, Outcome
from accord.sync.writers.lanes import LaneSender


def read_secret(destination: str, variable: str) -> str:
    """Return the signing secret from the environment.

    Raises:
        SyncError: When the variable is not set.
    """
    secret = os.environ.get(variable)
    if not secret:
        raise SyncError(
            destination, f"environment variable {variable} is not set; export the signing secret"
        )
    return secret


def signed_headers(secret: str, body: bytes, idempotency_key: str) -> dict[str, str]:
    """Return the headers of a signed JSON POST."""
    return {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(secret, body),
        IDEMPOTENCY_HEADER: idempotency_key,
    }


def webhook_event(destination: str, change: Change) -> dict[str, Any]:
    """Return the JSON payload of one change: the changed fields and the whole record."""
    return {
        "destination": destination,
        "operation": change.operation,
        "key": change.record_key,
        "entity_id": change.entity_id,
        "idempotency_key": change.idempotency_key,
        "fields": change.body(),
        "record": change.record if change.operation != "delete" else None,
    }


class WebhookWriter:
    """POSTs each change to a URL, signed with HMAC-SHA256."""

    def __init__(
        self,
        destination: WebhookDestination,
        make_sender: Callable[..., HttpSender] = HttpSender,
    ) -> None:
        self.destination = destination
        # One POST per change. The runner commits the outcomes of
        # 'requests_per_commit' POSTs at a time (one by default), so a sync
        # killed part-way resends at most that many.
        self.batch_size = destination.requests_per_commit
        self.secret = read_secret(destination.name, destination.secret_env)
        self.sender = make_sender(destination.name, destination.retry, destination.rate_limit)
        self.lanes = LaneSender(destination.concurrency, destination.name)

    def close(self) -> None:
        """Stop the sending threads and close the HTTP client."""
        self.lanes.close()
        self.sender.close()

    def write(self, changes: list[Change]) -> list[Outcome]:
        """POST every change, up to ``concurrency`` at once, until the first transient failure.

        The changes of one record or entity are sent one after another, in order.
        """
        return self.lanes.send(changes, self._post)

    def _post(self, change: Change) -> None:
        body = json_body(webhook_event(self.destination.name, change))
        headers = signed_headers(self.secret, body, change.idempotency_key)
        self.sender.send("POST", self.destination.url, body, headers)
