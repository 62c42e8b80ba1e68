"""Lookup indexes for the stream worker's small, keyed reads.

A batch run reads whole tables, for which DuckDB's scans and hash joins are
the fastest plan, and keeping indexes current would slow its bulk writes. A
micro-batch of the stream worker reads the rows of a few records or
entities, and without an index each such read scans its table, so a
micro-batch costs time in proportion to the store. ``accord serve`` creates
these indexes when it starts. A batch run drops them in its transaction,
because keeping them current would slow its writes, and the next worker
start creates them again.

DuckDB (2.0.1) uses an index for an equality filter on the indexed column
or for an ``IN`` list of constants or parameters, which ``one_of`` writes.
It may plan ``IN (SELECT ...)`` over a view, a CTE or a list parameter as
a hash join against a full scan: with 567,000 golden values (100,000
entities), reading those of 80 entities took 19 ms that way and 11 ms with
an ``IN`` list. A filter on a pair of columns, such as
``(source, source_key) IN (...)``, does not use an index either, so keyed
reads filter on one indexed column and then on the pair.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import duckdb

from accord.logs import get_logger

logger = get_logger(__name__)

# Lists longer than this are passed as one list parameter. DuckDB fetches an
# indexed row in about 0.03 to 0.07 ms (DuckDB 2.0.1, tables of 100,000 to 570,000 rows),
# so beyond about a hundred rows a hash join against a full scan costs less.
INLINE_VALUES = 100


def one_of(column: str, values: Sequence[object]) -> tuple[str, list[object]]:
    """Return the condition that ``column`` is one of ``values``, and its parameters.

    Up to ``INLINE_VALUES`` values become an ``IN`` list of parameters, which
    DuckDB can read through an index on ``column``.
    """
    if not values:
        return "FALSE", []
    if len(values) > INLINE_VALUES:
        return f"{column} IN (SELECT unnest(?))", [list(values)]
    return f"{column} IN ({', '.join('?' for _ in values)})", list(values)


LOOKUP_INDEXES = {
    "accord_source_records_key": ("source_records", "source_key"),
    "accord_entity_members_record": ("entity_members", "record_id"),
    "accord_entity_members_entity": ("entity_members", "entity_id"),
    "accord_entities_entity": ("entities", "entity_id"),
    "accord_golden_values_entity": ("golden_values", "entity_id"),
    "accord_sync_outbox_change": ("sync_outbox", "change_id"),
    "accord_sync_state_record": ("sync_state", "record_key"),
    "accord_sync_state_entity": ("sync_state", "entity_id"),
}


def ensure_lookup_indexes(connection: duckdb.DuckDBPyConnection) -> list[str]:
    """Create the lookup indexes that are missing; return the names created."""
    existing = {
        row[0] for row in connection.execute("SELECT index_name FROM duckdb_indexes()").fetchall()
    }
    created = []
    for name, (table, column) in LOOKUP_INDEXES.items():
        if name in existing:
            continue
        started = time.monotonic()
        connection.execute(f"CREATE INDEX {name} ON {table} ({column})")
        logger.info(
            "created index %s on %s (%s) in %.1f s", name, table, column, time.monotonic() - started
        )
        created.append(name)
    return created


def drop_lookup_indexes(connection: duckdb.DuckDBPyConnection) -> None:
    """Drop the lookup indexes, inside the caller's transaction when one is open."""
    for name in LOOKUP_INDEXES:
        connection.execute(f"DROP INDEX IF EXISTS {name}")
