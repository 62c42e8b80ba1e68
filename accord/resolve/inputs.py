"""Build the resolution input: one row per live record with its comparison keys."""

from __future__ import annotations

import duckdb

from accord.resolve.comparisons import INPUT_COLUMNS

INPUT_TABLE = "accord_input"

_CASTS = {"email_is_role": "BOOLEAN"}
_EXPRESSIONS = {
    # City has no key column of its own; the folded display value serves.
    "city_key": "nullif(lower(trim(data->>'city')), '')",
}


def _column_sql(column: str) -> str:
    if column in _EXPRESSIONS:
        return f"{_EXPRESSIONS[column]} AS {column}"
    cast = _CASTS.get(column)
    if cast:
        return f"TRY_CAST(data->>'{column}' AS {cast}) AS {column}"
    return f"nullif(data->>'{column}', '') AS {column}"


def build_input(connection: duckdb.DuckDBPyConnection, sources: list[str], extra: list[str]) -> int:
    """Create temp table ``accord_input`` from the live records of ``sources``.

    ``extra`` names more standardized fields to carry (the fields of the
    deterministic rules). Returns the number of records.
    """
    columns = list(INPUT_COLUMNS) + [name for name in extra if name not in INPUT_COLUMNS]
    selects = ", ".join(_column_sql(column) for column in columns)
    placeholders = ", ".join("?" for _ in sources) or "NULL"
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {INPUT_TABLE} AS
        SELECT source || ':' || source_key AS record_id, source, source_key, {selects}
        FROM source_records
        WHERE deleted_at IS NULL AND source IN ({placeholders})
        ORDER BY record_id
        """,
        sources,
    )
    row = connection.execute(f"SELECT count(*) FROM {INPUT_TABLE}").fetchone()
    return int(row[0]) if row else 0


def split_record_id(record_id: str) -> tuple[str, str]:
    """Return (source, source_key) of a record ID; source names never contain ':'."""
    source, _, key = record_id.partition(":")
    return source, key


def fetch_records(
    connection: duckdb.DuckDBPyConnection, record_ids: list[str]
) -> dict[str, dict[str, object]]:
    """Return the comparison columns of the given records, live or deleted."""
    selects = ", ".join(_column_sql(column) for column in INPUT_COLUMNS)
    out: dict[str, dict[str, object]] = {}
    for record_id in record_ids:
        source, key = split_record_id(record_id)
        cursor = connection.execute(
            f"SELECT {selects} FROM source_records WHERE source = ? AND source_key = ?",
            [source, key],
        )
        row = cursor.fetchone()
        if row is not None:
            names = [column[0] for column in cursor.description or []]
            out[record_id] = dict(zip(names, row, strict=True))
    return out


def term_frequency(
    connection: duckdb.DuckDBPyConnection, column: str, value: object
) -> float | None:
    """Return the share of live records whose ``column`` equals ``value``."""
    if value is None:
        return None
    row = connection.execute(
        f"""SELECT count(*) FILTER (WHERE data->>'{column}' = ?) / greatest(count(*), 1)
            FROM source_records WHERE deleted_at IS NULL""",
        [str(value)],
    ).fetchone()
    return float(row[0]) if row and row[0] else None
