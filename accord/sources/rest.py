"""REST API reader built on dlt's ``rest_api`` source.

The dlt resource is iterated in this process. No dlt pipeline,
destination or state is created, so dlt writes no files. dlt telemetry is
switched off before dlt is imported. The API token comes from an
environment variable. It is redacted from every log record that dlt,
urllib3 or requests emit during a read, and errors name the variable,
never the token.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, urlsplit

from accord.config.models import RestAuth, RestPaginator, RestSource
from accord.errors import SourceError, TransientError
from accord.logs import get_logger
from accord.sources.base import Capabilities, ReadIssue, ReadResult
from accord.sources.records import Locator, clip_raw, finish_read
from accord.sources.values import flatten_record, json_text, table_from_records

if TYPE_CHECKING:
    from dlt.sources.helpers.rest_client.auth import AuthConfigBase
    from dlt.sources.helpers.rest_client.paginators import BasePaginator
    from requests import Session

logger = get_logger(__name__)

_REDACTED_LOGGERS = ("dlt", "urllib3.connectionpool", "urllib3", "requests")
_REDACTION = "***"


class RestReader:
    """Reads a JSON REST API through dlt's rest_api source.

    Reads are full unless ``incremental`` is set: then the cursor of the
    previous read is sent in the ``incremental.param`` query parameter,
    and the API returns only changed rows, so deleted rows cannot be seen.
    """

    capabilities = Capabilities(incremental=True, detects_deletes=False)

    def __init__(
        self,
        source: RestSource,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        max_wait_seconds: float = 60.0,
        timeout_seconds: float = 60.0,
    ) -> None:
        """Prepare to read ``source``.

        Args:
            source: The source settings.
            max_attempts: Attempts per request on 429, 5xx and connection errors.
            backoff_seconds: Base of the exponential wait between attempts,
                unless the response has a Retry-After header.
            max_wait_seconds: Maximum wait between attempts, also when a
                Retry-After header requests a longer one.
            timeout_seconds: Timeout of each request.
        """
        self.source = source
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.max_wait_seconds = max_wait_seconds
        self.timeout_seconds = timeout_seconds

    @property
    def endpoint(self) -> str:
        """The resource URL without query parameters, for messages."""
        return f"{self.source.base_url.rstrip('/')}/{self.source.path.lstrip('/')}"

    def read(self, since: str | None) -> ReadResult:
        """Read the records of the endpoint, following its pagination.

        Args:
            since: The cursor of the previous read, or None for a full read.

        Raises:
            SourceError: When the token variable is missing, the API rejects
                the token or the request, or the response is not usable.
            TransientError: When the API stays unreachable, rate-limited or
                failing (429, 5xx) after the retries.
        """
        _disable_dlt_telemetry()
        source = self.source
        token = self._token()
        params: dict[str, Any] = dict(source.params)
        sent = self._incremental_value(since)
        if source.incremental is not None and sent is not None:
            params[source.incremental.param] = sent
        logger.info("source '%s': reading %s", source.name, self.endpoint)
        with redacted_logs(token):
            items = self._fetch(params, token)
        issues, records = _split_items(items)
        table = table_from_records(records)
        result = finish_read(
            table,
            source,
            since,
            _item_locator(items, records),
            origin=f"the records of {self.endpoint}",
            issues=issues,
            records=records,
        )
        if sent is not None:
            result.complete = False
            result.present_keys = None
            if result.cursor is None:
                result.cursor = sent
        return result

    def _incremental_value(self, since: str | None) -> str | None:
        incremental = self.source.incremental
        if incremental is None:
            return None
        if self.source.cursor is None:
            raise SourceError(
                self.source.name,
                "'incremental' is set but 'cursor' is not. Set 'cursor' to the record field "
                f"that the '{incremental.param}' parameter filters on.",
            )
        return since if since is not None else incremental.initial_value

    def _token(self) -> str | None:
        auth = self.source.auth
        if auth is None:
            return None
        token = os.environ.get(auth.token_env)
        if not token:
            state = "is empty" if token == "" else "is not set"
            raise SourceError(
                self.source.name,
                f"environment variable {auth.token_env} for the API token {state}. Set it "
                "to the token before running.",
            )
        return token

    def _fetch(self, params: dict[str, Any], token: str | None) -> list[object]:
        from dlt.common.exceptions import DltException
        from dlt.sources.rest_api import rest_api_resources

        session = self._session()
        config: dict[str, Any] = {
            "client": {
                "base_url": self.source.base_url,
                "auth": make_auth(self.source.auth, token, self.source.name),
                "paginator": make_paginator(self.source.paginator, params),
                "session": session,
            },
            "resources": [
                {
                    "name": self.source.name,
                    "endpoint": {
                        "path": self.source.path,
                        "params": params,
                        **_data_selector(self.source.data_selector),
                    },
                }
            ],
        }
        try:
            resource = rest_api_resources(config)[0]  # type: ignore[arg-type]
            return list(resource)
        except (DltException, OSError, ValueError) as exc:
            raise self._translate(exc, token) from None
        finally:
            session.close()

    def _session(self) -> Session:
        from dlt.sources.helpers.requests.retry import Client

        client = Client(
            request_timeout=self.timeout_seconds,
            raise_for_status=False,
            request_max_attempts=self.max_attempts,
            request_backoff_factor=self.backoff_seconds,
            request_max_retry_delay=self.max_wait_seconds,
        )
        return client.session

    def _translate(self, exc: BaseException, token: str | None) -> SourceError | TransientError:
        import requests

        name = self.source.name
        chain = _exception_chain(exc)
        for cause in chain:
            if isinstance(cause, requests.HTTPError) and cause.response is not None:
                return self._http_error(cause.response.status_code)
            if isinstance(cause, requests.JSONDecodeError | json.JSONDecodeError):
                return SourceError(
                    name, f"{self.endpoint} did not return JSON. Check 'base_url' and 'path'."
                )
            if isinstance(cause, requests.ConnectionError | requests.Timeout):
                host = urlsplit(self.source.base_url).netloc
                return TransientError(
                    f"source '{name}': cannot reach {host} after {self.max_attempts} attempts "
                    f"({type(cause).__name__}). Check base_url and the network, then retry."
                )
        cause = chain[-1]
        # dlt's paginator errors quote the whole response after " got "; the
        # response may hold personal data, so the message stops before it.
        detail = redact(str(cause), token).split(" got ")[0][:300]
        return SourceError(
            name,
            f"reading {self.endpoint} failed: {type(cause).__name__}: {detail}. Check "
            "'paginator' and 'data_selector' against the API's response format.",
        )

    def _http_error(self, status: int) -> SourceError | TransientError:
        name = self.source.name
        auth = self.source.auth
        if status in (401, 403) and auth is not None:
            return SourceError(
                name,
                f"the API at {self.endpoint} rejected the token from environment variable "
                f"{auth.token_env} (HTTP {status}). Check that {auth.token_env} holds a "
                "valid token with read access.",
            )
        if status in (401, 403):
            return SourceError(
                name,
                f"the API at {self.endpoint} requires authentication (HTTP {status}). Set "
                "'auth' with the environment variable that holds the token.",
            )
        if status == 429 or status >= 500:
            return TransientError(
                f"source '{name}': {self.endpoint} responded with HTTP {status} after "
                f"{self.max_attempts} attempts. Retry the run later."
            )
        return SourceError(
            name,
            f"{self.endpoint} responded with HTTP {status}. Check 'base_url', 'path' and 'params'.",
        )


def _data_selector(selector: str | None) -> dict[str, str]:
    return {} if selector is None else {"data_selector": selector}


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """Return ``exc`` and the exceptions it was raised from or during, outermost first."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _split_items(items: list[object]) -> tuple[list[ReadIssue], list[dict[str, Any]]]:
    issues: list[ReadIssue] = []
    records: list[dict[str, Any]] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, Mapping):
            records.append(flatten_record(item))
        else:
            message = "expected a JSON object but found another value, so the item is skipped."
            issues.append(ReadIssue(f"item {number}", message, clip_raw(json_text(item))))
    return issues, records


def _item_locator(items: list[object], records: list[dict[str, Any]]) -> Locator:
    positions = [number for number, item in enumerate(items, start=1) if isinstance(item, Mapping)]

    def locate(rows: Sequence[int]) -> list[tuple[str, str | None]]:
        return [(f"item {positions[row]}", json_text(records[row])) for row in rows]

    return locate


def make_auth(auth: RestAuth | None, token: str | None, source: str) -> AuthConfigBase | None:
    """Build the dlt authentication object for ``auth`` with ``token``.

    Raises:
        SourceError: When a header or query parameter name is needed but not set.
    """
    from dlt.sources.helpers.rest_client.auth import APIKeyAuth, BearerTokenAuth

    if auth is None or token is None:
        return None
    if auth.type == "bearer":
        return BearerTokenAuth(token=token)
    if auth.name is None:
        what = "header" if auth.type == "header" else "query parameter"
        raise SourceError(
            source, f"auth type '{auth.type}' needs 'name': the {what} that carries the token."
        )
    location = "header" if auth.type == "header" else "query"
    return APIKeyAuth(name=auth.name, api_key=token, location=location)  # type: ignore[arg-type]


def make_paginator(config: RestPaginator | None, params: dict[str, Any]) -> BasePaginator | None:
    """Build the dlt paginator for ``config``, or None to let dlt detect it.

    The page size goes into ``params`` for paginators that do not send it
    themselves.
    """
    from dlt.sources.helpers.rest_client import paginators

    if config is None:
        return None
    if config.limit is not None and config.type != "offset":
        params.setdefault(config.limit_param or "limit", config.limit)
    if config.type == "page_number":
        return paginators.PageNumberPaginator(
            base_page=config.base_page,
            page_param=config.page_param or "page",
            total_path=config.total_path,
        )
    if config.type == "offset":
        return paginators.OffsetPaginator(
            limit=config.limit or 100,
            offset_param=config.page_param or "offset",
            limit_param=config.limit_param or "limit",
            total_path=config.total_path,
        )
    if config.type == "cursor":
        return paginators.JSONResponseCursorPaginator(
            cursor_path=config.cursor_path or "cursors.next",
            cursor_param=config.cursor_param or "cursor",
        )
    if config.type == "json_link":
        return paginators.JSONLinkPaginator(next_url_path=config.next_url_path or "next")
    if config.type == "header_link":
        return paginators.HeaderLinkPaginator()
    return paginators.SinglePagePaginator()


def _disable_dlt_telemetry() -> None:
    # dlt reads this before its first use in the process; it stops dlt from
    # sending anonymous usage data to its telemetry endpoint.
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"


def redact(text: str, secret: str | None) -> str:
    """Replace ``secret``, plain or URL-encoded, with ``***`` in ``text``."""
    if not secret:
        return text
    for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
        text = text.replace(form, _REDACTION)
    return text


class _RedactingFilter(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message, self.secret)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


@contextmanager
def redacted_logs(secret: str | None) -> Iterator[None]:
    """Redact ``secret`` from records of the HTTP loggers while the block runs."""
    if not secret:
        yield
        return
    log_filter = _RedactingFilter(secret)
    loggers = [logging.getLogger(name) for name in _REDACTED_LOGGERS]
    for each in loggers:
        each.addFilter(log_filter)
    try:
        yield
    finally:
        for each in loggers:
            each.removeFilter(log_filter)
