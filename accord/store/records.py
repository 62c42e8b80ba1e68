"""Versioned source records: insert new rows, version changed ones, mark deletions.

Each statement is set-based so that a million records write in seconds. The
caller wraps the calls of one run in a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from accord.store.bulk import register


@dataclass
class WriteCounts:
    """What one source's write did to the store."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0


def write_records(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    staged: pa.Table,
    run_id: int,
    now: datetime,
) -> WriteCounts:
    """Store the accepted records of one read.

    ``staged`` has columns ``source_key``, ``raw`` and ``data`` (JSON text).
    A new key gets version 1, a changed hash adds a version, an unchanged
    row only has ``last_seen`` moved, and a row that was deleted and comes
    back gets a new version with ``deleted_at`` cleared.
    """
    connection.complete()
    connection.execute("DROP TABLE IF EXISTS temp.accord_incoming")
    # DuckDB reads the local variable accord_staged through a replacement scan.
    # A table registered with connection.register inside a transaction stays
    # referenced until the transaction ends, which would keep every source's
    # staged rows in memory through resolution.
    accord_staged = staged
    connection.execute(
        """
        CREATE TEMP TABLE accord_incoming AS
        WITH hashed AS (
            SELECT source_key, raw, data,
                   md5(coalesce(raw, '') || '|' || coalesce(data, '')) AS content_hash
            FROM accord_staged)
        SELECT s.source_key, s.raw, s.data, s.content_hash,
               r.version AS old_version, r.first_seen AS old_first_seen,
               CASE
                   WHEN r.source_key IS NULL THEN 'new'
                   WHEN r.deleted_at IS NOT NULL OR r.content_hash <> s.content_hash
                       THEN 'changed'
                   ELSE 'unchanged'
               END AS status
        FROM hashed s
        LEFT JOIN source_records r ON r.source = ? AND r.source_key = s.source_key
        """,
        [source],
    )
    del accord_staged
    counts = _count_statuses(connection)
    if counts.new or counts.changed:
        _append_versions(connection, source, run_id, now)
        _replace_current(connection, source, run_id, now, counts.changed > 0)
    if counts.unchanged:
        connection.execute(
            """
            UPDATE source_records SET last_seen = ?
            WHERE source = ? AND source_key IN
                (SELECT source_key FROM accord_incoming WHERE status = 'unchanged')
            """,
            [now, source],
        )
    connection.execute("DROP TABLE temp.accord_incoming")
    return counts


def _count_statuses(connection: duckdb.DuckDBPyConnection) -> WriteCounts:
    rows = connection.execute(
        "SELECT status, count(*) FROM accord_incoming GROUP BY status"
    ).fetchall()
    by_status = {status: count for status, count in rows}
    return WriteCounts(
        new=by_status.get("new", 0),
        changed=by_status.get("changed", 0),
        unchanged=by_status.get("unchanged", 0),
    )


def _append_versions(
    connection: duckdb.DuckDBPyConnection, source: str, run_id: int, now: datetime
) -> None:
    connection.execute(
        """
        INSERT INTO record_versions
        SELECT ?, source_key, coalesce(old_version, 0) + 1, content_hash, raw, data, FALSE, ?, ?
        FROM accord_incoming WHERE status <> 'unchanged'
        """,
        [source, now, run_id],
    )


def _replace_current(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    run_id: int,
    now: datetime,
    any_changed: bool,
) -> None:
    if any_changed:
        connection.execute(
            """
            DELETE FROM source_records WHERE source = ? AND source_key IN
                (SELECT source_key FROM accord_incoming WHERE status = 'changed')
            """,
            [source],
        )
    connection.execute(
        """
        INSERT INTO source_records
        SELECT ?, source_key, coalesce(old_version, 0) + 1, content_hash, raw, data,
               coalesce(old_first_seen, ?), ?, ?, NULL, ?
        FROM accord_incoming WHERE status <> 'unchanged'
        """,
        [source, now, now, now, run_id],
    )


def mark_deleted(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    keys: pa.Table,
    run_id: int,
    now: datetime,
) -> int:
    """Mark the live records whose key is in ``keys`` (column ``source_key``) deleted."""
    register(connection, "accord_deleted_keys", keys)
    try:
        return _mark(
            connection,
            source,
            "source_key IN (SELECT source_key FROM accord_deleted_keys)",
            run_id,
            now,
        )
    finally:
        connection.unregister("accord_deleted_keys")


def mark_absent_deleted(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    present: pa.Table,
    run_id: int,
    now: datetime,
) -> int:
    """Mark the live records whose key is missing from ``present`` deleted."""
    register(connection, "accord_present_keys", present)
    try:
        condition = "source_key NOT IN (SELECT source_key FROM accord_present_keys)"
        return _mark(connection, source, condition, run_id, now)
    finally:
        connection.unregister("accord_present_keys")


def _mark(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    condition: str,
    run_id: int,
    now: datetime,
) -> int:
    selection = f"source = ? AND deleted_at IS NULL AND {condition}"
    connection.execute(
        f"""
        INSERT INTO record_versions
        SELECT source, source_key, version + 1, content_hash, raw, data, TRUE, ?, ?
        FROM source_records WHERE {selection}
        """,
        [now, run_id, source],
    )
    row = connection.execute(
        f"""
        UPDATE source_records
        SET deleted_at = ?, version = version + 1, changed_at = ?, run_id = ?
        WHERE {selection}
        """,
        [now, now, run_id, source],
    ).fetchone()
    return int(row[0]) if row else 0
