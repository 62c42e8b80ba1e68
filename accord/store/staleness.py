"""Stale rows: a row whose cursor value is older than the stored record's.

A source's cursor column (``cursor`` in the project file) grows when a row
changes, so a row that arrives with an older cursor value than the stored
version of its record is a late delivery. The stream worker and batch runs
both skip such rows, so that an older value never overwrites a newer one
whichever path stored it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import pyarrow as pa


def _as_number(value: Any) -> Decimal | None:
    """Return ``value`` as an exact decimal, so that 19-digit IDs next to each other differ."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(value) if isinstance(value, int | float) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _as_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def is_older(value: Any, reference: Any) -> bool:
    """Return whether cursor value ``value`` is older than ``reference``.

    Both compare as numbers when both are numbers, as timestamps when both
    parse as ISO 8601 (offsets are converted to UTC), and as text when
    neither parses. A value that parses is never older than one that does
    not, and one that does not is older than one that does, so a stored
    cursor such as "yesterday" cannot block later changes. A missing value is
    never older.
    """
    if value is None or reference is None or value == "" or reference == "":
        return False
    left, right = _as_number(value), _as_number(reference)
    if left is not None and right is not None:
        return left < right
    left_time, right_time = _as_time(value), _as_time(reference)
    if left_time is not None and right_time is not None:
        return left_time < right_time
    value_parses = left is not None or left_time is not None
    reference_parses = right is not None or right_time is not None
    if value_parses != reference_parses:
        return reference_parses
    return str(value) < str(reference)


def stale_keys(
    connection: duckdb.DuckDBPyConnection, source: str, cursor: str, staged: pa.Table
) -> list[str]:
    """Return the keys of ``staged`` rows whose cursor is older than the stored record's.

    ``staged`` has the columns ``source_key`` and ``raw`` (the row as JSON
    text), and the cursor is read from the raw row on both sides, as the
    stream worker reads it.
    """
    path = "$." + json.dumps(cursor)
    # Read through a replacement scan; see accord.store.records.write_records.
    accord_stale_staged = staged.select(["source_key", "raw"])
    rows = connection.execute(
        """
        SELECT s.source_key, s.raw->>? AS incoming, r.raw->>? AS stored
        FROM accord_stale_staged s
        JOIN source_records r ON r.source = ? AND r.source_key = s.source_key
        WHERE (s.raw->>?) IS DISTINCT FROM (r.raw->>?)
        """,
        [path, path, source, path, path],
    ).fetchall()
    del accord_stale_staged
    return sorted(key for key, incoming, stored in rows if is_older(incoming, stored))
