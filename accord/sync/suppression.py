"""Suppression lists: entities that a tool must not contact, such as onboarding mail."""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

SUPPRESSION_COLUMNS = ("list_name", "entity_id", "email", "reason", "added_at")


@dataclass(frozen=True)
class SuppressionEntry:
    """One entity on one suppression list."""

    list_name: str
    entity_id: str
    email: str | None
    reason: str | None
    added_at: datetime


def add_to_list(
    connection: duckdb.DuckDBPyConnection,
    list_name: str,
    entity_ids: Collection[str],
    reason: str | None,
    now: datetime,
) -> list[str]:
    """Add entities to a list with their golden email; return the IDs that were not on it yet."""
    table = pa.table({"entity_id": pa.array(sorted(set(entity_ids)), pa.string())})
    connection.register("accord_suppress", table)
    try:
        added = connection.execute(
            """
            SELECT a.entity_id FROM accord_suppress a
            WHERE a.entity_id NOT IN (
                SELECT entity_id FROM suppression_list WHERE list_name = ?)
            ORDER BY a.entity_id
            """,
            [list_name],
        ).fetchall()
        connection.execute(
            """
            INSERT INTO suppression_list
            SELECT ?, a.entity_id, json_extract_string(g.value, '$'), ?, ?
            FROM accord_suppress a
            LEFT JOIN golden_values g ON g.entity_id = a.entity_id AND g.field = 'email'
            WHERE a.entity_id NOT IN (
                SELECT entity_id FROM suppression_list WHERE list_name = ?)
            """,
            [list_name, reason, now, list_name],
        )
    finally:
        connection.unregister("accord_suppress")
    return [row[0] for row in added]


def list_entries(
    connection: duckdb.DuckDBPyConnection, list_name: str | None = None
) -> list[SuppressionEntry]:
    """Return the entries of one list, or of every list, ordered by list and time added."""
    rows = connection.execute(
        f"""
        SELECT {", ".join(SUPPRESSION_COLUMNS)} FROM suppression_list
        WHERE ? IS NULL OR list_name = ?
        ORDER BY list_name, added_at, entity_id
        """,
        [list_name, list_name],
    ).fetchall()
    return [SuppressionEntry(*row) for row in rows]


def export_entries(
    connection: duckdb.DuckDBPyConnection, path: Path, list_name: str | None = None
) -> int:
    """Write the entries to a UTF-8 CSV file with a header; return how many were written."""
    entries = list_entries(connection, list_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SUPPRESSION_COLUMNS)
        for entry in entries:
            writer.writerow(
                [entry.list_name, entry.entity_id, entry.email, entry.reason, entry.added_at]
            )
    return len(entries)
