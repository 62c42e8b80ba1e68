"""The durable change log: every intake appends here before it acknowledges.

Statuses: ``pending`` (waiting), ``processed`` (written, or superseded by a
later change of the same record in the same micro-batch), ``stale`` (older
than the stored record by the source's cursor, so skipped), ``quarantined``
(failed validation, see the quarantine table), ``failed`` (processing
raised) and ``rejected`` (the message could not be parsed; it is kept for
inspection and never processed).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from accord.store.bulk import register
from accord.stream.changes import Change

PENDING = "pending"
PROCESSED = "processed"
STALE = "stale"
QUARANTINED = "quarantined"
FAILED = "failed"
REJECTED = "rejected"

# Appends from every intake thread take this lock, so sequence numbers are
# committed in increasing order and the processor never sees a gap fill later.
_APPEND_LOCK = threading.Lock()


@dataclass(frozen=True)
class PendingChange:
    """A change waiting in the log, with its sequence number."""

    seq: int
    source: str
    source_key: str
    op: str
    payload: dict[str, Any]
    received_at: datetime


def now_utc() -> datetime:
    """Return the current UTC time without tzinfo, as the store keeps it."""
    return datetime.now(UTC).replace(tzinfo=None)


def append_changes(
    connection: duckdb.DuckDBPyConnection,
    changes: Sequence[Change],
    status: str = PENDING,
    error: str | None = None,
) -> int:
    """Append ``changes`` to the log inside the caller's open transaction.

    A change whose source, intake and position are already in the log is a
    redelivery and is skipped.

    Returns:
        The number of changes appended.
    """
    fresh = _without_redeliveries(connection, changes)
    _insert(connection, fresh, status, error)
    return len(fresh)


def _insert(
    connection: duckdb.DuckDBPyConnection,
    changes: Sequence[Change],
    status: str,
    error: str | None,
) -> None:
    if not changes:
        return
    now = now_utc()
    rows = [
        (c.source, c.source_key, c.op, json.dumps(c.payload, default=str), c.intake, c.position)
        for c in changes
    ]
    if len(rows) <= VALUES_ROWS:
        _insert_values(connection, rows, now, status, error)
    else:
        _insert_arrow(connection, rows, now, status, error)


# Up to this many changes are inserted as one parameterized VALUES list,
# because registering an Arrow table costs more than the statement for a few rows.
VALUES_ROWS = 50
_INSERT = """
    INSERT INTO change_log
        (source, source_key, op, payload, received_at, intake, source_position, status, error)
"""


def _insert_values(
    connection: duckdb.DuckDBPyConnection,
    rows: list[tuple[str, str, str, str, str, str | None]],
    now: datetime,
    status: str,
    error: str | None,
) -> None:
    placeholders = ", ".join("(?, ?, ?, ?, ?, ?, ?, ?, ?)" for _ in rows)
    params: list[object] = []
    for source, key, op, payload, intake, position in rows:
        params += [source, key, op, payload, now, intake, position, status, error]
    connection.execute(f"{_INSERT} VALUES {placeholders}", params)


def _insert_arrow(
    connection: duckdb.DuckDBPyConnection,
    rows: list[tuple[str, str, str, str, str, str | None]],
    now: datetime,
    status: str,
    error: str | None,
) -> None:
    names = ["source", "source_key", "op", "payload", "intake", "source_position"]
    table = pa.table(
        {name: pa.array([row[i] for row in rows], pa.string()) for i, name in enumerate(names)}
    )
    register(connection, "accord_new_changes", table)
    try:
        connection.execute(
            f"""{_INSERT}
            SELECT source, source_key, op, payload, ?, intake, source_position, ?, ?
            FROM accord_new_changes
            """,
            [now, status, error],
        )
    finally:
        connection.unregister("accord_new_changes")


def _without_redeliveries(
    connection: duckdb.DuckDBPyConnection, changes: Sequence[Change]
) -> list[Change]:
    positioned = {(c.source, c.intake, c.position) for c in changes if c.position is not None}
    if not positioned:
        return list(changes)
    table = pa.table(
        {
            "source": pa.array([p[0] for p in positioned], pa.string()),
            "intake": pa.array([p[1] for p in positioned], pa.string()),
            "position": pa.array([p[2] for p in positioned], pa.string()),
        }
    )
    register(connection, "accord_positions", table)
    try:
        rows = connection.execute(
            """
            SELECT p.source, p.intake, p.position FROM accord_positions p
            JOIN change_log c ON c.source = p.source AND c.intake = p.intake
                AND c.source_position = p.position
            """
        ).fetchall()
    finally:
        connection.unregister("accord_positions")
    seen = {(row[0], row[1], row[2]) for row in rows}
    fresh: list[Change] = []
    for change in changes:
        identity = (change.source, change.intake, change.position)
        if change.position is not None and identity in seen:
            continue
        if change.position is not None:
            seen.add(identity)
        fresh.append(change)
    return fresh


def commit_changes(
    connection: duckdb.DuckDBPyConnection,
    changes: Sequence[Change],
    status: str = PENDING,
    error: str | None = None,
) -> int:
    """Append ``changes`` in a transaction of their own and commit it.

    ``connection`` must be a cursor of the intake's thread, not the
    processor's connection.

    Returns:
        The number of changes appended.
    """
    return commit_requests(connection, [changes], status, error)[0]


def commit_requests(
    connection: duckdb.DuckDBPyConnection,
    requests: Sequence[Sequence[Change]],
    status: str = PENDING,
    error: str | None = None,
) -> list[int]:
    """Append the changes of several requests in one transaction and commit it.

    A change redelivered within the group counts for the first request that
    carries it. ``connection`` must be a cursor of the calling thread.

    Returns:
        The number of changes appended, per request.
    """
    changes = [change for request in requests for change in request]
    with _APPEND_LOCK:
        if all(change.position is None for change in changes):
            # Nothing to check for redelivery, so the one INSERT commits by itself.
            _insert(connection, changes, status, error)
            return [len(request) for request in requests]
        connection.execute("BEGIN TRANSACTION")
        try:
            fresh = _without_redeliveries(connection, changes)
            _insert(connection, fresh, status, error)
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    fresh_ids = {id(change) for change in fresh}
    return [sum(1 for change in request if id(change) in fresh_ids) for request in requests]


def append_lock() -> threading.Lock:
    """Return the lock that serializes appends, for intakes that commit more with them."""
    return _APPEND_LOCK


def fetch_pending(connection: duckdb.DuckDBPyConnection, limit: int) -> list[PendingChange]:
    """Return up to ``limit`` pending changes in sequence order."""
    rows = connection.execute(
        """
        SELECT seq, source, source_key, op, payload, received_at FROM change_log
        WHERE status = 'pending' ORDER BY seq LIMIT ?
        """,
        [limit],
    ).fetchall()
    return [
        PendingChange(int(row[0]), row[1], row[2], row[3], json.loads(row[4]), row[5])
        for row in rows
    ]


def mark_changes(
    connection: duckdb.DuckDBPyConnection,
    outcomes: dict[int, tuple[str, str | None]],
    run_id: int | None,
    now: datetime,
) -> None:
    """Set the status, error and run of each change: ``outcomes`` maps seq to (status, error)."""
    if not outcomes:
        return
    seqs = sorted(outcomes)
    table = pa.table(
        {
            "seq": pa.array(seqs, pa.int64()),
            "status": pa.array([outcomes[s][0] for s in seqs], pa.string()),
            "error": pa.array([outcomes[s][1] for s in seqs], pa.string()),
        }
    )
    register(connection, "accord_outcomes", table)
    try:
        connection.execute(
            """
            UPDATE change_log SET status = o.status, error = o.error, processed_at = ?,
                run_id = ?
            FROM accord_outcomes o WHERE change_log.seq = o.seq
            """,
            [now, run_id],
        )
    finally:
        connection.unregister("accord_outcomes")


def last_position(connection: duckdb.DuckDBPyConnection, source: str, intake: str) -> str | None:
    """Return the highest position an intake stored for a source, or None."""
    row = connection.execute(
        "SELECT max(source_position) FROM change_log WHERE source = ? AND intake = ?",
        [source, intake],
    ).fetchone()
    return row[0] if row else None


def lag_seconds(connection: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Return, per source, the age in seconds of its oldest pending change."""
    rows = connection.execute(
        """
        SELECT source, epoch(? - min(received_at)) FROM change_log
        WHERE status = 'pending' GROUP BY source
        """,
        [now_utc()],
    ).fetchall()
    return {row[0]: max(float(row[1]), 0.0) for row in rows}
