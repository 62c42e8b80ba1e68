"""HTTP intake: ``POST /ingest/{source}``, ``GET /health`` and ``GET /metrics``.

A POST body is one JSON object or a list of them (see
:mod:`accord.stream.changes`). The answer is 202 once every change of the
body is committed to the change log, so an acknowledged change survives a
crash; a bad body is rejected whole with a 4xx JSON error.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from accord.config.loader import LoadedProject
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.stream.changes import Change, InvalidChange, parse_change, parse_json
from accord.stream.group_commit import GroupCommitter
from accord.stream.metrics import Metrics

logger = get_logger(__name__)

SIGNATURE_HEADER = "X-Accord-Signature"


class RequestError(Exception):
    """A request to answer with an HTTP error status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def signature(secret: str, body: bytes) -> str:
    """Return the ``X-Accord-Signature`` header value of ``body``: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class IntakeServer(ThreadingHTTPServer):
    """The worker's HTTP server; each request runs in its own thread."""

    daemon_threads = True
    # The socketserver default backlog of 5 drops connections when many
    # webhooks arrive at once, and each dropped SYN costs the sender a
    # one-second retransmission.
    request_queue_size = 1024

    def __init__(
        self,
        address: tuple[str, int],
        loaded: LoadedProject,
        store: Store,
        metrics: Metrics,
        ready: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(address, IntakeHandler)
        self.ready = ready
        self.loaded = loaded
        self.store = store
        self.metrics = metrics
        self.accepting = True
        self.committer = GroupCommitter(store)

    def server_close(self) -> None:
        """Close the socket, then commit the changes already taken and stop the committer."""
        super().server_close()
        # A failed bind closes the server before __init__ has made the committer.
        committer: GroupCommitter | None = getattr(self, "committer", None)
        if committer is not None:
            committer.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a request that failed outside the handler's own checks, in place of a traceback."""
        error = sys.exc_info()[1]
        logger.warning(
            "request from %s failed: %s: %s", client_address[0], type(error).__name__, error
        )
        logger.debug("request from %s failed", client_address[0], exc_info=True)

    def ingest(self, source_name: str, body: bytes, signature_header: str | None) -> int:
        """Check, parse and commit the changes of one request; return how many were new.

        Raises:
            RequestError: When the source, signature or body is invalid.
        """
        if not self.accepting:
            raise RequestError(503, "the worker is shutting down; retry later")
        try:
            source = self.loaded.project.source(source_name)
        except KeyError as exc:
            raise RequestError(404, str(exc.args[0])) from None
        settings = self.loaded.project.stream.sources.get(source_name)
        if settings is not None and not settings.webhook.enabled:
            raise RequestError(404, f"source '{source_name}' does not accept webhooks")
        if settings is not None and settings.webhook.secret_env:
            _verify(settings.webhook.secret_env, body, signature_header)
        document = _parse_json(body)
        items = document if isinstance(document, list) else [document]
        changes: list[Change] = []
        for index, item in enumerate(items):
            try:
                changes.append(parse_change(source, item, "http"))
            except InvalidChange as exc:
                raise RequestError(400, f"item {index}: {exc}") from None
        return self.commit(source_name, changes)

    def commit(self, source_name: str, changes: list[Change]) -> int:
        """Commit ``changes`` to the change log together with other waiting requests."""
        count = self.committer.commit(changes)
        self.metrics.add("accord_changes_received_total", source_name, count)
        return count

    def health(self) -> dict[str, Any]:
        """Return the worker status and the pending changes per source."""
        cursor = self.store.connection.cursor()
        try:
            rows = cursor.execute(
                "SELECT source, count(*) FROM change_log WHERE status = 'pending' GROUP BY source"
            ).fetchall()
        finally:
            cursor.close()
        return {
            "status": "ok" if self.accepting else "stopping",
            "ready": self.ready(),
            "pending": {row[0]: int(row[1]) for row in rows},
        }


def _parse_json(body: bytes) -> Any:
    try:
        return parse_json(body)
    except InvalidChange as exc:
        raise RequestError(400, str(exc)) from None


def _verify(secret_env: str, body: bytes, header: str | None) -> None:
    secret = os.environ.get(secret_env)
    if not secret:
        logger.error("webhook secret variable %s is not set; rejecting the request", secret_env)
        raise RequestError(500, f"the signing secret variable {secret_env} is not set")
    if header is None:
        raise RequestError(401, f"missing {SIGNATURE_HEADER} header")
    # Hex digits compare without case: some senders write the digest in capitals.
    received = header.strip().lower().encode("utf-8", "surrogateescape")
    if not hmac.compare_digest(received, signature(secret, body).encode()):
        raise RequestError(401, f"invalid {SIGNATURE_HEADER}: expected sha256=<hex HMAC of body>")


class IntakeHandler(BaseHTTPRequestHandler):
    """Routes the requests of :class:`IntakeServer`."""

    server: IntakeServer
    protocol_version = "HTTP/1.1"
    # The status line and headers go out before the body, and with Nagle's
    # algorithm a client's delayed ACK held the body back about 40 ms.
    disable_nagle_algorithm = True
    # Seconds a client may take to send its request; a stalled body times out.
    timeout = 30
    # Whether the current request's body was read in full.
    _body_read = False
    # Whether the connection closes with the client perhaps still sending a body.
    _linger = False

    def do_POST(self) -> None:
        """Accept changes at ``/ingest/{source}``.

        A response sent before the whole body is read closes the connection,
        so the unread bytes are never parsed as the next request.
        """
        self._body_read = False
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        try:
            if len(parts) != 2 or parts[0] != "ingest":
                raise RequestError(404, f"no endpoint {self.path}; POST /ingest/{{source}}")
            body = self._body()
            count = self.server.ingest(parts[1], body, self.headers.get(SIGNATURE_HEADER))
        except RequestError as exc:
            self._reject(exc)
            return
        except Exception as exc:
            logger.error("POST %s failed: %s: %s", self.path, type(exc).__name__, exc)
            error = {"error": f"{type(exc).__name__}: {exc}"}
            self._send_json(500, error, close=not self._body_read)
            return
        self._send_json(202, {"accepted": count})

    def handle_expect_100(self) -> bool:
        """Send 100 Continue only for a body within the limit, and 413 for a larger one.

        Returning False ends the request without reading the body, so a client
        that waits for 100 Continue never uploads an oversized body.
        """
        self._body_read = False
        if self.command != "POST":
            return super().handle_expect_100()
        try:
            self._declared_length()
        except RequestError as exc:
            self._reject(exc)
            return False
        return super().handle_expect_100()

    def _reject(self, error: RequestError) -> None:
        """Log and send a rejection. The connection closes unless the body was read."""
        logger.warning("rejected POST %s: %d %s", self.path, error.status, error.message)
        self._send_json(error.status, {"error": error.message}, close=not self._body_read)

    def do_GET(self) -> None:
        """Serve ``/health`` and ``/metrics``.

        A GET body is never read, so a request with one closes the connection.
        """
        close = self._has_body()
        path = self.path.split("?", 1)[0]
        if path == "/health":
            health = self.server.health()
            self._send_json(200 if health["status"] == "ok" else 503, health, close=close)
        elif path == "/metrics":
            text = self.server.metrics.render().encode()
            self._send(200, text, "text/plain; version=0.0.4; charset=utf-8", close=close)
        else:
            error = {"error": f"no endpoint {path}; use /health or /metrics"}
            self._send_json(404, error, close=close)

    def _has_body(self) -> bool:
        if "Transfer-Encoding" in self.headers:
            return True
        return self.headers.get_all("Content-Length", []) not in ([], ["0"])

    def _body(self) -> bytes:
        length = self._declared_length()
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            raise RequestError(408, f"timed out reading a body of {length} bytes") from None
        if len(body) < length:
            raise RequestError(400, f"body ended after {len(body)} of {length} bytes")
        self._body_read = True
        return body

    def _declared_length(self) -> int:
        """Return the Content-Length, or raise when it is missing, invalid or over the limit."""
        if "Transfer-Encoding" in self.headers:
            # A proxy that honors Transfer-Encoding over Content-Length would
            # frame the body differently from this server.
            raise RequestError(
                411, "Transfer-Encoding is not supported; send the body with Content-Length"
            )
        lengths = self.headers.get_all("Content-Length", [])
        if not lengths:
            raise RequestError(411, "missing Content-Length header")
        if len(lengths) > 1:
            raise RequestError(400, f"{len(lengths)} Content-Length headers; send exactly one")
        length_text = lengths[0].strip()
        # int() would also take "+5", "1_0" and non-ASCII digits, which other
        # HTTP parsers read differently or reject.
        if not (length_text.isascii() and length_text.isdigit()):
            raise RequestError(400, f"invalid Content-Length {length_text!r}")
        length = int(length_text)
        limit = self.server.loaded.project.stream.max_body_bytes
        if length > limit:
            raise RequestError(413, f"body of {length} bytes is over the limit of {limit}")
        return length

    def _send_json(self, status: int, payload: Any, close: bool = False) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", close)

    def _send(self, status: int, body: bytes, content_type: str, close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
            self._linger = self._has_body() and not self._body_read
        try:
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The change, if any, is already stored, so only the response is lost.
            logger.info(
                "%s closed the connection before its %d response was sent",
                self.address_string(),
                status,
            )
            self.close_connection = True

    def finish(self) -> None:
        """Flush the response, then discard what the client still sends after an early response.

        Closing a socket with unread input makes the kernel send a reset,
        which can discard the response before the client reads it, so a
        client still sending an oversized body would see a reset instead of
        the 413.
        """
        super().finish()
        if self._linger:
            drain(self.connection, LINGER_SECONDS)

    def log_message(self, format: str, *args: Any) -> None:
        """Log each request at debug level instead of writing to stderr."""
        logger.debug("%s %s", self.address_string(), format % args)


# Seconds a connection that responded before reading the body keeps discarding its input.
LINGER_SECONDS = 2.0


def drain(connection: socket.socket, seconds: float) -> int:
    """Half-close ``connection``, then discard its input until EOF or ``seconds`` pass.

    Returns:
        The number of bytes discarded.
    """
    deadline = time.monotonic() + seconds
    discarded = 0
    try:
        connection.shutdown(socket.SHUT_WR)
        while (left := deadline - time.monotonic()) > 0:
            connection.settimeout(left)
            chunk = connection.recv(65536)
            if not chunk:
                break
            discarded += len(chunk)
    except OSError:
        # A timeout or a client that reset the connection ends the draining.
        pass
    return discarded


def start_http(server: IntakeServer) -> threading.Thread:
    """Serve ``server`` in a background thread and return the thread."""
    thread = threading.Thread(target=server.serve_forever, name="accord-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    logger.info("HTTP intake listening on http://%s:%s", host, port)
    return thread
