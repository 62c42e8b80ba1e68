"""Polling intake: re-read a batch source past its saved cursor at a fixed interval.

The changes and the new cursor commit in one transaction, so a crash between
two polls neither skips nor repeats rows. When the reader lists the keys the
source still has, stored records missing from that list become deletions.
"""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa

from accord.config.loader import LoadedProject
from accord.config.models import PollIntake, SourceBase
from accord.logs import get_logger
from accord.sources import open_reader
from accord.sources.base import ReadResult, SourceReader
from accord.store.bulk import register
from accord.store.duckdb_store import Store
from accord.stream.changelog import append_changes, append_lock, now_utc
from accord.stream.changes import Change, InvalidChange, parse_change
from accord.stream.metrics import Metrics

logger = get_logger(__name__)


def poll(
    loaded: LoadedProject,
    store: Store,
    metrics: Metrics,
    source: SourceBase,
    settings: PollIntake,
    stop: threading.Event,
) -> None:
    """Poll ``source`` every ``settings.interval_seconds`` until ``stop`` is set."""
    reader = open_reader(source, loaded.root)
    if not (source.cursor and reader.capabilities.incremental):
        logger.warning(
            "source %s has no usable cursor, so every poll reads and logs all of its rows",
            source.name,
        )
    while not stop.is_set():
        count = poll_once(store, metrics, source, reader)
        logger.debug("poll of source %s: %d changes", source.name, count)
        stop.wait(settings.interval_seconds)


def poll_once(store: Store, metrics: Metrics, source: SourceBase, reader: SourceReader) -> int:
    """Read the source once, commit its changes and cursor, and return the change count."""
    cursor = store.connection.cursor()
    try:
        since = _saved_cursor(cursor, source) if reader.capabilities.incremental else None
        result = reader.read(since)
        for issue in result.issues:
            logger.warning("poll of source %s: %s: %s", source.name, issue.location, issue.message)
        changes = _row_changes(source, result) + _deletions(cursor, source, result)
        with append_lock():
            cursor.execute("BEGIN TRANSACTION")
            try:
                count = append_changes(cursor, changes)
                if result.cursor is not None:
                    _save_cursor(cursor, source.name, result.cursor)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
    finally:
        cursor.close()
    metrics.add("accord_changes_received_total", source.name, count)
    return count


def _row_changes(source: SourceBase, result: ReadResult) -> list[Change]:
    changes = []
    for row in result.rows.to_pylist():
        try:
            changes.append(parse_change(source, row, "poll"))
        except InvalidChange as exc:
            logger.error("poll of source %s: row skipped: %s", source.name, exc)
    return changes


def _deletions(
    cursor: duckdb.DuckDBPyConnection, source: SourceBase, result: ReadResult
) -> list[Change]:
    if result.present_keys is None:
        return []
    present = pa.table({"source_key": pa.array(sorted(result.present_keys), pa.string())})
    register(cursor, "accord_present_keys", present)
    try:
        rows = cursor.execute(
            """
            SELECT source_key FROM source_records
            WHERE source = ? AND deleted_at IS NULL
                AND source_key NOT IN (SELECT source_key FROM accord_present_keys)
            """,
            [source.name],
        ).fetchall()
    finally:
        cursor.unregister("accord_present_keys")
    return [Change(source.name, row[0], "delete", {}, "poll") for row in rows]


def _saved_cursor(cursor: duckdb.DuckDBPyConnection, source: SourceBase) -> str | None:
    if not source.cursor:
        return None
    row = cursor.execute(
        "SELECT cursor FROM source_state WHERE source = ?", [source.name]
    ).fetchone()
    return row[0] if row else None


def _save_cursor(cursor: duckdb.DuckDBPyConnection, source: str, value: str) -> None:
    cursor.execute("DELETE FROM source_state WHERE source = ?", [source])
    cursor.execute("INSERT INTO source_state VALUES (?, ?, NULL, ?)", [source, value, now_utc()])
