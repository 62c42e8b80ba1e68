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
import logging
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from accord.config.loader import LoadedProject
from accord.store.duckdb_store import Store
from accord.stream.changes import Change, InvalidChange, parse_change, parse_json
from accord.stream.group_commit import GroupCommitter
from accord.stream.metrics import Metrics

logger = logging.getLogger(__name__)

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
        self.committer.close()

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
    if not hmac.compare_digest(header.strip(), signature(secret, body)):
        raise RequestError(401, f"invalid {SIGNATURE_HEADER}: expected sha256=<hex HMAC of body>")


class IntakeHandler(BaseHTTPRequestHandler):
    """Routes the requests of :class:`IntakeServer`."""

    server: IntakeServer
    protocol_version = "HTTP/1.1"
    # Seconds a client may take to send its request; a stalled body times out.
    timeout = 30

    def do_POST(self) -> None:
        """Accept changes at ``/ingest/{source}``."""
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        try:
            if len(parts) != 2 or parts[0] != "ingest":
                raise RequestError(404, f"no endpoint {self.path}; POST /ingest/{{source}}")
            body = self._body()
            count = self.server.ingest(parts[1], body, self.headers.get(SIGNATURE_HEADER))
        except RequestError as exc:
            logger.warning("rejected POST %s: %d %s", self.path, exc.status, exc.message)
            self._send_json(exc.status, {"error": exc.message})
            return
        except Exception as exc:
            logger.error("POST %s failed: %s: %s", self.path, type(exc).__name__, exc)
            self._send_json(500, {"error": f"{type(exc).__name__}: {exc}"})
            return
        self._send_json(202, {"accepted": count})

    def do_GET(self) -> None:
        """Serve ``/health`` and ``/metrics``."""
        path = self.path.split("?", 1)[0]
        if path == "/health":
            health = self.server.health()
            self._send_json(200 if health["status"] == "ok" else 503, health)
        elif path == "/metrics":
            text = self.server.metrics.render().encode()
            self._send(200, text, "text/plain; version=0.0.4; charset=utf-8")
        else:
            self._send_json(404, {"error": f"no endpoint {path}; use /health or /metrics"})

    def _body(self) -> bytes:
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            raise RequestError(411, "missing Content-Length header")
        try:
            length = int(length_text)
        except ValueError:
            raise RequestError(400, f"invalid Content-Length {length_text!r}") from None
        limit = self.server.loaded.project.stream.max_body_bytes
        if length < 0 or length > limit:
            raise RequestError(413, f"body of {length} bytes is over the limit of {limit}")
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            raise RequestError(408, f"timed out reading a body of {length} bytes") from None
        if len(body) < length:
            raise RequestError(400, f"body ended after {len(body)} of {length} bytes")
        return body

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Log each request at debug level instead of writing to stderr."""
        logger.debug("%s %s", self.address_string(), format % args)


def start_http(server: IntakeServer) -> threading.Thread:
    """Serve ``server`` in a background thread and return the thread."""
    thread = threading.Thread(target=server.serve_forever, name="accord-http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    logger.info("HTTP intake listening on http://%s:%s", host, port)
    return thread
