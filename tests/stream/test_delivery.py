"""Delivery of committed micro-batches: together, in order, and again after a failure."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from accord.store.duckdb_store import Store
from accord.stream.changelog import commit_changes
from accord.stream.changes import parse_change
from accord.stream.delivery import DeliveryThread, deliver_pending, undelivered
from accord.stream.metrics import Metrics
from accord.stream.processor import Processor
from stream.helpers import load, person, write_project

SECRET_ENV = "ACCORD_TEST_DELIVERY_SECRET"


class Hook(ThreadingHTTPServer):
    """A webhook destination on 127.0.0.1 that keeps every event, or returns 503 when down."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _HookHandler)
        self.events: list[dict[str, Any]] = []
        self.down = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class _HookHandler(BaseHTTPRequestHandler):
    server: Hook

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        status = 503 if self.server.down else 200
        if not self.server.down:
            self.server.events.append(json.loads(body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def parts(
    tmp_path: Path, hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Processor, Store]]:
    monkeypatch.setenv(SECRET_ENV, "delivery-secret")
    extra = (
        "destinations:\n"
        "  - name: hook\n"
        "    kind: webhook\n"
        f"    url: {hook.url}\n"
        f"    secret_env: {SECRET_ENV}\n"
        "    retry: {max_attempts: 1}\n"
        "    fields: {email: email, plan: plan}\n"
    )
    loaded = load(write_project(tmp_path / "stream", extra).parent)
    store = Store.open(loaded.resolve(loaded.project.store.path))
    processor = Processor(loaded, store, Metrics(), batch_size=1000)
    yield processor, store
    store.close()


def apply(processor: Processor, items: list[dict[str, Any]]) -> None:
    """Commit ``items`` as changes of the CRM and apply them as one micro-batch."""
    source = processor.loaded.project.source("crm")
    cursor = processor.store.connection.cursor()
    try:
        commit_changes(cursor, [parse_change(source, item, "test") for item in items])
    finally:
        cursor.close()
    processor.process_once()


def plans(hook: Hook) -> list[tuple[str, str]]:
    """Return the email and plan of each event the destination received, in order."""
    return [(event["record"]["email"], event["record"]["plan"]) for event in hook.events]


def test_batch_delivered_at_commit_without_thread(
    parts: tuple[Processor, Store], hook: Hook
) -> None:
    processor, store = parts
    apply(processor, [person(1)])
    apply(processor, [person(1, version=2)])
    assert [plan for _, plan in plans(hook)] == ["plan-1", "plan-2"]
    assert undelivered(store) == []


def test_waiting_batches_send_latest_values_once(
    parts: tuple[Processor, Store], hook: Hook
) -> None:
    processor, store = parts
    processor.on_commit = lambda: None
    apply(processor, [person(1), person(2)])
    apply(processor, [person(1, version=2)])
    apply(processor, [person(1, version=3)])
    assert hook.events == []
    assert [run for run, _ in undelivered(store)] == [1, 2, 3]
    assert deliver_pending(processor.loaded, store)
    assert sorted(plans(hook)) == sorted(
        [(person(1)["email"], "plan-3"), (person(2)["email"], "plan-1")]
    )
    assert undelivered(store) == []


def test_refused_changes_resent_without_new_batch(
    parts: tuple[Processor, Store], hook: Hook
) -> None:
    processor, store = parts
    hook.down = True
    apply(processor, [person(1)])
    assert hook.events == []
    assert not deliver_pending(processor.loaded, store)
    hook.down = False
    assert deliver_pending(processor.loaded, store)
    assert [plan for _, plan in plans(hook)] == ["plan-1"]


def test_outage_batches_reach_recovered_destination(
    parts: tuple[Processor, Store], hook: Hook
) -> None:
    processor, store = parts
    processor.on_commit = lambda: None
    apply(processor, [person(1), person(2)])
    assert deliver_pending(processor.loaded, store)
    hook.down = True
    for item in [person(1, version=2), person(2, version=2), person(1, version=3)]:
        apply(processor, [item])
        assert not deliver_pending(processor.loaded, store)
    assert undelivered(store)
    hook.down = False
    hook.events.clear()
    assert deliver_pending(processor.loaded, store)
    latest: dict[str, str] = {}
    for email, plan in plans(hook):
        assert int(plan.split("-")[1]) > int(latest.get(email, "plan-0").split("-")[1])
        latest[email] = plan
    assert latest == {person(1)["email"]: "plan-3", person(2)["email"]: "plan-2"}
    assert undelivered(store) == []


def test_thread_delivers_in_order_until_stop(parts: tuple[Processor, Store], hook: Hook) -> None:
    processor, store = parts
    delivery = DeliveryThread(processor.loaded, store)
    processor.on_commit = delivery.wake
    delivery.start()
    for version in range(1, 6):
        apply(processor, [person(1, version=version)])
    delivery.stop()
    sent = [plan for _, plan in plans(hook)]
    assert sent == sorted(sent, key=lambda plan: int(plan.split("-")[1]))
    assert sent[-1] == "plan-5"
    assert undelivered(store) == []


def test_thread_retries_recovered_destination(
    parts: tuple[Processor, Store], hook: Hook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("accord.stream.delivery.FAILURE_PAUSE_SECONDS", 0.05)
    monkeypatch.setattr("accord.stream.delivery.RETRY_SECONDS", 0.1)
    processor, store = parts
    hook.down = True
    delivery = DeliveryThread(processor.loaded, store)
    processor.on_commit = delivery.wake
    delivery.start()
    apply(processor, [person(1)])
    time.sleep(0.3)
    assert hook.events == []
    hook.down = False
    deadline = time.monotonic() + 10
    while not hook.events and time.monotonic() < deadline:
        time.sleep(0.05)
    delivery.stop()
    assert [plan for _, plan in plans(hook)] == ["plan-1"]
