"""The batch run: extract every source, process it, and commit the result at once.

Sources are read and processed first. Every write then happens inside one
store transaction, so a failure or a killed process leaves the previous
state intact and the next run starts from it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from accord.config.loader import LoadedProject
from accord.config.models import SourceBase
from accord.errors import AccordError, RunError
from accord.ingest import ProcessedBatch, QuarantineEntry, merge_batches, process_rows
from accord.logs import get_logger
from accord.progress import LogProgress, Progress
from accord.resolve.stage import after_ingest
from accord.sources import open_reader
from accord.sources.base import ReadResult
from accord.standardize.parallel import StandardizePool
from accord.store.bulk import register
from accord.store.duckdb_store import Store, original_error, set_memory_limit
from accord.store.indexes import drop_lookup_indexes
from accord.store.records import WriteCounts, mark_absent_deleted, mark_deleted, write_records
from accord.store.staleness import stale_keys

logger = get_logger(__name__)

# Rows of a read that are mapped, standardized and validated together.
PROCESS_ROWS = 250_000


@dataclass
class SourceSummary:
    """Counts for one source in one run; ``read == stored + stale + quarantined``.

    A stale row has an older cursor value than the stored version of its
    record and is skipped.
    """

    source: str
    read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    quarantined: int = 0
    flagged_deleted: int = 0
    stale: int = 0
    incremental: bool = False
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def stored(self) -> int:
        """Rows accepted into the store, including rows the source flagged as deleted."""
        return self.new + self.changed + self.unchanged + self.flagged_deleted


@dataclass
class RunSummary:
    """Counts of one run: records read, stored and quarantined per source."""

    run_id: int
    started_at: datetime
    finished_at: datetime | None = None
    sources: list[SourceSummary] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """Return the summary as JSON text."""
        payload = asdict(self)
        payload["started_at"] = self.started_at.isoformat()
        payload["finished_at"] = self.finished_at.isoformat() if self.finished_at else None
        return json.dumps(payload, default=str)


@dataclass
class _SourceRead:
    source: SourceBase
    result: ReadResult
    batch: ProcessedBatch
    incremental: bool


def now_utc() -> datetime:
    """Return the current UTC time without tzinfo, as the store keeps it."""
    return datetime.now(UTC).replace(tzinfo=None)


def run(
    loaded: LoadedProject,
    store: Store,
    progress: Progress | None = None,
    full_refresh: bool = False,
) -> RunSummary:
    """Run the batch pipeline once and return its summary.

    Raises:
        RunError: when a stage fails; nothing of the run is committed.
    """
    progress = progress or LogProgress()
    set_memory_limit(loaded.project.store.memory_limit)
    if loaded.project.store.memory_limit:
        store.connection.execute("SET memory_limit = ?", [loaded.project.store.memory_limit])
    run_id = _start_run(store)
    summary = RunSummary(run_id=run_id, started_at=now_utc())
    try:
        with store.transaction() as connection:
            drop_lookup_indexes(connection)
            # The workers stop before resolution, so their memory is free for it.
            with StandardizePool() as pool:
                for source in loaded.project.sources:
                    # A read contains its source rows and their JSON text. Writing each
                    # read before the next source is extracted keeps one read in memory.
                    item = _extract_and_process(loaded, store, source, progress, full_refresh, pool)
                    summary.sources.append(_write_source(connection, item, run_id, progress))
                    del item
            summary.extra.update(after_ingest(loaded, connection, run_id, progress))
            summary.finished_at = now_utc()
            _finish_run(connection, run_id, "succeeded", summary.to_json())
    except Exception as exc:
        cause = original_error(exc)
        _record_failure(store, run_id, cause)
        if cause is exc and isinstance(exc, AccordError):
            raise
        if isinstance(cause, AccordError):
            raise cause from None
        if isinstance(cause, duckdb.OutOfMemoryException):
            limit = loaded.project.store.memory_limit
            raise RunError(
                f"run {run_id} failed: DuckDB ran out of memory under store.memory_limit "
                f"({limit}); raise store.memory_limit in the project file, or set it to null "
                f"for DuckDB's default of 80% of the machine's memory: {cause}"
            ) from cause
        raise RunError(f"run {run_id} failed: {type(cause).__name__}: {cause}") from cause
    _log_summary(summary)
    return summary


def _start_run(store: Store) -> int:
    connection = store.connection
    connection.execute(
        "UPDATE runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
        [now_utc()],
    )
    row = connection.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()
    run_id = int(row[0]) if row else 1
    connection.execute(
        "INSERT INTO runs (run_id, started_at, status) VALUES (?, ?, 'running')",
        [run_id, now_utc()],
    )
    return run_id


def _finish_run(
    connection: duckdb.DuckDBPyConnection, run_id: int, status: str, summary: str
) -> None:
    connection.execute(
        "UPDATE runs SET status = ?, finished_at = ?, summary = ? WHERE run_id = ?",
        [status, now_utc(), summary, run_id],
    )


def _record_failure(store: Store, run_id: int, exc: BaseException) -> None:
    logger.error("run %d failed: %s", run_id, exc)
    message = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
    _finish_run(store.connection, run_id, "failed", message)


def _extract_and_process(
    loaded: LoadedProject,
    store: Store,
    source: SourceBase,
    progress: Progress,
    full_refresh: bool,
    pool: StandardizePool,
) -> _SourceRead:
    reader = open_reader(source, loaded.root)
    since = None
    if source.cursor and reader.capabilities.incremental and not full_refresh:
        since = _saved_cursor(store, source.name)
    task = f"extract {source.name}"
    progress.begin(task, None)
    result = reader.read(since)
    progress.end(task)
    logger.info(
        "source %s: read %d rows (%s)",
        source.name,
        result.rows.num_rows,
        "incremental" if since is not None else "full",
    )
    task = f"process {source.name}"
    progress.begin(task, result.rows.num_rows)
    batch = _process(loaded, source, result, pool)
    progress.advance(task, result.rows.num_rows)
    progress.end(task)
    return _SourceRead(source, result, batch, since is not None)


def _process(
    loaded: LoadedProject, source: SourceBase, result: ReadResult, pool: StandardizePool
) -> ProcessedBatch:
    """Process the rows of one read in parts of at most ``PROCESS_ROWS`` rows.

    Each typed group is processed on its own when the reader gave groups.
    Standardized values are Python objects while a part is processed, so
    parts bound that memory by the part's size instead of the read's.
    """
    parts: list[tuple[pa.Table, Sequence[int]]]
    if result.typed_groups is None:
        parts = [(result.rows, range(result.rows.num_rows))]
    else:
        parts = [(group.rows, group.positions) for group in result.typed_groups]
    seen_keys: dict[str, int] = {}
    batches: list[ProcessedBatch] = []
    for rows, positions in parts:
        for start in range(0, max(rows.num_rows, 1), PROCESS_ROWS):
            batch = process_rows(
                loaded.project,
                source,
                # A read without records may have no columns, which slice mishandles.
                rows.slice(start, PROCESS_ROWS) if rows.num_rows else rows,
                None if batches else result.issues,
                pool,
                result.value_issues,
                positions[start : start + PROCESS_ROWS],
                seen_keys,
            )
            batches.append(batch)
    return batches[0] if len(batches) == 1 else merge_batches(batches)


def _saved_cursor(store: Store, source: str) -> str | None:
    row = store.connection.execute(
        "SELECT cursor FROM source_state WHERE source = ?", [source]
    ).fetchone()
    return row[0] if row else None


def _write_source(
    connection: duckdb.DuckDBPyConnection, item: _SourceRead, run_id: int, progress: Progress
) -> SourceSummary:
    now = now_utc()
    name = item.source.name
    batch = item.batch
    task = f"store {name}"
    progress.begin(task, batch.read)
    accepted, stale = _without_stale(connection, item.source, batch.accepted)
    counts: WriteCounts = write_records(connection, name, accepted, run_id, now)
    deleted = 0
    if batch.deleted_keys:
        keys = pa.table({"source_key": pa.array(batch.deleted_keys, pa.string())})
        deleted += mark_deleted(connection, name, keys, run_id, now)
    present = _present_keys(item)
    if present is not None:
        deleted += mark_absent_deleted(connection, name, present, run_id, now)
    _write_quarantine(connection, name, batch, item, run_id, now)
    _save_cursor(connection, name, item.result.cursor, run_id, now)
    progress.advance(task, batch.read)
    progress.end(task)
    summary = SourceSummary(
        source=name,
        read=batch.read,
        new=counts.new,
        changed=counts.changed,
        unchanged=counts.unchanged,
        deleted=deleted,
        quarantined=batch.quarantined,
        flagged_deleted=len(batch.deleted_keys),
        stale=stale,
        incremental=item.incremental,
        warnings=dict(batch.warnings),
    )
    if summary.read != summary.stored + summary.stale + summary.quarantined:
        raise RunError(
            f"source '{name}': {summary.read} rows read but {summary.stored} stored, "
            f"{summary.stale} stale and {summary.quarantined} quarantined; nothing was committed"
        )
    return summary


def _without_stale(
    connection: duckdb.DuckDBPyConnection, source: SourceBase, accepted: pa.Table
) -> tuple[pa.Table, int]:
    """Drop the rows older than their stored record by the source's cursor; return the count."""
    if not source.cursor or accepted.num_rows == 0:
        return accepted, 0
    stale = stale_keys(connection, source.name, source.cursor, accepted)
    if not stale:
        return accepted, 0
    logger.warning(
        "source %s: %d rows are older than their stored record by cursor %s and were "
        "skipped, first keys: %s",
        source.name,
        len(stale),
        source.cursor,
        ", ".join(stale[:5]),
    )
    keep = pc.invert(pc.is_in(accepted.column("source_key"), pa.array(stale, pa.string())))
    return accepted.filter(keep), len(stale)


def _present_keys(item: _SourceRead) -> pa.Table | None:
    """Return every key the source still has, when the read could tell."""
    result = item.result
    if result.present_keys is not None:
        keys = sorted(result.present_keys)
    elif result.complete:
        keys = item.batch.accepted.column("source_key").to_pylist()
        keys += [entry.source_key for entry in item.batch.quarantine if entry.source_key]
        keys += item.batch.deleted_keys
    else:
        return None
    return pa.table({"source_key": pa.array(keys, pa.string())})


def _write_quarantine(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    batch: ProcessedBatch,
    item: _SourceRead,
    run_id: int,
    now: datetime,
) -> None:
    if item.result.complete:
        connection.execute("DELETE FROM quarantine WHERE source = ?", [source])
    else:
        accepted = batch.accepted.select(["source_key"])
        register(connection, "accord_accepted", accepted)
        connection.execute(
            "DELETE FROM quarantine WHERE source = ? AND source_key IN "
            "(SELECT source_key FROM accord_accepted)",
            [source],
        )
        connection.unregister("accord_accepted")
    if batch.quarantine:
        connection.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_quarantine_row(entry, source, run_id, now) for entry in batch.quarantine],
        )


def _quarantine_row(entry: QuarantineEntry, source: str, run_id: int, now: datetime) -> list[Any]:
    return [
        run_id,
        source,
        entry.source_key,
        entry.location,
        entry.rule,
        entry.field,
        entry.value,
        entry.reason,
        entry.raw,
        now,
    ]


def _save_cursor(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    cursor: str | None,
    run_id: int,
    now: datetime,
) -> None:
    connection.execute("DELETE FROM source_state WHERE source = ?", [source])
    connection.execute(
        "INSERT INTO source_state VALUES (?, ?, ?, ?)", [source, cursor, run_id, now]
    )


def _log_summary(summary: RunSummary) -> None:
    for item in summary.sources:
        logger.info(
            "run %d source %s: read %d, new %d, changed %d, unchanged %d, deleted %d, "
            "quarantined %d",
            summary.run_id,
            item.source,
            item.read,
            item.new,
            item.changed,
            item.unchanged,
            item.deleted,
            item.quarantined,
        )
