"""Read-only questions about the store, shared by the CLI and the Python API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb


@dataclass(frozen=True)
class RecordView:
    """One current source record with its standardized values."""

    source: str
    source_key: str
    version: int
    deleted: bool
    data: dict[str, Any]
    first_seen: Any
    last_seen: Any


_RECORD_COLUMNS = "source, source_key, version, deleted_at IS NOT NULL, data, first_seen, last_seen"


def _views(rows: list[tuple[Any, ...]]) -> list[RecordView]:
    return [
        RecordView(source, key, version, deleted, json.loads(data) if data else {}, first, last)
        for source, key, version, deleted, data, first, last in rows
    ]


def find_records(connection: duckdb.DuckDBPyConnection, key: str) -> list[RecordView]:
    """Find current records by ``source:key``, bare source key, or email (any case)."""
    if ":" in key:
        source, _, source_key = key.partition(":")
        rows = connection.execute(
            f"SELECT {_RECORD_COLUMNS} FROM source_records WHERE source = ? AND source_key = ?",
            [source, source_key],
        ).fetchall()
        if rows:
            return _views(rows)
    rows = connection.execute(
        f"""SELECT {_RECORD_COLUMNS} FROM source_records
            WHERE source_key = ?
               OR lower(data->>'email') = lower(?)
               OR data->>'email_key' = lower(?)
            ORDER BY source, source_key""",
        [key, key, key],
    ).fetchall()
    return _views(rows)


def search_records(
    connection: duckdb.DuckDBPyConnection, text: str, limit: int = 20
) -> list[RecordView]:
    """Return live records whose name, email, phone or company contains ``text``."""
    pattern = f"%{text.strip().lower()}%"
    rows = connection.execute(
        f"""SELECT {_RECORD_COLUMNS} FROM source_records
            WHERE deleted_at IS NULL AND (
                lower(coalesce(data->>'first_name', '') || ' ' || coalesce(data->>'last_name', ''))
                    LIKE ?
                OR lower(coalesce(data->>'full_name', '')) LIKE ?
                OR lower(coalesce(data->>'email', '')) LIKE ?
                OR coalesce(data->>'phone', '') LIKE ?
                OR lower(coalesce(data->>'company_name', '')) LIKE ?
                OR lower(source_key) LIKE ?)
            ORDER BY source, source_key LIMIT ?""",
        [pattern, pattern, pattern, pattern, pattern, pattern, limit],
    ).fetchall()
    return _views(rows)


def source_stats(connection: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return per-source counts of live, deleted and quarantined records and versions."""
    rows = connection.execute(
        """
        WITH live AS (
            SELECT source, count(*) FILTER (WHERE deleted_at IS NULL) AS live,
                   count(*) FILTER (WHERE deleted_at IS NOT NULL) AS deleted
            FROM source_records GROUP BY source),
        versions AS (SELECT source, count(*) AS versions FROM record_versions GROUP BY source),
        held AS (SELECT source, count(DISTINCT coalesce(source_key, location)) AS quarantined
                 FROM quarantine GROUP BY source),
        names AS (SELECT source FROM live UNION SELECT source FROM held)
        SELECT n.source, coalesce(l.live, 0), coalesce(l.deleted, 0),
               coalesce(v.versions, 0), coalesce(h.quarantined, 0)
        FROM names n
        LEFT JOIN live l USING (source)
        LEFT JOIN versions v USING (source)
        LEFT JOIN held h USING (source)
        ORDER BY n.source
        """
    ).fetchall()
    keys = ("source", "live", "deleted", "versions", "quarantined")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def quarantine_rows(
    connection: duckdb.DuckDBPyConnection, source: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Return quarantine entries, newest run first."""
    sql = """SELECT run_id, source, source_key, location, rule, field, value, reason
             FROM quarantine WHERE (? IS NULL OR source = ?)
             ORDER BY run_id DESC, source, location"""
    params: list[Any] = [source, source]
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    cursor = connection.execute(sql, params)
    names = [column[0] for column in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def latest_runs(connection: duckdb.DuckDBPyConnection, limit: int = 5) -> list[dict[str, Any]]:
    """Return the most recent runs with their status."""
    rows = connection.execute(
        "SELECT run_id, started_at, finished_at, status FROM runs ORDER BY run_id DESC LIMIT ?",
        [limit],
    ).fetchall()
    keys = ("run_id", "started_at", "finished_at", "status")
    return [dict(zip(keys, row, strict=True)) for row in rows]
