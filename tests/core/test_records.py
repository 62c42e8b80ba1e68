"""Storing source records: versions, last-seen times and deletions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

from accord.store.duckdb_store import Store
from accord.store.records import WriteCounts, mark_deleted, write_records

DAY_1 = datetime(2026, 1, 1)
DAY_2 = datetime(2026, 1, 2)
DAY_3 = datetime(2026, 1, 3)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store.duckdb")
    yield opened
    opened.close()


def staged(records: dict[str, str]) -> pa.Table:
    return pa.table(
        {
            "source_key": pa.array(list(records), pa.string()),
            "raw": pa.array([json.dumps({"email": e}) for e in records.values()], pa.string()),
            "data": pa.array([json.dumps({"email": e}) for e in records.values()], pa.string()),
        }
    )


def current(store: Store) -> dict[str, tuple[int, datetime, datetime, datetime | None]]:
    rows = store.connection.execute(
        "SELECT source_key, version, changed_at, last_seen, deleted_at FROM source_records"
    ).fetchall()
    return {key: (version, changed, seen, deleted) for key, version, changed, seen, deleted in rows}


def versions(store: Store) -> list[tuple[str, int]]:
    rows = store.connection.execute(
        "SELECT source_key, version FROM record_versions ORDER BY ALL"
    ).fetchall()
    return [(key, version) for key, version in rows]


def test_unchanged_record_only_moves_last_seen(store: Store) -> None:
    write_records(store.connection, "crm", staged({"1": "a@x.com"}), 1, DAY_1)
    counts = write_records(store.connection, "crm", staged({"1": "a@x.com"}), 2, DAY_2)
    assert counts == WriteCounts(new=0, changed=0, unchanged=1)
    assert current(store) == {"1": (1, DAY_1, DAY_2, None)}
    assert versions(store) == [("1", 1)]


def test_changed_record_gets_a_version(store: Store) -> None:
    write_records(store.connection, "crm", staged({"1": "a@x.com"}), 1, DAY_1)
    counts = write_records(store.connection, "crm", staged({"1": "b@x.com"}), 2, DAY_2)
    assert counts == WriteCounts(new=0, changed=1, unchanged=0)
    assert current(store) == {"1": (2, DAY_2, DAY_2, None)}
    assert versions(store) == [("1", 1), ("1", 2)]


def test_mixed_read_counts_each_status(store: Store) -> None:
    write_records(store.connection, "crm", staged({"1": "a@x.com", "2": "b@x.com"}), 1, DAY_1)
    batch = staged({"1": "a@x.com", "2": "c@x.com", "3": "d@x.com"})
    counts = write_records(store.connection, "crm", batch, 2, DAY_2)
    assert counts == WriteCounts(new=1, changed=1, unchanged=1)
    assert current(store) == {
        "1": (1, DAY_1, DAY_2, None),
        "2": (2, DAY_2, DAY_2, None),
        "3": (1, DAY_2, DAY_2, None),
    }
    assert versions(store) == [("1", 1), ("2", 1), ("2", 2), ("3", 1)]


def test_deleted_record_comes_back_as_new_version(store: Store) -> None:
    write_records(store.connection, "crm", staged({"1": "a@x.com"}), 1, DAY_1)
    keys = pa.table({"source_key": pa.array(["1"], pa.string())})
    mark_deleted(store.connection, "crm", keys, 2, DAY_2)
    counts = write_records(store.connection, "crm", staged({"1": "a@x.com"}), 3, DAY_3)
    assert counts == WriteCounts(new=0, changed=1, unchanged=0)
    version, _, _, deleted = current(store)["1"]
    assert version > 1
    assert deleted is None
