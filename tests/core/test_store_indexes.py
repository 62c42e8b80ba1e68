"""Lookup indexes of the stream worker: created once and used by keyed reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.store.duckdb_store import Store
from accord.store.indexes import (
    INLINE_VALUES,
    LOOKUP_INDEXES,
    drop_lookup_indexes,
    ensure_lookup_indexes,
    one_of,
)


def _index_names(store: Store) -> set[str]:
    rows = store.connection.execute("SELECT index_name FROM duckdb_indexes()").fetchall()
    return {row[0] for row in rows}


def test_indexes_are_created_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "accord.duckdb") as store:
        assert sorted(ensure_lookup_indexes(store.connection)) == sorted(LOOKUP_INDEXES)
        assert ensure_lookup_indexes(store.connection) == []
        assert set(LOOKUP_INDEXES) <= _index_names(store)
    with Store.open(tmp_path / "accord.duckdb") as store:
        assert ensure_lookup_indexes(store.connection) == []


def test_member_read_uses_record_index(tmp_path: Path) -> None:
    with Store.open(tmp_path / "accord.duckdb") as store:
        ensure_lookup_indexes(store.connection)
        store.connection.execute(
            "INSERT INTO entity_members SELECT 'per_' || i, 'crm', i::VARCHAR, 'crm:' || i "
            "FROM range(5000) r(i)"
        )
        plan = store.connection.execute(
            "EXPLAIN ANALYZE SELECT entity_id FROM entity_members WHERE record_id IN "
            "(SELECT unnest(['crm:1', 'crm:2']))"
        ).fetchall()
        assert "Index Scan" in plan[0][1]


def test_one_of_list_uses_index_on_large_table(tmp_path: Path) -> None:
    with Store.open(tmp_path / "accord.duckdb") as store:
        ensure_lookup_indexes(store.connection)
        store.connection.execute(
            "INSERT INTO entity_members SELECT 'per_' || i, 'crm', i::VARCHAR, 'crm:' || i "
            "FROM range(300000) r(i)"
        )
        record_ids = [f"crm:{number}" for number in range(0, 300000, 3750)]
        condition, params = one_of("record_id", record_ids)
        query = f"SELECT record_id FROM entity_members WHERE {condition}"
        plan = store.connection.execute(f"EXPLAIN ANALYZE {query}", params).fetchall()
        rows = store.connection.execute(query, params).fetchall()
    assert "Index Scan" in plan[0][1]
    assert sorted(row[0] for row in rows) == sorted(record_ids)


@pytest.mark.parametrize(
    ("count", "condition", "parameters"),
    [
        (0, "FALSE", 0),
        (2, "record_id IN (?, ?)", 2),
        (INLINE_VALUES, "record_id IN (" + ", ".join(["?"] * INLINE_VALUES) + ")", INLINE_VALUES),
        (INLINE_VALUES + 1, "record_id IN (SELECT unnest(?))", 1),
    ],
)
def test_one_of_shapes(count: int, condition: str, parameters: int) -> None:
    written, params = one_of("record_id", [f"crm:{number}" for number in range(count)])
    assert written == condition
    assert len(params) == parameters


def test_drop_indexes_undone_by_rollback(tmp_path: Path) -> None:
    with Store.open(tmp_path / "accord.duckdb") as store:
        ensure_lookup_indexes(store.connection)
        with pytest.raises(RuntimeError), store.transaction() as connection:
            drop_lookup_indexes(connection)
            raise RuntimeError("rolled back")
        assert set(LOOKUP_INDEXES) <= _index_names(store)
        with store.transaction() as connection:
            drop_lookup_indexes(connection)
        assert not set(LOOKUP_INDEXES) & _index_names(store)
