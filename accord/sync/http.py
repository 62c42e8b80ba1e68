"""HTTP delivery with a rate limit and retries.

Timeouts, connection errors, 429 and 5xx responses are retried with
exponential backoff and full jitter; a ``Retry-After`` header sets the
least delay. Any other 4xx is permanent. Request headers are never logged,
because they carry tokens and signatures.
"""

from __future__ import annotations

import functools
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from accord.config.models import HttpRetry
from accord.logs import get_logger
from accord.sync.errors import DeliveryError, TransientDeliveryError, truncate

logger = get_logger(__name__)

Sleep = Callable[[float], None]


def pause(seconds: float) -> None:
    """Sleep between attempts; a module function so that tests can replace it."""
    time.sleep(seconds)


class RateLimiter:
    """Spaces requests at least ``1 / per_second`` seconds apart."""

    def __init__(
        self,
        per_second: float | None,
        sleep: Sleep | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = 1.0 / per_second if per_second else 0.0
        self._sleep = sleep if sleep is not None else pause
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait until the next request may start."""
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            self._sleep(wait)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Return the delay of a ``Retry-After`` header (seconds or an HTTP date), None when invalid."""
    if not value:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now or datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def backoff_delay(
    attempt: int, retry: HttpRetry, retry_after: float | None, rng: Callable[[], float]
) -> float:
    """Return the delay before retry number ``attempt`` (1 for the first retry).

    Full jitter: a random share of ``backoff_seconds * 2 ** (attempt - 1)``,
    capped at ``max_backoff_seconds``. ``Retry-After`` is a lower bound.
    """
    ceiling = min(retry.max_backoff_seconds, retry.backoff_seconds * 2 ** (attempt - 1))
    delay = ceiling * rng()
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Return the TLS context every sender shares; loading the CA bundle takes tens of ms."""
    return httpx.create_ssl_context()


class HttpSender:
    """Sends JSON requests for one destination through a shared client."""

    def __init__(
        self,
        destination: str,
        retry: HttpRetry,
        rate_limit: float | None = None,
        base_url: str = "",
        sleep: Sleep | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.destination = destination
        self.retry = retry
        self.limiter = RateLimiter(rate_limit, sleep)
        self.client = httpx.Client(
            base_url=base_url, timeout=retry.timeout_seconds, verify=_tls_context()
        )
        self._sleep = sleep if sleep is not None else pause
        self._rng = rng
        self.requests = 0
        self.retries = 0

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        ok_statuses: frozenset[int] = frozenset(),
    ) -> httpx.Response:
        """Send one request, retrying transient failures.

        Args:
            method: HTTP method.
            url: Path under the base URL, or a whole URL.
            body: JSON request body, or None.
            headers: Request headers; never logged.
            ok_statuses: Non-2xx statuses that also count as success, such
                as 404 for a delete.

        Raises:
            TransientDeliveryError: When every attempt timed out, failed to
                connect, or got 429 or 5xx.
            DeliveryError: On any other 4xx, with the status and the
                truncated response body.
        """
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            self.requests += 1
            failure, retry_after = self._attempt(method, url, body, headers, ok_statuses)
            if isinstance(failure, httpx.Response):
                return failure
            if attempt >= self.retry.max_attempts:
                raise TransientDeliveryError(
                    self.destination,
                    f"{method} {_path(url)} failed after {attempt} attempts: {failure}",
                )
            delay = backoff_delay(attempt, self.retry, retry_after, self._rng)
            self.retries += 1
            logger.info(
                "destination %s: %s %s failed (%s); retry %d in %.2f s",
                self.destination,
                method,
                _path(url),
                failure,
                attempt,
                delay,
            )
            self._sleep(delay)

    def _attempt(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: Mapping[str, str],
        ok_statuses: frozenset[int],
    ) -> tuple[httpx.Response | str, float | None]:
        """Return the response on success, else the failure text and the Retry-After delay."""
        try:
            response = self.client.request(method, url, content=body, headers=dict(headers))
        except httpx.TimeoutException:
            return "timed out", None
        except httpx.TransportError as exc:
            return f"connection failed: {type(exc).__name__}", None
        status = response.status_code
        if response.is_success or status in ok_statuses:
            return response, None
        if _retryable(status):
            return f"HTTP {status}", retry_after_seconds(response.headers.get("Retry-After"))
        raise DeliveryError(
            self.destination,
            f"{method} {_path(url)} was rejected with HTTP {status}",
            status_code=status,
            response_body=truncate(response.text),
        )


def _path(url: str) -> str:
    """Return ``url`` without its query string, which may carry credentials."""
    return url.split("?", 1)[0]
