"""The outbox: planned changes committed before any is sent, marked as each call succeeds.

A killed sync leaves its unsent changes ``pending``. The next sync sends
them first with the same idempotency keys, so a receiver that saw a change
before the kill can drop the repeat, and nothing planned is lost.

The idempotency key is the SHA-256 of the destination, record key,
operation, record, sent fields and sync ID. The sync ID is part of it so
that a later sync that sends the same values again (the tool changed a
value back) is not dropped by a receiver that remembers the first send.
"""

from __future__ import annotations

import json
from datetime import datetime

import duckdb

from accord.store.indexes import one_of
from accord.sync.errors import truncate
from accord.sync.payload import replay_key
from accord.sync.plan import PLAN, SENDING_OPERATIONS
from accord.sync.sqltext import text_list
from accord.sync.writers.base import Change, Outcome


def enqueue(
    connection: duckdb.DuckDBPyConnection,
    destination: str,
    sync_id: int,
    now: datetime,
    settles_state: bool = True,
) -> None:
    """Move the plan into the outbox and the sync state.

    Sending operations become pending outbox rows. ``baseline`` rows (the
    tool already has the golden values) update the sync state directly,
    and ``forget`` rows remove it. With ``settles_state`` False the plan has
    neither, and the sync state is left alone. The caller commits all of it
    together.
    """
    operations = text_list(list(SENDING_OPERATIONS))
    connection.execute(
        f"""
        INSERT INTO sync_outbox
        SELECT (SELECT coalesce(max(change_id), 0) FROM sync_outbox)
                   + row_number() OVER (ORDER BY operation, record_key),
               ?, ?, record_key, entity_id, operation, record, to_json(fields), payload_hash,
               CASE WHEN len(fixes) > 0 THEN to_json(fixes) END,
               sha256(concat_ws('|', ?, record_key, operation, CAST(record AS VARCHAR),
                                CAST(to_json(fields) AS VARCHAR), CAST(? AS VARCHAR))),
               'pending', 0, ?, NULL, NULL
        FROM {PLAN} WHERE operation IN ({operations})
        """,
        [sync_id, destination, destination, sync_id, now],
    )
    if not settles_state:
        return
    connection.execute(
        f"""
        DELETE FROM sync_state WHERE destination = ? AND record_key IN
            (SELECT record_key FROM {PLAN} WHERE operation IN ('baseline', 'forget'))
        """,
        [destination],
    )
    connection.execute(
        f"""
        INSERT INTO sync_state
        SELECT ?, record_key, entity_id, record, payload_hash, ?, ?
        FROM {PLAN} WHERE operation = 'baseline'
        """,
        [destination, now, sync_id],
    )


def pending_changes(
    connection: duckdb.DuckDBPyConnection, destination: str, limit: int, after: int
) -> list[Change]:
    """Return up to ``limit`` pending changes with IDs above ``after``, oldest first."""
    rows = connection.execute(
        """
        SELECT change_id, record_key, entity_id, operation, record, fields, idempotency_key,
               fixes
        FROM sync_outbox
        WHERE destination = ? AND status = 'pending' AND change_id > ?
        ORDER BY change_id LIMIT ?
        """,
        [destination, after, min(limit, 2**62)],
    ).fetchall()
    return [
        Change(
            change_id=row[0],
            record_key=row[1],
            entity_id=row[2],
            operation=row[3],
            record=json.loads(row[4]),
            fields=json.loads(row[5]),
            idempotency_key=row[6],
            fixes=tuple(json.loads(row[7])) if row[7] is not None else (),
        )
        for row in rows
    ]


def record_outcomes(
    connection: duckdb.DuckDBPyConnection,
    destination: str,
    sync_id: int,
    changes: list[Change],
    outcomes: list[Outcome],
    now: datetime,
) -> None:
    """Mark sent changes and update the sync state; dead-letter rejected ones.

    ``outcomes`` are those of ``changes``. The caller commits this in one
    transaction, right after the call that produced ``outcomes``.
    """
    by_status: dict[str, list[Outcome]] = {"sent": [], "rejected": [], "pending": []}
    for outcome in outcomes:
        by_status[outcome.status].append(outcome)
    if by_status["sent"]:
        sent = {outcome.change_id for outcome in by_status["sent"]}
        sent_changes = [change for change in changes if change.change_id in sent]
        _mark_sent(connection, destination, sync_id, sent_changes, now)
    for outcome in by_status["rejected"]:
        _dead_letter(connection, sync_id, outcome, now)
    for outcome in by_status["pending"]:
        connection.execute(
            "UPDATE sync_outbox SET attempts = attempts + 1, error = ? WHERE change_id = ?",
            [truncate(outcome.error), outcome.change_id],
        )


def _mark_sent(
    connection: duckdb.DuckDBPyConnection,
    destination: str,
    sync_id: int,
    changes: list[Change],
    now: datetime,
) -> None:
    """Mark ``changes`` sent and make each record's last sent change its sync state.

    The changes are named by a list of IDs, which DuckDB reads through the
    lookup indexes of a worker's store instead of scanning the outbox.
    """
    sent, ids = one_of("change_id", [change.change_id for change in changes])
    connection.execute(
        f"""
        UPDATE sync_outbox SET status = 'sent', sent_at = ?, attempts = attempts + 1, error = NULL
        WHERE {sent}
        """,
        [now, *ids],
    )
    keys, key_params = one_of("record_key", sorted({change.record_key for change in changes}))
    connection.execute(
        f"DELETE FROM sync_state WHERE destination = ? AND {keys}", [destination, *key_params]
    )
    connection.execute(
        f"""
        INSERT INTO sync_state
        SELECT destination, record_key, entity_id, record, payload_hash, ?, ?
        FROM (
            SELECT * FROM sync_outbox WHERE {sent}
            QUALIFY row_number() OVER (PARTITION BY record_key ORDER BY change_id DESC) = 1)
        WHERE operation <> 'delete'
        """,
        [now, sync_id, *ids],
    )


def _dead_letter(
    connection: duckdb.DuckDBPyConnection, sync_id: int, outcome: Outcome, now: datetime
) -> None:
    connection.execute(
        """
        UPDATE sync_outbox SET status = 'dead', attempts = attempts + 1, error = ?
        WHERE change_id = ?
        """,
        [truncate(outcome.error), outcome.change_id],
    )
    connection.execute(
        """
        INSERT INTO sync_dead_letters
        SELECT change_id, ?, destination, record_key, entity_id, operation, ?, ?, ?, ?, NULL
        FROM sync_outbox WHERE change_id = ?
        """,
        [
            sync_id,
            outcome.status_code,
            truncate(outcome.response_body),
            truncate(outcome.error) or "rejected",
            now,
            outcome.change_id,
        ],
    )


def replay_dead(
    connection: duckdb.DuckDBPyConnection, destination: str, sync_id: int, now: datetime
) -> int:
    """Queue every dead-lettered change of ``destination`` again; return how many.

    Each replay is a new pending outbox row with its own idempotency key,
    and its dead letter gets ``replayed_at``. A record with a newer change
    already pending is not replayed, because the newer change carries the
    current values.
    """
    rows = connection.execute(
        """
        SELECT d.change_id, o.idempotency_key,
               (SELECT count(*) FROM sync_dead_letters x
                WHERE x.destination = d.destination AND x.record_key = d.record_key
                  AND x.replayed_at IS NOT NULL) AS replays
        FROM sync_dead_letters d JOIN sync_outbox o USING (change_id)
        WHERE d.destination = ? AND d.replayed_at IS NULL
          AND d.record_key NOT IN (
              SELECT record_key FROM sync_outbox WHERE destination = ? AND status = 'pending')
        ORDER BY d.change_id
        """,
        [destination, destination],
    ).fetchall()
    for change_id, key, replays in rows:
        connection.execute(
            """
            INSERT INTO sync_outbox
            SELECT (SELECT max(change_id) FROM sync_outbox) + 1, ?, destination, record_key,
                   entity_id, operation, record, fields, payload_hash, fixes, ?, 'pending', 0, ?,
                   NULL, NULL
            FROM sync_outbox WHERE change_id = ?
            """,
            [sync_id, replay_key(key, replays + 1), now, change_id],
        )
        connection.execute(
            "UPDATE sync_dead_letters SET replayed_at = ? WHERE change_id = ?", [now, change_id]
        )
    return len(rows)
