"""A contacts API on 127.0.0.1 that behaves like a SaaS REST API.

Routes under ``/v1/``, all returning the same contacts:

- ``contacts``: page-number pagination (``page``, ``per_page``) with
  ``meta.total`` and ``meta.total_pages``
- ``cursor/contacts``: ``next_cursor`` in the body, ``cursor`` parameter
- ``offset/contacts``: ``offset`` and ``limit`` with a ``total``
- ``link/contacts``: the next page URL in ``links.next``
- ``header/contacts``: the next page URL in a ``Link`` header
- ``single/contacts``: every contact in one response
- ``flaky/contacts``: HTTP 500 on the first request, then every contact
- ``broken/contacts`` and ``limited/contacts``: always HTTP 500 and 429
- ``html/contacts``: an HTML page

Every route needs the token as a bearer token, an ``X-Api-Key`` header or
an ``api_key`` query parameter, and responds with 401 otherwise. Every listing
takes ``updated_since`` and, like many APIs, includes rows updated at
exactly that time.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

API_TOKEN = "tok-7Q2x9Lr4Vb"


def make_contacts() -> list[dict[str, Any]]:
    """Return seven contacts with nested objects, lists and growing update times."""
    first_names = ["Ana", "Bo", "Chloé", "Dan", "Eva", "Finn", "Gül"]
    contacts = []
    for number, first in enumerate(first_names, start=1):
        contacts.append(
            {
                "id": number,
                "email": f"{first.lower()}@example.com",
                "name": {"first": first, "last": "Müller"},
                "address": {"city": "Köln", "geo": {"lat": 50.9, "lon": 6.9}},
                "tags": ["customer", f"tier-{number % 3}"],
                "updated_at": f"2024-03-0{number}T09:00:00Z",
            }
        )
    return contacts


@dataclass
class ContactsApi:
    """The running API: its base URL, its contacts and the requests it received."""

    base_url: str
    contacts: list[dict[str, Any]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    flaky_calls: int = 0


class _Handler(BaseHTTPRequestHandler):
    api: ContactsApi

    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output free of access logs."""

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        self.api.requests.append({"path": parts.path, "query": query})
        if not self._authorized(query):
            self._send_json(401, {"error": "invalid or missing token"})
            return
        route = parts.path.removeprefix("/v1/")
        contacts = self._filtered(query)
        handlers = {
            "contacts": self._page_number,
            "cursor/contacts": self._cursor,
            "offset/contacts": self._offset,
            "link/contacts": self._json_link,
            "header/contacts": self._header_link,
            "single/contacts": self._single,
            "flaky/contacts": self._flaky,
            "broken/contacts": lambda q, c: self._send_json(500, {"error": "internal"}),
            "limited/contacts": lambda q, c: self._send_json(429, {"error": "slow down"}),
            "html/contacts": lambda q, c: self._send_text(200, "<html>maintenance</html>"),
        }
        handler = handlers.get(route)
        if handler is None:
            self._send_json(404, {"error": "not found"})
            return
        handler(query, contacts)

    def _authorized(self, query: dict[str, str]) -> bool:
        bearer = self.headers.get("Authorization") == f"Bearer {API_TOKEN}"
        header = self.headers.get("X-Api-Key") == API_TOKEN
        return bearer or header or query.get("api_key") == API_TOKEN

    def _filtered(self, query: dict[str, str]) -> list[dict[str, Any]]:
        since = query.get("updated_since")
        if since is None:
            return self.api.contacts
        return [c for c in self.api.contacts if c["updated_at"] >= since]

    def _page_number(self, query: dict[str, str], contacts: list[dict[str, Any]]) -> None:
        page = int(query.get("page", "1"))
        size = int(query.get("per_page", "3"))
        pages = max(1, -(-len(contacts) // size))
        body = {
            "data": contacts[(page - 1) * size : page * size],
            "meta": {"page": page, "total": len(contacts), "total_pages": pages},
        }
        self._send_json(200, body)

    def _cursor(self, query: dict[str, str], contacts: list[dict[str, Any]]) -> None:
        start = int(query.get("cursor", "c0").removeprefix("c"))
        size = int(query.get("limit", "2"))
        end = start + size
        next_cursor = f"c{end}" if end < len(contacts) else None
        self._send_json(200, {"results": contacts[start:end], "next_cursor": next_cursor})

    def _offset(self, query: dict[str, str], contacts: list[dict[str, Any]]) -> None:
        start = int(query.get("offset", "0"))
        size = int(query.get("limit", "2"))
        self._send_json(200, {"items": contacts[start : start + size], "total": len(contacts)})

    def _next_url(self, query: dict[str, str], page: int) -> str:
        following = dict(query, page=str(page + 1))
        return f"{self.api.base_url}{urlsplit(self.path).path.removeprefix('/v1/')}?" + urlencode(
            following
        )

    def _json_link(self, query: dict[str, str], contacts: list[dict[str, Any]]) -> None:
        page = int(query.get("page", "1"))
        chunk = contacts[(page - 1) * 3 : page * 3]
        more = page * 3 < len(contacts)
        next_url = self._next_url(query, page) if more else None
        self._send_json(200, {"data": chunk, "links": {"next": next_url}})

    def _header_link(self, query: dict[str, str], contacts: list[dict[str, Any]]) -> None:
        page = int(query.get("page", "1"))
        chunk = contacts[(page - 1) * 3 : page * 3]
        headers = {}
        if page * 3 < len(contacts):
            headers["Link"] = f'<{self._next_url(query, page)}>; rel="next"'
        self._send_json(200, chunk, headers)

    def _single(self, query: dict[str, str], contacts: list[dict[str, Any]]) -> None:
        self._send_json(200, {"contacts": contacts})

    def _flaky(self, query: dict[str, str], contacts: list[dict[str, Any]]) -> None:
        self.api.flaky_calls += 1
        if self.api.flaky_calls == 1:
            self._send_json(500, {"error": "temporary failure"})
            return
        self._send_json(200, {"contacts": contacts})

    def _send_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_text(self, status: int, text: str) -> None:
        payload = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def start_contacts_api() -> tuple[ContactsApi, ThreadingHTTPServer, threading.Thread]:
    """Start the contacts API on a free port of 127.0.0.1 in a daemon thread."""
    api = ContactsApi(base_url="", contacts=make_contacts())
    handler = type("ContactsHandler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    api.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    return api, server, thread
