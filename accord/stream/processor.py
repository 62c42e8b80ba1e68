"""Apply pending changes from the change log to the store in micro-batches.

One micro-batch is one store transaction: the record writes, the
re-resolution and merge, and the status of every change commit together, so
a killed worker neither loses nor applies a change twice. Triggers and syncs
of the affected entities run after the commit (:mod:`accord.stream.delivery`);
the ``stream_batches`` row of the batch records when they finished, and an
unfinished delivery is repeated (both are idempotent).

Resolution is incremental (:mod:`accord.resolve.incremental`): the changed
records and the records they can affect are re-resolved in process against
the in-memory state, and only the golden records of the touched entities are
merged again. Before a match model exists, a micro-batch runs the batch
resolution over every live record, which trains one.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from accord.config.loader import LoadedProject
from accord.config.models import SourceBase
from accord.ingest import ProcessedBatch, QuarantineEntry, process_rows
from accord.logs import get_logger
from accord.progress import LogProgress
from accord.resolve.incremental import ResolutionState, load_state, resolve_changes
from accord.resolve.stage import after_ingest
from accord.store.bulk import register
from accord.store.duckdb_store import Store, original_error
from accord.store.indexes import ensure_lookup_indexes, one_of
from accord.store.records import mark_deleted, write_records
from accord.stream import changelog
from accord.stream.changelog import PendingChange, now_utc
from accord.stream.delivery import deliver_batches
from accord.stream.metrics import Metrics
from accord.stream.ordering import entry_reason, plan_changes, quarantine_reason, reason_rule
from accord.stream.rows import rows_table, type_groups

logger = get_logger(__name__)

Outcomes = dict[int, tuple[str, str | None]]


@dataclass
class BatchResult:
    """What one micro-batch did."""

    run_id: int | None
    outcomes: Outcomes = field(default_factory=dict)
    entity_ids: list[str] = field(default_factory=list)
    changed_keys: list[tuple[str, str]] = field(default_factory=list)
    # Record ID -> standardized data of the records written, which are live.
    written: dict[str, dict[str, Any]] = field(default_factory=dict)


class Processor:
    """Takes pending changes in sequence order and applies them to the store."""

    def __init__(
        self, loaded: LoadedProject, store: Store, metrics: Metrics, batch_size: int
    ) -> None:
        self.loaded = loaded
        self.store = store
        self.metrics = metrics
        self.batch_size = batch_size
        self.state: ResolutionState | None = None
        self.ready = False
        # DuckDB's thread count before the worker lowered it, for batch work.
        self.all_threads: int | None = None
        # Called after each commit instead of delivering in this thread.
        self.on_commit: Callable[[], None] | None = None

    def prepare(self) -> None:
        """Load the incremental resolution state now rather than in the first micro-batch.

        Loading reads every live record, which takes seconds for a large
        store; a worker does it before it starts taking changes. A failure
        is logged, and the first micro-batch loads the state instead.
        """
        try:
            ensure_lookup_indexes(self.store.connection)
            if self.state is None:
                self.state = load_state(self.store.connection, self.loaded.project)
        except Exception as exc:
            logger.error(
                "preparing the worker failed; the first micro-batch loads the state: %s: %s",
                type(exc).__name__,
                exc,
            )
        try:
            self.limit_threads()
        except duckdb.Error as exc:
            logger.error(
                "setting DuckDB's threads per query failed; micro-batches use every core: %s",
                exc,
            )
        finally:
            self.ready = True

    def limit_threads(self) -> None:
        """Set DuckDB's threads per query to ``stream.query_threads`` for micro-batches.

        A micro-batch runs about a hundred statements on a few dozen rows
        each. Their parallel tasks cost more to schedule than they save, and
        they compete with the intake and delivery threads for the cores.
        """
        connection = self.store.connection
        if self.all_threads is None:
            row = connection.execute("SELECT current_setting('threads')").fetchone()
            self.all_threads = int(row[0]) if row else None
        _set_threads(connection, self.loaded.project.stream.query_threads)

    @contextmanager
    def every_thread(self, connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """Run the block with DuckDB's thread count from before ``limit_threads``."""
        if self.all_threads is None:
            yield
            return
        _set_threads(connection, self.all_threads)
        try:
            yield
        finally:
            _set_threads(connection, self.loaded.project.stream.query_threads)

    def process_once(self) -> int:
        """Apply one micro-batch of pending changes and deliver it.

        Returns:
            The number of changes taken from the log; 0 when none was pending.
        """
        pending = changelog.fetch_pending(self.store.connection, self.batch_size)
        if not pending:
            return 0
        try:
            results = [self._apply(pending)]
        except Exception as exc:
            logger.error(
                "micro-batch of %d changes (seq %d to %d) failed, retrying one change at a "
                "time: %s: %s",
                len(pending),
                pending[0].seq,
                pending[-1].seq,
                type(exc).__name__,
                exc,
            )
            results = [self._apply_alone(change) for change in pending]
        for result in results:
            self._count(pending, result)
            if result.run_id is not None:
                self.deliver(result.run_id, result.entity_ids)
        return len(pending)

    def _apply_alone(self, change: PendingChange) -> BatchResult:
        try:
            return self._apply([change])
        except Exception as exc:
            if _machine_error(exc):
                # The change is not at fault; it stays pending and the worker retries it.
                raise
            error = f"{type(exc).__name__}: {exc}"
            logger.error(
                "change %d of source %s key %s failed: %s",
                change.seq,
                change.source,
                change.source_key,
                error,
            )
            with self.store.transaction() as connection:
                outcomes: Outcomes = {change.seq: (changelog.FAILED, error[:2000])}
                changelog.mark_changes(connection, outcomes, None, now_utc())
            return BatchResult(None, outcomes)

    def _apply(self, pending: list[PendingChange]) -> BatchResult:
        try:
            return self._apply_batch(pending)
        except BaseException:
            # The transaction rolled back, so the in-memory state may be ahead of the store.
            self.state = None
            raise

    def _resolve(
        self, connection: duckdb.DuckDBPyConnection, run_id: int, result: BatchResult
    ) -> dict[str, object]:
        if self.state is None:
            with self.every_thread(connection):
                return after_ingest(self.loaded, connection, run_id, LogProgress())
        changed = sorted({f"{source}:{key}" for source, key in result.changed_keys})
        return resolve_changes(connection, self.state, changed, run_id, now_utc(), result.written)

    def _apply_batch(self, pending: list[PendingChange]) -> BatchResult:
        started = time.monotonic()
        with self.store.transaction() as connection:
            now = now_utc()
            run_id = _start_run(connection, now)
            if self.state is None:
                # Loaded before this batch's writes, so that it contains the versions they replace.
                with self.every_thread(connection):
                    self.state = load_state(connection, self.loaded.project)
            result = BatchResult(run_id)
            by_source: dict[str, list[PendingChange]] = defaultdict(list)
            for change in pending:
                by_source[change.source].append(change)
            for name, changes in by_source.items():
                self._apply_source(connection, name, changes, run_id, now, result)
            stats = self._resolve(connection, run_id, result)
            result.entity_ids = _affected_entities(connection, run_id, result.changed_keys)
            changelog.mark_changes(connection, result.outcomes, run_id, now_utc())
            _finish_run(connection, run_id, len(pending), stats)
            connection.execute(
                "INSERT INTO stream_batches VALUES (?, ?, ?, ?, NULL)",
                [run_id, now_utc(), len(pending), json.dumps(result.entity_ids)],
            )
        logger.info(
            "run %d: applied %d changes in %.2f s, %d entities affected",
            run_id,
            len(pending),
            time.monotonic() - started,
            len(result.entity_ids),
        )
        return result

    def _apply_source(
        self,
        connection: duckdb.DuckDBPyConnection,
        name: str,
        changes: list[PendingChange],
        run_id: int,
        now: datetime,
        result: BatchResult,
    ) -> None:
        try:
            source = self.loaded.project.source(name)
        except KeyError as exc:
            for change in changes:
                result.outcomes[change.seq] = (changelog.FAILED, str(exc))
            logger.error("%d changes name an unknown source %s", len(changes), name)
            return
        project = self.loaded.project
        plan = plan_changes(
            connection, source, changes, lambda change: quarantine_reason(project, source, change)
        )
        for change in plan.stale:
            result.outcomes[change.seq] = (changelog.STALE, "a newer version is stored")
            logger.info(
                "change %d of source %s key %s is older than the stored record; skipped",
                change.seq,
                name,
                change.source_key,
            )
        for change in plan.superseded:
            result.outcomes[change.seq] = (changelog.PROCESSED, "superseded in the same batch")
        for change, reason in plan.quarantined:
            result.outcomes[change.seq] = (changelog.QUARANTINED, reason)
            _log_quarantined(change, reason)
        # Rounds keep a record's writes in sequence order (see accord.stream.ordering).
        for changes_in_order in plan.rounds:
            self._write_changes(connection, source, changes_in_order, run_id, now, result)

    def _write_changes(
        self,
        connection: duckdb.DuckDBPyConnection,
        source: SourceBase,
        changes: list[PendingChange],
        run_id: int,
        now: datetime,
        result: BatchResult,
    ) -> None:
        """Write changes of distinct records: deletes, then upserts in groups of one type."""
        deletes = [c for c in changes if c.op == "delete"]
        upserts = [c for c in changes if c.op != "delete"]
        _write_deletes(connection, source, deletes, run_id, now, result)
        for group in type_groups(upserts, [change.payload for change in upserts]):
            self._write_upserts(connection, source, group, run_id, now, result)

    def _write_upserts(
        self,
        connection: duckdb.DuckDBPyConnection,
        source: SourceBase,
        changes: list[PendingChange],
        run_id: int,
        now: datetime,
        result: BatchResult,
    ) -> None:
        if not changes:
            return
        rows = rows_table(source, [change.payload for change in changes])
        batch = process_rows(self.loaded.project, source, rows)
        write_records(connection, source.name, batch.accepted, run_id, now)
        accepted_keys = batch.accepted.column("source_key").to_pylist()
        texts = batch.accepted.column("data").to_pylist()
        for key, text in zip(accepted_keys, texts, strict=True):
            result.written[f"{source.name}:{key}"] = json.loads(text)
        if batch.deleted_keys:
            _delete_records(connection, source.name, batch.deleted_keys, run_id, now, result)
        _write_quarantine(connection, source.name, batch, run_id, now)
        reasons = _quarantine_reasons(batch.quarantine)
        for change in changes:
            reason = reasons.get(change.source_key)
            if reason is None:
                result.outcomes[change.seq] = (changelog.PROCESSED, None)
                result.changed_keys.append((source.name, change.source_key))
            else:
                result.outcomes[change.seq] = (changelog.QUARANTINED, reason)
                _log_quarantined(change, reason)

    def deliver(self, run_id: int, entity_ids: list[str]) -> None:
        """Deliver a committed micro-batch now, or wake the delivery thread when there is one."""
        if self.on_commit is not None:
            self.on_commit()
        else:
            deliver_batches(self.loaded, self.store, [(run_id, entity_ids)])

    def _count(self, pending: list[PendingChange], result: BatchResult) -> None:
        counters = {
            changelog.PROCESSED: "accord_changes_processed_total",
            changelog.STALE: "accord_changes_stale_total",
            changelog.QUARANTINED: "accord_changes_quarantined_total",
            changelog.FAILED: "accord_changes_failed_total",
        }
        by_seq = {change.seq: change for change in pending}
        now = now_utc()
        latencies = []
        for seq, (status, _) in result.outcomes.items():
            change = by_seq[seq]
            self.metrics.add(counters[status], change.source)
            latencies.append((now - change.received_at).total_seconds())
        self.metrics.observe_latencies(latencies)


def _machine_error(exc: BaseException) -> bool:
    """Return whether the disk or memory caused ``exc``, rather than the change.

    An error that only reports an aborted transaction is judged by the error
    that aborted it.
    """
    cause = original_error(exc)
    return isinstance(
        cause, OSError | MemoryError | duckdb.IOException | duckdb.OutOfMemoryException
    )


def _log_quarantined(change: PendingChange, reason: str) -> None:
    # The reason quotes the rejected value, which may be personal data, so the
    # log names only the rule. The quarantine table keeps the whole reason.
    logger.warning(
        "change %d of source %s key %s quarantined by rule %s; accord quarantine shows why",
        change.seq,
        change.source,
        change.source_key,
        reason_rule(reason),
    )


def _set_threads(connection: duckdb.DuckDBPyConnection, count: int) -> None:
    connection.execute(f"SET threads = {int(count)}")


def _start_run(connection: duckdb.DuckDBPyConnection, now: datetime) -> int:
    rows = connection.execute(
        "INSERT INTO runs (run_id, started_at, status) "
        "SELECT coalesce(max(run_id), 0) + 1, ?, 'running' FROM runs RETURNING run_id",
        [now],
    ).fetchall()
    return int(rows[0][0])


def _finish_run(
    connection: duckdb.DuckDBPyConnection, run_id: int, changes: int, stats: dict[str, object]
) -> None:
    summary = json.dumps({"kind": "stream", "changes": changes, **stats}, default=str)
    connection.execute(
        "UPDATE runs SET status = 'succeeded', finished_at = ?, summary = ? WHERE run_id = ?",
        [now_utc(), summary, run_id],
    )


def _write_deletes(
    connection: duckdb.DuckDBPyConnection,
    source: SourceBase,
    changes: list[PendingChange],
    run_id: int,
    now: datetime,
    result: BatchResult,
) -> None:
    if not changes:
        return
    keys = [change.source_key for change in changes]
    marked = _delete_records(connection, source.name, keys, run_id, now, result)
    if marked < len(changes):
        unknown = _without_live_record(connection, source.name, changes, run_id)
        logger.info(
            "run %d: %d deletes of source %s found no live record, which is already deleted "
            "or was never stored; first keys: %s",
            run_id,
            len(unknown),
            source.name,
            ", ".join(unknown[:5]),
        )
    for change in changes:
        result.outcomes[change.seq] = (changelog.PROCESSED, None)
        result.changed_keys.append((source.name, change.source_key))


def _delete_records(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    keys: list[str],
    run_id: int,
    now: datetime,
    result: BatchResult,
) -> int:
    """Mark the live records of ``keys`` deleted and return how many were live.

    They also leave ``result.written``, which an earlier round of the batch may have filled.
    """
    table = pa.table({"source_key": pa.array(keys, pa.string())})
    marked = mark_deleted(connection, source, table, run_id, now)
    for key in keys:
        result.written.pop(f"{source}:{key}", None)
    return marked


def _without_live_record(
    connection: duckdb.DuckDBPyConnection, source: str, changes: list[PendingChange], run_id: int
) -> list[str]:
    """Return the keys of ``changes`` whose record was not marked deleted in run ``run_id``."""
    rows = connection.execute(
        "SELECT source_key FROM source_records WHERE source = ? AND run_id = ? "
        "AND deleted_at IS NOT NULL",
        [source, run_id],
    ).fetchall()
    marked = {row[0] for row in rows}
    return sorted({c.source_key for c in changes} - marked)


def _quarantine_reasons(entries: list[QuarantineEntry]) -> dict[str, str]:
    reasons: dict[str, str] = {}
    for entry in entries:
        if entry.source_key is not None and entry.source_key not in reasons:
            reasons[entry.source_key] = entry_reason(entry)
    return reasons


def _write_quarantine(
    connection: duckdb.DuckDBPyConnection,
    source: str,
    batch: ProcessedBatch,
    run_id: int,
    now: datetime,
) -> None:
    """Replace the quarantine entries of the keys in ``batch`` with its new entries."""
    keys = batch.accepted.column("source_key").to_pylist()
    keys += [entry.source_key for entry in batch.quarantine if entry.source_key]
    keys += batch.deleted_keys
    register(connection, "accord_batch_keys", pa.table({"source_key": pa.array(keys, pa.string())}))
    try:
        connection.execute(
            "DELETE FROM quarantine WHERE source = ? AND source_key IN "
            "(SELECT source_key FROM accord_batch_keys)",
            [source],
        )
    finally:
        connection.unregister("accord_batch_keys")
    if batch.quarantine:
        connection.executemany(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [_quarantine_row(entry, source, run_id, now) for entry in batch.quarantine],
        )


def _quarantine_row(
    entry: QuarantineEntry, source: str, run_id: int, now: datetime
) -> list[object]:
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


def _affected_entities(
    connection: duckdb.DuckDBPyConnection, run_id: int, keys: list[tuple[str, str]]
) -> list[str]:
    """Return the entities that hold a changed record or changed in run ``run_id``."""
    condition, params = one_of("record_id", [f"{source}:{key}" for source, key in keys])
    rows = connection.execute(
        f"""
        SELECT entity_id FROM entity_members WHERE {condition}
        UNION SELECT entity_id FROM golden_changes WHERE run_id = ?
        UNION SELECT entity_id FROM entity_events WHERE run_id = ?
        """,
        [*params, run_id, run_id],
    ).fetchall()
    return sorted(row[0] for row in rows)
