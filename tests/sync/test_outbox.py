"""Recording send outcomes: outbox status, sync state and dead letters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from accord.store.duckdb_store import Store
from accord.store.indexes import INLINE_VALUES, ensure_lookup_indexes
from accord.sync.outbox import record_outcomes
from accord.sync.writers.base import Change, Outcome

NOW = datetime(2026, 1, 2, 3, 4, 5)


@pytest.fixture(params=[False, True], ids=["no-indexes", "lookup-indexes"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store.duckdb")
    if request.param:
        ensure_lookup_indexes(opened.connection)
    yield opened
    opened.close()


def _queue(store: Store, changes: list[Change]) -> None:
    rows = [
        [
            change.change_id,
            1,
            "crm",
            change.record_key,
            change.entity_id,
            change.operation,
            json.dumps(change.record),
            json.dumps(change.fields),
            f"hash-{change.change_id}",
            None,
            change.idempotency_key,
            "pending",
            0,
            NOW,
            None,
            None,
        ]
        for change in changes
    ]
    store.connection.executemany(
        "INSERT INTO sync_outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )


def _change(change_id: int, record_key: str, operation: str = "update") -> Change:
    return Change(
        change_id=change_id,
        record_key=record_key,
        entity_id=f"per_{record_key}",
        operation=operation,  # type: ignore[arg-type]
        record={"email": f"{record_key}@example.com", "version": change_id},
        fields=["email"],
        idempotency_key=f"key-{change_id}",
    )


def _state(store: Store) -> dict[str, str]:
    rows = store.connection.execute(
        "SELECT record_key, payload_hash FROM sync_state WHERE destination = 'crm'"
    ).fetchall()
    return dict(rows)


def _statuses(store: Store) -> dict[int, str]:
    return dict(store.connection.execute("SELECT change_id, status FROM sync_outbox").fetchall())


@pytest.mark.parametrize("count", [1, INLINE_VALUES, INLINE_VALUES + 1, 3 * INLINE_VALUES])
def test_sent_changes_become_the_sync_state(store: Store, count: int) -> None:
    changes = [_change(number, f"r{number}") for number in range(1, count + 1)]
    _queue(store, changes)
    store.connection.execute(
        "INSERT INTO sync_state VALUES ('crm', 'r1', 'per_r1', '{}', 'old', ?, 0)", [NOW]
    )
    outcomes = [Outcome(change.change_id, "sent") for change in changes]
    record_outcomes(store.connection, "crm", 7, changes, outcomes, NOW)
    assert set(_statuses(store).values()) == {"sent"}
    assert _state(store) == {change.record_key: f"hash-{change.change_id}" for change in changes}


def test_last_sent_change_of_a_record_wins(store: Store) -> None:
    changes = [_change(1, "a"), _change(2, "b"), _change(3, "a"), _change(4, "b", "delete")]
    _queue(store, changes)
    store.connection.execute(
        "INSERT INTO sync_state VALUES ('crm', 'b', 'per_b', '{}', 'old', ?, 0)", [NOW]
    )
    outcomes = [Outcome(change.change_id, "sent") for change in changes]
    record_outcomes(store.connection, "crm", 7, changes, outcomes, NOW)
    assert _state(store) == {"a": "hash-3"}


def test_only_sent_changes_touch_the_sync_state(store: Store) -> None:
    changes = [_change(1, "a"), _change(2, "b"), _change(3, "c")]
    _queue(store, changes)
    outcomes = [
        Outcome(1, "sent"),
        Outcome(2, "rejected", 422, "bad email", "HTTP 422"),
        Outcome(3, "pending", error="connection refused"),
    ]
    record_outcomes(store.connection, "crm", 7, changes, outcomes, NOW)
    assert _statuses(store) == {1: "sent", 2: "dead", 3: "pending"}
    assert _state(store) == {"a": "hash-1"}


def test_state_of_other_destinations_is_kept(store: Store) -> None:
    changes = [_change(1, "a")]
    _queue(store, changes)
    store.connection.execute(
        "INSERT INTO sync_state VALUES ('billing', 'a', 'per_a', '{}', 'other', ?, 0)", [NOW]
    )
    record_outcomes(store.connection, "crm", 7, changes, [Outcome(1, "sent")], NOW)
    rows = store.connection.execute(
        "SELECT destination, payload_hash FROM sync_state ORDER BY destination"
    ).fetchall()
    assert rows == [("billing", "other"), ("crm", "hash-1")]
