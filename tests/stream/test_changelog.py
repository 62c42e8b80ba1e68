"""The change log keeps the order of appended changes and skips redeliveries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accord.store.duckdb_store import Store
from accord.stream.changelog import VALUES_ROWS, commit_changes, fetch_pending
from accord.stream.changes import Change


def _change(number: int, position: str | None = None, **payload: Any) -> Change:
    # Three record keys, so that later changes of one record follow earlier ones.
    key = str(number % 3)
    return Change("crm", key, "upsert", {"id": key, "n": number, **payload}, "test", position)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "accord.duckdb") as opened:
        yield opened


@pytest.mark.parametrize("count", [1, VALUES_ROWS, VALUES_ROWS + 1, 3 * VALUES_ROWS])
def test_append_keeps_input_order(store: Store, count: int) -> None:
    changes = [_change(n, note='it\'s "quoted"') for n in range(count)]
    assert commit_changes(store.connection, changes) == count
    pending = fetch_pending(store.connection, 10 * count)
    assert [change.payload["n"] for change in pending] == list(range(count))
    assert [change.source_key for change in pending] == [str(n % 3) for n in range(count)]
    assert all(change.payload["note"] == 'it\'s "quoted"' for change in pending)


@pytest.mark.parametrize("count", [2, VALUES_ROWS + 5])
def test_append_skips_redelivered_positions(store: Store, count: int) -> None:
    first = [_change(n, position=f"p{n}") for n in range(count)]
    assert commit_changes(store.connection, first) == count
    again = [*first[1:], _change(count, position=f"p{count}")]
    assert commit_changes(store.connection, again) == 1
    pending = fetch_pending(store.connection, 10 * count)
    assert [change.payload["n"] for change in pending] == list(range(count + 1))


def test_append_without_position_repeats(store: Store) -> None:
    change = _change(7)
    assert commit_changes(store.connection, [change]) == 1
    assert commit_changes(store.connection, [change]) == 1
    assert len(fetch_pending(store.connection, 10)) == 2


def test_append_stores_status_and_error(store: Store) -> None:
    commit_changes(store.connection, [_change(1)], "rejected", "invalid message")
    rows = store.connection.execute("SELECT status, error FROM change_log").fetchall()
    assert rows == [("rejected", "invalid message")]
    assert fetch_pending(store.connection, 10) == []
