"""Bulk inserts through Arrow, which DuckDB ingests far faster than row-by-row statements."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import pyarrow as pa


def register(connection: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Register an Arrow table as a view, first finishing any partly fetched result.

    DuckDB 2 refuses to register while a result from ``execute`` is only
    partly fetched (after ``fetchone``), so the pending result is completed.
    """
    connection.complete()
    connection.register(name, table)


def create_temp_table(connection: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> None:
    """Create or replace the temporary table ``name`` with the rows of ``table``."""
    view = f"{name}_rows"
    register(connection, view, table)
    try:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        connection.unregister(view)


def insert_columns(
    connection: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, Sequence[Any]]
) -> int:
    """Insert rows given as equal-length columns; return the number of rows."""
    frame = pa.table({name: pa.array(list(values)) for name, values in columns.items()})
    if frame.num_rows == 0:
        return 0
    names = ", ".join(f'"{name}"' for name in columns)
    rows = frame.num_rows
    connection.complete()
    # DuckDB reads the local variable accord_bulk through a replacement scan, which
    # frees the frame once it goes out of scope. A table given to
    # connection.register inside a transaction stays referenced until the
    # transaction ends.
    accord_bulk = frame  # noqa: F841
    del frame
    connection.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM accord_bulk")
    return rows


def insert_rows(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> int:
    """Insert rows given as tuples in ``names`` order; return the number of rows."""
    if not rows:
        return 0
    columns = {name: [row[index] for row in rows] for index, name in enumerate(names)}
    return insert_columns(connection, table, columns)
