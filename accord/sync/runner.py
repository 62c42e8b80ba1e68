"""One sync: resume, plan, queue and deliver the changes of each destination.

Each destination goes through these steps in order. Dead letters are
queued again when requested. Changes that an interrupted sync left pending
are sent. The change set is planned against the sync state and committed
to the outbox. Then it is sent batch by batch, and each batch's outcome is
committed right after the call. A dry run stops after the plan and writes
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import duckdb

from accord.config.loader import LoadedProject
from accord.config.models import DestinationBase, Project
from accord.errors import AccordError
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.sync.desired import build_desired, register_entity_filter
from accord.sync.errors import SyncError
from accord.sync.outbox import enqueue, pending_changes, record_outcomes, replay_dead
from accord.sync.plan import PLAN, build_plan
from accord.sync.report import DestinationReport, FieldChanges, SyncReport
from accord.sync.writers import Change, Outcome, Writer, WriterCache
from accord.sync.writers.files import FileWriter

logger = get_logger(__name__)

# Rejected changes of one batch logged one by one; the rest are logged as a count.
_LOGGED_REJECTIONS = 5


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def select_destinations(project: Project, names: Sequence[str] | None) -> list[DestinationBase]:
    """Return the named destinations, or all of them when ``names`` is empty.

    Raises:
        SyncError: When a name is not a destination of the project.
    """
    by_name = {destination.name: destination for destination in project.destinations}
    if not names:
        return list(by_name.values())
    unknown = [name for name in names if name not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise SyncError(unknown[0], f"not found; use one of the destinations: {known}")
    return [by_name[name] for name in names]


def run_sync(
    loaded: LoadedProject,
    store: Store,
    destinations: Sequence[str] | None = None,
    *,
    dry_run: bool = False,
    retry_dead: bool = False,
    entity_ids: Collection[str] | None = None,
    examples: int = 3,
    writers: WriterCache | None = None,
) -> SyncReport:
    """Sync golden records to destinations and return what was planned, sent and fixed.

    Call it outside any open store transaction: it commits the outbox
    before sending and each batch's outcome after it.

    Args:
        loaded: The project.
        store: The open store, writable.
        destinations: Destination names; every destination when None or empty.
        dry_run: Plan and report without writing to the store or any tool.
        retry_dead: Queue the dead-lettered changes of each destination again.
        entity_ids: Only these golden records (sync state of other records is untouched).
        examples: Number of example changes kept per destination in the report.
        writers: Writers kept open between syncs; each writer is opened and
            closed in this call when None.

    Raises:
        SyncError: When a destination name is unknown.
    """
    chosen = select_destinations(loaded.project, destinations)
    connection = store.connection
    entities = sorted(set(entity_ids)) if entity_ids is not None else None
    if entities is not None:
        register_entity_filter(connection, entities)
    if dry_run:
        report = SyncReport(sync_id=None, dry_run=True)
        for destination in chosen:
            report.destinations.append(
                _dry_run(loaded.project, connection, destination, entities, examples)
            )
        return report
    sync_id = _start(store)
    report = SyncReport(sync_id=sync_id, dry_run=False)
    cache = writers if writers is not None else WriterCache()
    try:
        for destination in chosen:
            item = _sync_destination(
                loaded, store, destination, sync_id, entities, retry_dead, examples, cache
            )
            report.destinations.append(item)
    except BaseException:
        _finish(store, sync_id, "failed", report)
        raise
    finally:
        if writers is None:
            cache.close()
    _finish(store, sync_id, "succeeded" if report.ok else "incomplete", report)
    return report


def _start(store: Store) -> int:
    now = _now()
    with store.transaction() as connection:
        connection.execute(
            "UPDATE sync_runs SET status = 'interrupted', finished_at = ? WHERE status = 'running'",
            [now],
        )
        rows = connection.execute(
            "INSERT INTO sync_runs SELECT coalesce(max(sync_id), 0) + 1, ?, NULL, 'running', NULL "
            "FROM sync_runs RETURNING sync_id",
            [now],
        ).fetchall()
    return int(rows[0][0])


def _finish(store: Store, sync_id: int, status: str, report: SyncReport) -> None:
    with store.transaction() as connection:
        connection.execute(
            "UPDATE sync_runs SET status = ?, finished_at = ?, summary = ? WHERE sync_id = ?",
            [status, _now(), json.dumps(report.to_dict(), default=str), sync_id],
        )


def _new_report(destination: DestinationBase) -> DestinationReport:
    kind = str(getattr(destination, "kind", type(destination).__name__))
    return DestinationReport(destination.name, kind, destination.mode)


def _dry_run(
    project: Project,
    connection: duckdb.DuckDBPyConnection,
    destination: DestinationBase,
    entities: list[str] | None,
    examples: int,
) -> DestinationReport:
    report = _new_report(destination)
    build_desired(connection, project, destination, entities)
    build_plan(connection, project, destination, entities)
    _summarize_plan(connection, report, examples)
    return report


def _summarize_plan(
    connection: duckdb.DuckDBPyConnection, report: DestinationReport, examples: int
) -> None:
    counts = dict(
        connection.execute(f"SELECT operation, count(*) FROM {PLAN} GROUP BY 1").fetchall()
    )
    report.inserts = counts.get("insert", 0)
    report.updates = counts.get("update", 0)
    report.deletes = counts.get("delete", 0)
    report.confirmed = counts.get("baseline", 0)
    report.forgotten = counts.get("forget", 0)
    rows = connection.execute(
        f"""
        SELECT name, count(*) FROM {PLAN}, unnest(fields) AS f(name)
        GROUP BY name ORDER BY count(*) DESC, name
        """
    ).fetchall()
    report.field_changes = [FieldChanges(name, count) for name, count in rows]
    report.examples = _examples(connection, examples)


def _examples(connection: duckdb.DuckDBPyConnection, limit: int) -> list[dict[str, Any]]:
    if limit <= 0:
        return []
    rows = connection.execute(
        f"""
        SELECT operation, record_key, entity_id, record, fields FROM {PLAN}
        WHERE operation IN ('insert', 'update', 'delete')
        ORDER BY CASE operation WHEN 'insert' THEN 0 WHEN 'update' THEN 1 ELSE 2 END, record_key
        LIMIT ?
        """,
        [limit],
    ).fetchall()
    found = []
    for operation, record_key, entity_id, record, fields in rows:
        values = json.loads(record)
        found.append(
            {
                "operation": operation,
                "key": record_key,
                "entity_id": entity_id,
                "changes": {name: values.get(name) for name in fields},
            }
        )
    return found


def _sync_destination(
    loaded: LoadedProject,
    store: Store,
    destination: DestinationBase,
    sync_id: int,
    entities: list[str] | None,
    retry_dead: bool,
    examples: int,
    writers: WriterCache,
) -> DestinationReport:
    report = _new_report(destination)
    try:
        writer = writers.open(
            destination, loaded.root, lambda: _current_records(store, destination.name)
        )
    except AccordError as exc:
        report.error = str(exc)
        logger.error("sync %d: %s", sync_id, exc)
        return report
    fixed: list[tuple[str, str]] = []
    try:
        if retry_dead:
            with store.transaction() as connection:
                report.replayed = replay_dead(connection, destination.name, sync_id, _now())
        report.resumed = _deliver(store, destination, writer, sync_id, report, fixed)
        if report.pending == 0:
            with store.transaction() as connection:
                build_desired(connection, loaded.project, destination, entities)
                build_plan(connection, loaded.project, destination, entities)
                _summarize_plan(connection, report, examples)
                settles = bool(report.confirmed or report.forgotten)
                enqueue(connection, destination.name, sync_id, _now(), settles)
            _deliver(store, destination, writer, sync_id, report, fixed)
        if isinstance(writer, FileWriter) and not writer.path.exists():
            writer.write([])
    finally:
        writers.release(writer)
    _report_fixes(report, fixed, examples)
    _log(sync_id, report)
    return report


def _current_records(store: Store, destination: str) -> dict[str, dict[str, Any]]:
    rows = store.connection.execute(
        "SELECT record_key, payload FROM sync_state WHERE destination = ?", [destination]
    ).fetchall()
    return {key: json.loads(payload) for key, payload in rows}


def _deliver(
    store: Store,
    destination: DestinationBase,
    writer: Writer,
    sync_id: int,
    report: DestinationReport,
    fixed: list[tuple[str, str]],
) -> int:
    """Send the pending changes of ``destination`` in batches; return how many were handled.

    Each conflict that a sent change fixes is added to ``fixed`` as (golden
    field, record key).
    """
    handled = 0
    after = 0
    while True:
        changes = pending_changes(store.connection, destination.name, writer.batch_size, after)
        if not changes:
            return handled
        outcomes = writer.write(changes)
        with store.transaction() as connection:
            record_outcomes(connection, destination.name, sync_id, changes, outcomes, _now())
        handled += len(changes)
        _log_rejections(destination.name, changes, outcomes)
        sent = {outcome.change_id for outcome in outcomes if outcome.status == "sent"}
        fixed += [(f, c.record_key) for c in changes if c.change_id in sent for f in c.fixes]
        statuses = [outcome.status for outcome in outcomes]
        report.sent += statuses.count("sent")
        report.rejected += statuses.count("rejected")
        waiting = statuses.count("pending")
        if waiting:
            # The changes after this batch were not tried and stay pending too.
            waiting += len(
                pending_changes(store.connection, destination.name, 2**31, changes[-1].change_id)
            )
            report.pending += waiting
            report.error = next(o.error for o in outcomes if o.status == "pending")
            logger.warning(
                "destination %s: %d changes stay pending for the next sync: %s",
                destination.name,
                waiting,
                report.error,
            )
            return handled
        if len(changes) < writer.batch_size:
            # A short batch was the last: only this thread queues changes of the destination.
            return handled
        after = changes[-1].change_id


def _log_rejections(destination: str, changes: list[Change], outcomes: list[Outcome]) -> None:
    """Log the first rejected changes of a batch one by one and the rest as a count."""
    keys = {change.change_id: change.record_key for change in changes}
    failed = [outcome for outcome in outcomes if outcome.status == "rejected"]
    for outcome in failed[:_LOGGED_REJECTIONS]:
        logger.warning(
            "destination %s: change %d for record %s moved to dead letters: %s",
            destination,
            outcome.change_id,
            keys[outcome.change_id],
            outcome.error,
        )
    if len(failed) > _LOGGED_REJECTIONS:
        logger.warning(
            "destination %s: %d more changes of this batch moved to dead letters",
            destination,
            len(failed) - _LOGGED_REJECTIONS,
        )


def _report_fixes(report: DestinationReport, fixed: list[tuple[str, str]], examples: int) -> None:
    """Count the fixed conflicts per golden field and keep the first ``examples`` of them."""
    for field, record_key in sorted(fixed):
        report.fixed[field] = report.fixed.get(field, 0) + 1
        if len(report.fixed_examples) < examples:
            report.fixed_examples.append({"record_key": record_key, "field": field})


def _log(sync_id: int, report: DestinationReport) -> None:
    logger.info(
        "sync %d destination %s: planned %d inserts, %d updates, %d deletes; sent %d, "
        "rejected %d, pending %d, resumed %d, conflicts fixed %d",
        sync_id,
        report.destination,
        report.inserts,
        report.updates,
        report.deletes,
        report.sent,
        report.rejected,
        report.pending,
        report.resumed,
        sum(report.fixed.values()),
    )
