"""Manual match decisions and the review queue.

A decision on a pair of records is a must-link or cannot-link constraint
that every later run honours. The newest decision on a pair wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb

from accord.errors import NotFoundError
from accord.store.bulk import insert_rows

REVIEW_COLUMNS = (
    "record_a",
    "record_b",
    "match_probability",
    "match_weight",
    "status",
    "first_run_id",
    "last_run_id",
)

Decision = Literal["must_link", "cannot_link"]


@dataclass(frozen=True)
class ReviewPair:
    """A pair of records whose match probability lies between the thresholds."""

    record_a: str
    record_b: str
    match_probability: float
    match_weight: float | None
    status: str


def ordered(a: str, b: str) -> tuple[str, str]:
    """Return the pair with the smaller record ID first."""
    return (a, b) if a <= b else (b, a)


def current_decisions(connection: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], Decision]:
    """Return the newest decision for each decided pair."""
    rows = connection.execute(
        """
        SELECT record_a, record_b, decision FROM (
            SELECT *, row_number() OVER (
                PARTITION BY record_a, record_b ORDER BY decided_at DESC) AS rank
            FROM match_decisions) WHERE rank = 1
        """
    ).fetchall()
    return {(a, b): decision for a, b, decision in rows}


def record_exists(connection: duckdb.DuckDBPyConnection, record_id: str) -> bool:
    """Return whether a live source record has this ``source:key`` ID."""
    source, _, key = record_id.partition(":")
    row = connection.execute(
        "SELECT count(*) FROM source_records WHERE source = ? AND source_key = ?", [source, key]
    ).fetchone()
    return bool(row and row[0])


def decide(
    connection: duckdb.DuckDBPyConnection,
    record_a: str,
    record_b: str,
    decision: Decision,
    decided_at: datetime,
    decided_by: str | None = None,
    note: str | None = None,
) -> None:
    """Record a must-link or cannot-link decision and close the pair's review entry."""
    for record in (record_a, record_b):
        if not record_exists(connection, record):
            raise NotFoundError(
                f"record '{record}' not found; use the source:key form shown by 'accord show'"
            )
    if record_a == record_b:
        raise NotFoundError("a decision needs two different records")
    a, b = ordered(record_a, record_b)
    connection.execute(
        "INSERT INTO match_decisions VALUES (?, ?, ?, ?, ?, ?)",
        [a, b, decision, decided_at, decided_by, note],
    )
    status = "accepted" if decision == "must_link" else "rejected"
    connection.execute(
        "UPDATE review_queue SET status = ? WHERE record_a = ? AND record_b = ?", [status, a, b]
    )


def open_reviews(connection: duckdb.DuckDBPyConnection, limit: int = 50) -> list[ReviewPair]:
    """Return open review pairs, most probable first."""
    rows = connection.execute(
        """SELECT record_a, record_b, match_probability, match_weight, status
           FROM review_queue WHERE status = 'open'
           ORDER BY match_probability DESC, record_a, record_b LIMIT ?""",
        [limit],
    ).fetchall()
    return [ReviewPair(*row) for row in rows]


def replace_review_queue(
    connection: duckdb.DuckDBPyConnection,
    pairs: list[tuple[str, str, float, Any]],
    run_id: int,
    scope: str = "TRUE",
) -> None:
    """Keep decided entries, and make the open entries that match ``scope`` exactly ``pairs``.

    ``scope`` is a SQL condition over ``record_a`` and ``record_b``; open
    entries outside it are kept.
    """
    connection.execute(f"DELETE FROM review_queue WHERE status = 'open' AND ({scope})")
    if not pairs:
        return
    first_seen = dict(
        ((a, b), run)
        for a, b, run in connection.execute(
            "SELECT record_a, record_b, first_run_id FROM review_queue"
        ).fetchall()
    )
    rows = [
        (a, b, float(probability), weight, "open", first_seen.get((a, b), run_id), run_id)
        for a, b, probability, weight in pairs
    ]
    insert_rows(connection, "review_queue", REVIEW_COLUMNS, rows)
