"""Decide which pending changes of one source to apply, by the source's cursor.

A change whose cursor value is older than the stored record's (or than an
earlier change of the same record in the batch) is stale and skipped, so a
late delivery never overwrites a newer value. Of the remaining changes of
one record, the last in sequence order is applied and the earlier ones are
superseded by it (see :mod:`accord.stream.fallback` for an invalid last change).

NOTE: a micro-batch still ends differently from applying its changes one at a
time in three cases. An invalid change followed by a delete leaves no
quarantine entry. A change that is later quarantined still advances the
cursor, so a valid change after it with an older cursor is skipped as
stale. A delete's cursor counts only within its batch, because a deleted
record keeps the cursor of its last stored version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import duckdb

from accord.config.models import SourceBase
from accord.store.staleness import is_older
from accord.stream.changelog import PendingChange


@dataclass
class Plan:
    """The outcome of ordering one source's pending changes."""

    apply: list[PendingChange] = field(default_factory=list)
    stale: list[PendingChange] = field(default_factory=list)
    superseded: list[PendingChange] = field(default_factory=list)


def stored_cursors(
    connection: duckdb.DuckDBPyConnection, source: SourceBase, keys: list[str]
) -> dict[str, Any]:
    """Return the cursor value in the stored raw row of each key that has one."""
    if not source.cursor or not keys:
        return {}
    path = json.dumps(source.cursor)
    placeholders = ", ".join("?" for _ in keys)
    rows = connection.execute(
        f"""
        SELECT source_key, raw->>{_sql_text(path)} FROM source_records
        WHERE source = ? AND source_key IN ({placeholders})
        """,
        [source.name, *keys],
    ).fetchall()
    return {row[0]: row[1] for row in rows if row[1] is not None}


def _sql_text(text: str) -> str:
    # The JSON path is a quoted member name, for example '"updated_at"'.
    return "'$." + text.replace("'", "''") + "'"


def plan_changes(
    connection: duckdb.DuckDBPyConnection, source: SourceBase, changes: list[PendingChange]
) -> Plan:
    """Split one source's pending changes into applied, stale and superseded ones."""
    plan = Plan()
    current = stored_cursors(connection, source, sorted({c.source_key for c in changes}))
    latest: dict[str, PendingChange] = {}
    for change in sorted(changes, key=lambda c: c.seq):
        value = change.payload.get(source.cursor) if source.cursor else None
        if source.cursor and is_older(value, current.get(change.source_key)):
            plan.stale.append(change)
            continue
        if value is not None:
            current[change.source_key] = value
        previous = latest.get(change.source_key)
        if previous is not None:
            plan.superseded.append(previous)
        latest[change.source_key] = change
    plan.apply = sorted(latest.values(), key=lambda c: c.seq)
    return plan
