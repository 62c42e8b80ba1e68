"""Memory of the store: caps shared with Splink's connection and Arrow tables freed in a run."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from accord.store.bulk import insert_columns
from accord.store.duckdb_store import (
    Store,
    connect,
    memory_limit_bytes,
    memory_shared_with,
    set_memory_limit,
)
from accord.store.records import write_records


@pytest.mark.parametrize(
    ("limit", "expected"),
    [
        ("2GB", 2_000_000_000),
        ("1.5 GiB", 1_610_612_736),
        ("512mb", 512_000_000),
        ("100KiB", 102_400),
        ("4096 B", 4096),
        ("4096", None),
        ("80%", None),
        ("lots", None),
    ],
)
def test_memory_limit_bytes(limit: str, expected: int | None) -> None:
    assert memory_limit_bytes(limit) == expected


@pytest.fixture
def two_gigabyte_cap() -> Iterator[None]:
    set_memory_limit("2GB")
    yield
    set_memory_limit(None)


def current_limit(connection: duckdb.DuckDBPyConnection) -> str:
    row = connection.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


def test_shared_cap_splits_quarter_to_store(two_gigabyte_cap: None) -> None:
    store = connect()
    before = current_limit(store)

    with memory_shared_with(store):
        helper = connect()
        assert current_limit(store) == "476.8 MiB"
        assert current_limit(helper) == "1.3 GiB"
        helper.close()

    assert current_limit(store) == before
    assert current_limit(connect()) == before


def test_shared_cap_without_limit_changes_nothing() -> None:
    store = connect()
    before = current_limit(store)

    with memory_shared_with(store):
        assert current_limit(store) == before
        assert current_limit(connect()) == before


def test_staged_rows_freed_inside_transaction(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.duckdb") as store, store.transaction() as connection:
        baseline = pa.total_allocated_bytes()
        keys = [f"key-{row}" for row in range(20_000)]
        staged = pa.table(
            {
                "source_key": pa.array(keys),
                "raw": pa.array(["{}"] * len(keys)),
                "data": pa.array(['{"email": "someone@example.com"}'] * len(keys)),
            }
        )
        size = pa.total_allocated_bytes() - baseline
        counts = write_records(connection, "crm", staged, 1, datetime(2024, 1, 1))
        connection.execute("CREATE TEMP TABLE pairs (a VARCHAR, b VARCHAR)")
        insert_columns(connection, "pairs", {"a": keys, "b": keys})
        del staged
        gc.collect()

        assert counts.new == len(keys)
        assert pa.total_allocated_bytes() - baseline < size // 2


def test_shared_cap_keeps_error_of_aborted_block(two_gigabyte_cap: None, tmp_path: Path) -> None:
    with Store.open(tmp_path / "store.duckdb") as store:
        before = current_limit(store.connection)

        with (
            pytest.raises(duckdb.CatalogException, match="missing_table"),
            store.transaction() as connection,
            memory_shared_with(connection),
        ):
            connection.execute("SELECT * FROM missing_table")

        assert current_limit(store.connection) == before
