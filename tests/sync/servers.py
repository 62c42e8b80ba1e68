"""An HTTP server on 127.0.0.1 that stands in for a tool: its contacts API and webhook receiver.

The contacts API applies each idempotency key once, can return scripted
statuses (429 with Retry-After, 503) before handling a request, rejects a
record holding a marked value with 400, and can hold one request open so a
test can kill the client in the middle of a sync.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

BAD_VALUE = "reject-me"


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class ContactsState:
    """Everything the contacts API stored and saw."""

    token: str | None = None
    secret: str | None = None
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    keys_seen: Counter[str] = field(default_factory=Counter)
    applied: Counter[str] = field(default_factory=Counter)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    reject_bad: bool = True
    hold_at: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0

    def handle(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        body = json.loads(raw) if raw else None
        with self.lock:
            self.received.append(Received(method, path, headers, body))
            count = len(self.received)
            if self.script:
                status, extra = self.script.pop(0)
                return status, extra, {"error": f"scripted {status}"}
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return 401, {}, {"error": "missing or wrong token"}
        if self.secret is not None and not self._signed(headers, raw):
            return 401, {}, {"error": "bad signature"}
        if self.hold_at is not None and count == self.hold_at:
            self.holding.set()
        outcome = self._apply(method, path, headers, body)
        if self.hold_at is not None and count == self.hold_at:
            self.release.wait(60)
        return outcome

    def _signed(self, headers: dict[str, str], raw: bytes) -> bool:
        secret = self.secret or ""
        digest = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(headers.get("x-accord-signature", ""), f"sha256={digest}")

    def _apply(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any]:
        key = headers.get("idempotency-key")
        with self.lock:
            if key is not None:
                self.keys_seen[key] += 1
                if self.keys_seen[key] > 1:
                    return 200, {"Idempotent-Replayed": "true"}, {"replayed": True}
            if self.reject_bad and BAD_VALUE in json.dumps(body):
                return 400, {}, {"error": "invalid record", "detail": "x" * 5000}
            if key is not None:
                self.applied[key] += 1
            return self._store(method, path, body)

    def _store(self, method: str, path: str, body: Any) -> tuple[int, dict[str, str], Any]:
        parts = [unquote(part) for part in path.strip("/").split("/")][1:]
        if parts[-1] == "batch" and method == "POST":
            for item in body["records"]:
                self._write(item["operation"], item["key"], item["fields"])
            return 200, {}, {"ok": True}
        if method == "POST" and len(parts) == 1:
            record_key = str(body.get("contact_id"))
            self.contacts[record_key] = dict(body)
            return 201, {}, self.contacts[record_key]
        record_key = parts[-1]
        if method == "DELETE":
            if self.contacts.pop(record_key, None) is None:
                return 404, {}, {"error": "not found"}
            return 204, {}, None
        if method == "PATCH" and record_key not in self.contacts:
            return 404, {}, {"error": "not found"}
        self.contacts.setdefault(record_key, {}).update(body)
        return 200, {}, self.contacts[record_key]

    def _write(self, operation: str, record_key: str, fields: dict[str, Any]) -> None:
        if operation == "delete":
            self.contacts.pop(record_key, None)
        else:
            self.contacts.setdefault(record_key, {}).update(fields)

    def requests_to(self, method: str) -> list[Received]:
        return [item for item in self.received if item.method == method]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.state.lock:
            self.server.state.connections += 1

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, extra, payload = self.server.state.handle(self.command, self.path, headers, raw)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        return


class _KeepAliveHandler(_Handler):
    protocol_version = "HTTP/1.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: ContactsState, handler: type[_Handler]) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.state = state


class ContactsApi:
    """A running contacts API; ``url`` is its root.

    With ``keep_alive`` the server speaks HTTP/1.1 and serves many requests
    on one connection, as most production servers do.
    """

    def __init__(self, keep_alive: bool = False) -> None:
        self.state = ContactsState()
        self.server = _Server(self.state, _KeepAliveHandler if keep_alive else _Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
