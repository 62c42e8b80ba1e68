"""Decide which pending changes of one source to apply, by the source's cursor.

A micro-batch ends as its changes would, applied one at a time in sequence
order. A change whose cursor value is older than the record's current one
is stale and skipped, so a late delivery never overwrites a newer value.
The current cursor is that of the stored record, or of the delete that
removed it, and within a batch that of the record's last accepted change
or delete; a quarantined change does not move it.

Of the accepted changes of one record only the last is written, and
before a final delete also the last upsert, because the deleted record
keeps its data. The others are superseded. When a record has several
changes in the batch, each is first mapped, standardized and validated
alone to learn whether it would be quarantined. The last quarantined
change that no later upsert replaces is written too, in sequence with the
others, so that the quarantine keeps the entry that one-at-a-time would
leave.

NOTE: a delete of a record that was never stored leaves no cursor behind,
so an older insert of that record that arrives after it is applied.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from accord.config.models import Project, SourceBase
from accord.ingest import QuarantineEntry, is_flagged, process_rows
from accord.store.indexes import one_of
from accord.store.staleness import is_older
from accord.stream.changelog import PendingChange
from accord.stream.rows import rows_table

# Returns the reason a change would be quarantined when processed alone, or None.
Validity = Callable[[PendingChange], str | None]


@dataclass
class Plan:
    """The outcome of ordering one source's pending changes.

    ``rounds`` are written one after the other, and no round contains two
    changes of one record. ``quarantined`` contains the changes, with their reasons,
    that are quarantined without being written, because a later change of
    their record replaces their quarantine entry.
    """

    rounds: list[list[PendingChange]] = field(default_factory=list)
    stale: list[PendingChange] = field(default_factory=list)
    superseded: list[PendingChange] = field(default_factory=list)
    quarantined: list[tuple[PendingChange, str]] = field(default_factory=list)


def quarantine_reason(project: Project, source: SourceBase, change: PendingChange) -> str | None:
    """Return why ``change``, processed alone, would be quarantined; None when it is accepted."""
    if change.op == "delete":
        return None
    batch = process_rows(project, source, rows_table(source, [change.payload]))
    for entry in batch.quarantine:
        if entry.source_key == change.source_key:
            return entry_reason(entry)
    return None


def entry_reason(entry: QuarantineEntry) -> str:
    """Return the reason a change log row gives for a quarantined change: the rule, then why."""
    return f"{entry.rule}: {entry.reason}"[:2000]


def reason_rule(reason: str) -> str:
    """Return the rule of a reason that :func:`entry_reason` wrote."""
    return reason.split(":", 1)[0]


def stored_cursors(
    connection: duckdb.DuckDBPyConnection, source: SourceBase, keys: list[str]
) -> tuple[dict[str, Any], set[str]]:
    """Return the current cursor value of each stored key that has one, and the stored keys.

    That is the cursor in the stored raw row. A deleted record keeps the raw
    row of its last version, so the cursors of the changes processed since
    the run that deleted it count too. They are the delete's own, those of
    the changes it superseded in its batch and those of later deletes, and
    the newest wins.
    """
    if not source.cursor or not keys:
        return {}, set()
    condition, params = one_of("source_key", keys)
    rows = connection.execute(
        f"""
        SELECT source_key, raw->>{_sql_text(json.dumps(source.cursor))},
            CASE WHEN deleted_at IS NOT NULL THEN run_id END
        FROM source_records WHERE source = ? AND {condition}
        """,
        [source.name, *params],
    ).fetchall()
    current = {row[0]: row[1] for row in rows if row[1] is not None}
    deleting_runs = {row[0]: row[2] for row in rows if row[2] is not None}
    for key, value in _deleting_run_cursors(connection, source, deleting_runs):
        if key not in current or is_older(current[key], value):
            current[key] = value
    return current, {row[0] for row in rows}


def _deleting_run_cursors(
    connection: duckdb.DuckDBPyConnection, source: SourceBase, runs: dict[str, int]
) -> list[tuple[str, Any]]:
    """Return key and cursor of the processed changes of each key since the run that deleted it."""
    if not runs:
        return []
    condition, params = one_of("source_key", sorted(runs))
    rows = connection.execute(
        f"""
        SELECT source_key, run_id, payload FROM change_log
        WHERE source = ? AND status = 'processed' AND {condition}
        """,
        [source.name, *params],
    ).fetchall()
    cursors = [
        (key, json.loads(payload).get(source.cursor))
        for key, run_id, payload in rows
        if run_id is not None and run_id >= runs[key]
    ]
    return [(key, value) for key, value in cursors if value is not None]


def _sql_text(text: str) -> str:
    # The JSON path is a quoted member name, for example '"updated_at"'.
    return "'$." + text.replace("'", "''") + "'"


def plan_changes(
    connection: duckdb.DuckDBPyConnection,
    source: SourceBase,
    changes: list[PendingChange],
    validity: Validity,
) -> Plan:
    """Split one source's pending changes as applying them one at a time would.

    ``validity`` is asked only about records with several changes in the batch.
    """
    plan = Plan()
    keys = sorted({c.source_key for c in changes})
    current, stored = stored_cursors(connection, source, keys)
    by_key: dict[str, list[PendingChange]] = defaultdict(list)
    for change in sorted(changes, key=lambda c: c.seq):
        by_key[change.source_key].append(change)
    for key, sequence in by_key.items():
        if len(sequence) == 1:
            _plan_single(plan, source, sequence[0], current.get(key))
        else:
            _plan_sequence(plan, source, sequence, current.get(key), key in stored, validity)
    for changes_in_round in plan.rounds:
        changes_in_round.sort(key=lambda c: c.seq)
    return plan


def _cursor(source: SourceBase, change: PendingChange) -> Any:
    return change.payload.get(source.cursor) if source.cursor else None


def _deletes(source: SourceBase, change: PendingChange) -> bool:
    """Return whether ``change`` deletes its record: a delete, or an upsert with the flag set."""
    if change.op == "delete":
        return True
    flag = source.deleted_flag
    return flag is not None and is_flagged(change.payload.get(flag))


def _plan_single(plan: Plan, source: SourceBase, change: PendingChange, current: Any) -> None:
    if is_older(_cursor(source, change), current):
        plan.stale.append(change)
    else:
        _add_writes(plan, [change])


def _plan_sequence(
    plan: Plan,
    source: SourceBase,
    sequence: list[PendingChange],
    current: Any,
    exists: bool,
    validity: Validity,
) -> None:
    """Plan the changes of one record, in sequence order, as one-at-a-time would apply them.

    ``exists`` is whether the store has a row of the record, live or deleted.
    """
    accepted: list[PendingChange] = []
    # The last quarantined change that no later accepted upsert cleared, with its reason.
    pending_entry: tuple[PendingChange, str] | None = None
    for change in sequence:
        value = _cursor(source, change)
        if is_older(value, current):
            plan.stale.append(change)
            continue
        reason = validity(change)
        if reason is not None:
            if pending_entry is not None:
                plan.quarantined.append(pending_entry)
            pending_entry = (change, reason)
            continue
        accepted.append(change)
        if not _deletes(source, change):
            # An upsert replaces the stored raw row.
            current = value
            exists = True
        elif value is not None and exists:
            # A delete keeps the raw row, and its cursor counts from the change log.
            current = value
        if change.op != "delete" and pending_entry is not None:
            # An accepted upsert replaces the quarantine entry of its record.
            plan.quarantined.append(pending_entry)
            pending_entry = None
    writes = _writes(source, accepted)
    plan.superseded.extend(change for change in accepted if change not in writes)
    if pending_entry is not None:
        writes.append(pending_entry[0])
    _add_writes(plan, writes)


def _add_writes(plan: Plan, writes: list[PendingChange]) -> None:
    """Put the writes of one record into consecutive rounds, in sequence order."""
    for number, change in enumerate(sorted(writes, key=lambda c: c.seq)):
        if len(plan.rounds) <= number:
            plan.rounds.append([])
        plan.rounds[number].append(change)


def _writes(source: SourceBase, accepted: list[PendingChange]) -> list[PendingChange]:
    """Return the accepted changes to write: the last, and the upsert a final delete removes.

    A deleted record keeps the data of its last version, so the upsert
    before a final delete (or an upsert with the deleted flag) is written too.
    """
    if not accepted:
        return []
    last = accepted[-1]
    upserts = [change for change in accepted if not _deletes(source, change)]
    if _deletes(source, last) and upserts:
        return [upserts[-1], last]
    return [last]
