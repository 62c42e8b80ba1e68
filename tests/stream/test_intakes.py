"""NATS, Redis, PostgreSQL replication and polling intakes against the real servers."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import psycopg
import pytest

import accord.stream
from accord.store.duckdb_store import Store
from accord.stream.intakes import parse_messages
from accord.stream.worker import Worker
from stream.helpers import live_records, load, person, write_project
from tests.conftest import port_open, unavailable

StartWorker = Callable[[str], Worker]


def wait_for(worker: Worker, condition: Callable[[Store], bool], timeout: float = 60) -> Store:
    """Wait until ``condition`` holds on the worker's store and nothing is pending."""
    cursor = worker.store.connection.cursor()
    view = Store(cursor, worker.store.path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pending = cursor.execute(
            "SELECT count(*) FROM change_log WHERE status = 'pending'"
        ).fetchone()
        if pending == (0,) and condition(view):
            return view
        time.sleep(0.2)
    raise AssertionError("the worker did not reach the expected state in time")


def rejected(store: Store) -> int:
    row = store.connection.execute(
        "SELECT count(*) FROM change_log WHERE status = 'rejected'"
    ).fetchone()
    return int(row[0]) if row else 0


NATS_URL = "nats://127.0.0.1:4222"


async def nats_stream(bodies: list[bytes]) -> tuple[str, str]:
    """Create a JetStream stream of a new name, publish ``bodies``; return name and subject."""
    name = f"accord_test_{uuid.uuid4().hex[:8]}"
    subject = f"{name}.changes"
    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    await js.add_stream(name=name, subjects=[subject])
    for body in bodies:
        await js.publish(subject, body)
    await client.close()
    return name, subject


async def nats_pending(name: str) -> tuple[int, int]:
    """Return the messages of stream ``name`` that the worker's consumer has not acknowledged."""
    client = await nats.connect(NATS_URL)
    info = await client.jetstream().consumer_info(name, "accord")
    await client.close()
    return info.num_ack_pending, info.num_pending


async def nats_delete(name: str) -> None:
    client = await nats.connect(NATS_URL)
    await client.jetstream().delete_stream(name)
    await client.close()


def test_nats_intake_stores_and_acks(start_worker: StartWorker) -> None:
    if not port_open("127.0.0.1", 4222):
        unavailable("NATS is not running on 127.0.0.1:4222")
    bodies = [json.dumps(person(1)).encode(), json.dumps(person(2)).encode(), b"not json"]
    name, subject = asyncio.run(nats_stream(bodies))
    worker = start_worker(
        "stream:\n  port: 0\n  sources:\n    crm:\n"
        f"      nats: {{stream: {name}, subject: {subject}}}\n"
    )
    store = wait_for(worker, lambda s: len(live_records(s)) == 2 and rejected(s) == 1)
    assert sorted(live_records(store)) == ["1", "2"]
    assert rejected(store) == 1
    time.sleep(1)
    assert asyncio.run(nats_pending(name)) == (0, 0)
    asyncio.run(nats_delete(name))


def test_redis_intake_stores_and_acks(start_worker: StartWorker) -> None:
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis is not running on 127.0.0.1:6379")
    import redis

    client: Any = redis.Redis(host="127.0.0.1", port=6379, decode_responses=True)
    stream = f"accord_test_{uuid.uuid4().hex[:8]}"
    for body in (json.dumps(person(1)), json.dumps(person(2)), "not json"):
        client.xadd(stream, {"data": body})
    try:
        worker = start_worker(
            f"stream:\n  port: 0\n  sources:\n    crm:\n      redis: {{stream: {stream}}}\n"
        )
        store = wait_for(worker, lambda s: len(live_records(s)) == 2 and rejected(s) == 1)
        assert sorted(live_records(store)) == ["1", "2"]
        assert rejected(store) == 1
        assert client.xpending(stream, "accord")["pending"] == 0
    finally:
        client.delete(stream)
        client.close()


# Bodies that fail to parse or that the change log's JSON column cannot
# store. Each must be rejected and acknowledged, and the next message stored.
POISON_MESSAGES = [
    pytest.param(b'{"id": 9, "first_name": "\\ud800"}', "surrogate", id="lone-surrogate"),
    pytest.param(b"[" * 100_000, "nested too deeply", id="deep-nesting"),
    pytest.param(b"\xff\xfe", "invalid JSON", id="utf16-bom"),
    pytest.param(b'{"id": 9, "first_name": "\xff"}', "invalid JSON", id="invalid-utf8"),
]


def rejected_errors(store: Store) -> list[str]:
    rows = store.connection.execute(
        "SELECT payload->>'error' FROM change_log WHERE status = 'rejected'"
    ).fetchall()
    return [str(row[0]) for row in rows]


def assert_poison_rejected(worker: Worker, phrase: str) -> None:
    """Check that the message after the poison one is stored and the poison one rejected."""
    store = wait_for(worker, lambda s: len(live_records(s)) == 1 and rejected(s) == 1, timeout=30)
    assert sorted(live_records(store)) == ["1"]
    errors = rejected_errors(store)
    assert len(errors) == 1
    assert phrase in errors[0]


@pytest.mark.parametrize(("poison", "phrase"), POISON_MESSAGES)
def test_nats_intake_rejects_poison_message(
    start_worker: StartWorker, poison: bytes, phrase: str
) -> None:
    if not port_open("127.0.0.1", 4222):
        unavailable("NATS is not running on 127.0.0.1:4222")
    name, subject = asyncio.run(nats_stream([poison, json.dumps(person(1)).encode()]))
    try:
        worker = start_worker(
            "stream:\n  port: 0\n  sources:\n    crm:\n"
            f"      nats: {{stream: {name}, subject: {subject}}}\n"
        )
        assert_poison_rejected(worker, phrase)
        time.sleep(1)
        assert asyncio.run(nats_pending(name)) == (0, 0)
    finally:
        asyncio.run(nats_delete(name))


@pytest.mark.parametrize(("poison", "phrase"), POISON_MESSAGES)
def test_redis_intake_rejects_poison_message(
    start_worker: StartWorker, poison: bytes, phrase: str
) -> None:
    if not port_open("127.0.0.1", 6379):
        unavailable("Redis is not running on 127.0.0.1:6379")
    import redis

    client: Any = redis.Redis(host="127.0.0.1", port=6379)
    stream = f"accord_test_{uuid.uuid4().hex[:8]}"
    for body in (poison, json.dumps(person(1)).encode()):
        client.xadd(stream, {"data": body})
    try:
        worker = start_worker(
            f"stream:\n  port: 0\n  sources:\n    crm:\n      redis: {{stream: {stream}}}\n"
        )
        assert_poison_rejected(worker, phrase)
        assert client.xpending(stream, "accord")["pending"] == 0
    finally:
        client.delete(stream)
        client.close()


def test_rejected_payload_is_valid_utf8(tmp_path: Path) -> None:
    source = load(write_project(tmp_path).parent).project.source("crm")
    messages: list[tuple[str, bytes | str]] = [
        ("1", '{"id": 1, "first_name": "\ud800"}'),
        ("2", b'{"id": 2, "first_name": "\xff"}'),
    ]
    valid, rejected_changes = parse_messages(source, messages, "redis")
    assert valid == []
    assert len(rejected_changes) == 2
    for change in rejected_changes:
        json.dumps(change.payload, ensure_ascii=False).encode("utf-8")


@pytest.fixture
def replicated_table(logical_replication: None, postgres_url: str) -> Any:
    dsn = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    slot = f"accord_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE contacts (id integer PRIMARY KEY, first_name text, last_name text, "
            "email text, phone text, plan text, updated_at timestamp)"
        )
        conn.execute("ALTER TABLE contacts REPLICA IDENTITY FULL")
    yield dsn, slot
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(50):
            active = conn.execute(
                "SELECT active FROM pg_replication_slots WHERE slot_name = %s", [slot]
            ).fetchone()
            if active is None or not active[0]:
                break
            time.sleep(0.2)
        if active is not None:
            conn.execute("SELECT pg_drop_replication_slot(%s)", [slot])


def test_postgres_replication_intake(replicated_table: Any, start_worker: StartWorker) -> None:
    dsn, slot = replicated_table
    worker = start_worker(
        "stream:\n  port: 0\n  sources:\n    crm:\n      postgres:\n"
        f"        dsn: {dsn}\n        table: public.contacts\n        slot: {slot}\n"
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        for _ in range(100):
            if conn.execute(
                "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s", [slot]
            ).fetchone():
                break
            time.sleep(0.1)
        insert = "INSERT INTO contacts VALUES (%s, %s, %s, %s, NULL, %s, %s)"
        for number in (1, 2):
            record = person(number)
            conn.execute(
                insert,
                [
                    number,
                    record["first_name"],
                    record["last_name"],
                    record["email"],
                    "plan-1",
                    record["updated_at"],
                ],
            )
        conn.execute(
            "UPDATE contacts SET plan = 'plan-2', updated_at = '2024-01-01T00:02:00' WHERE id = 1"
        )
        conn.execute("DELETE FROM contacts WHERE id = 2")
        row = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
        end_lsn = row[0] if row else None
    store = wait_for(worker, lambda s: sorted(live_records(s)) == ["1"])
    assert live_records(store)["1"]["plan"] == "plan-2"
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.monotonic() + 20
        confirmed = None
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT confirmed_flush_lsn >= %s::pg_lsn FROM pg_replication_slots "
                "WHERE slot_name = %s",
                [end_lsn, slot],
            ).fetchone()
            confirmed = row[0] if row else None
            if confirmed:
                break
            time.sleep(0.2)
    assert confirmed is True


def test_polling_intake_follows_file(start_worker: StartWorker, tmp_path: Path) -> None:
    records = [person(1), person(2)]
    worker = start_worker(
        "stream:\n  port: 0\n  sources:\n    crm:\n      poll: {interval_seconds: 0.2}\n"
    )
    data = tmp_path / "crm.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    wait_for(worker, lambda s: sorted(live_records(s)) == ["1", "2"])
    data.write_text(json.dumps(person(1, version=2)) + "\n", encoding="utf-8")
    store = wait_for(worker, lambda s: sorted(live_records(s)) == ["1"])
    assert live_records(store)["1"]["plan"] == "plan-2"


def test_intakes_start_without_the_drivers_of_unused_intakes(
    start_worker: StartWorker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry in sys.modules makes every import of that module fail.
    for module in ("psycopg2", "nats", "redis"):
        monkeypatch.setitem(sys.modules, module, None)
    for name in ("postgres_intake", "nats_intake", "redis_intake"):
        monkeypatch.delitem(sys.modules, f"accord.stream.{name}", raising=False)
        monkeypatch.delattr(accord.stream, name, raising=False)
    worker = start_worker(
        "stream:\n  port: 0\n  sources:\n    crm:\n      poll: {interval_seconds: 0.2}\n"
    )
    (tmp_path / "crm.jsonl").write_text(json.dumps(person(1)) + "\n", encoding="utf-8")
    wait_for(worker, lambda s: sorted(live_records(s)) == ["1"])
