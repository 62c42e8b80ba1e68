"""Build the resolution input: one row per live record with its comparison keys."""

from __future__ import annotations

import functools
from typing import Any

import duckdb
import pyarrow as pa

from accord.resolve.comparisons import INPUT_COLUMNS
from accord.store.indexes import one_of

INPUT_TABLE = "accord_input"

CASTS = {"email_is_role": "BOOLEAN"}
_FIRST = "nullif({first_name_key}, '')"
_LAST = "nullif({last_name_key}, '')"
_EMAIL_LETTERS = "nullif(regexp_replace(split_part({email_key}, '@', 1), '[^a-z]', '', 'g'), '')"
# The birth date key is the ISO date, or the digits of a rejected date
# ("1949-00-13") that can still match a date one typo away. Records
# standardized before dates had keys carry only the date.
_BIRTH = "coalesce(nullif({birth_date_key}, ''), nullif({birth_date}, ''))"
# SQL templates over standardized fields; {name} stands for the field's text.
EXPRESSIONS = {
    # City has no key column of its own; the folded display value serves.
    "city_key": "nullif(lower(trim({city})), '')",
    # The email local part as written: jane.doe42. Pair scoring compares it
    # once per pair, so it is split here once per record.
    "email_user_key": "split_part(nullif({email_key}, ''), '@', 1)",
    # Letters of the email local part, to compare with names: jane.doe42 -> janedoe.
    "email_local_key": _EMAIL_LETTERS,
    # The same letters, only for records without a name: the blocking key that
    # pairs a login-email-only record with the records whose name it spells.
    "nameless_email_key": f"CASE WHEN {_FIRST} IS NULL AND {_LAST} IS NULL THEN "
    f"{_EMAIL_LETTERS} END",
    # Blocking key for pairs whose birth dates differ in the day or month.
    "birth_date": _BIRTH,
    "birth_year": f"left({_BIRTH}, 4)",
    "name_full_key": f"{_FIRST} || {_LAST}",
    "name_initial_key": f"left({_FIRST}, 1) || {_LAST}",
    "name_reversed_key": f"{_LAST} || {_FIRST}",
}


class _FieldSql(dict[str, str]):
    """SQL for each standardized field an expression reads, in first-use order.

    Without ``fields_column`` a field reads ``data->>'name'``, which parses
    the record's JSON once per field. With it, a field reads its element of
    a list column that ``json_extract_string`` filled in one parse.
    """

    def __init__(self, fields_column: str | None = None) -> None:
        super().__init__()
        self.fields_column = fields_column

    def __missing__(self, name: str) -> str:
        if self.fields_column is None:
            sql = f"(data->>'{name}')"
        else:
            sql = f"{self.fields_column}[{len(self) + 1}]"
        self[name] = sql
        return sql

    def json_paths(self) -> str:
        """Return the JSON paths of the fields read so far, as a DuckDB list literal."""
        return "[" + ", ".join(f"'$.\"{name}\"'" for name in self) + "]"


def _column_sql(column: str, fields: _FieldSql | None = None) -> str:
    fields = _FieldSql() if fields is None else fields
    if column in EXPRESSIONS:
        return f"{EXPRESSIONS[column].format_map(fields)} AS {column}"
    cast = CASTS.get(column)
    if cast:
        return f"TRY_CAST({fields[column]} AS {cast}) AS {column}"
    return f"nullif({fields[column]}, '') AS {column}"


def _input_query(
    sources: list[str], extra: list[str], scope: str = "", materialized: bool = False
) -> str:
    """Return the SELECT of the resolution input without the nickname sets.

    ``scope`` is an ``AND ...`` filter of ``source_records``. With
    ``materialized`` the records are chosen before any JSON is read.
    """
    columns = list(INPUT_COLUMNS) + [name for name in extra if name not in INPUT_COLUMNS]
    fields = _FieldSql("accord_fields")
    selects = ", ".join(_column_sql(column, fields) for column in columns)
    placeholders = ", ".join("?" for _ in sources) or "NULL"
    return f"""
        WITH chosen AS {"MATERIALIZED" if materialized else ""} (
            SELECT source, source_key, data FROM source_records
            WHERE deleted_at IS NULL AND source IN ({placeholders}) {scope})
        SELECT record_id, source, source_key, {selects}
        FROM (SELECT source || ':' || source_key AS record_id, source, source_key,
                     json_extract_string(data, {fields.json_paths()}) AS accord_fields
              FROM chosen)
        """


def build_input(
    connection: duckdb.DuckDBPyConnection,
    sources: list[str],
    extra: list[str],
    record_ids: list[str] | None = None,
) -> int:
    """Create temp table ``accord_input`` from the live records of ``sources``.

    ``extra`` names more standardized fields to carry (the fields of the
    deterministic rules); ``record_ids``, when given, limits the table to
    those records. Returns the number of records.
    """
    scope, params = record_filter(record_ids) if record_ids is not None else ("", [])
    # A scoped build chooses its records before it reads any JSON.
    query = _input_query(sources, extra, scope, materialized=record_ids is not None)
    # add_nickname_sets rewrites the table sorted by record_id.
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {INPUT_TABLE} AS {query}", [*sources, *params]
    )
    add_nickname_sets(connection)
    row = connection.execute(f"SELECT count(*) FROM {INPUT_TABLE}").fetchone()
    return int(row[0]) if row else 0


def input_rows(
    connection: duckdb.DuckDBPyConnection,
    sources: list[str],
    extra: list[str],
    record_ids: list[str],
) -> list[dict[str, Any]]:
    """Return the rows ``build_input`` makes for the live records among ``record_ids``.

    One statement reads the records, and the nickname sets are added in
    Python, so a few records cost one query instead of a temp table.
    """
    scope, params = record_filter(record_ids)
    query = _input_query(sources, extra, scope, materialized=True)
    cursor = connection.execute(query, [*sources, *params])
    names = [column[0] for column in cursor.description or []]
    rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:
        add_nickname_set(row)
    return rows


def add_nickname_set(row: dict[str, Any]) -> None:
    """Add ``first_name_nick_keys`` to one resolution input row, as ``add_nickname_sets`` does."""
    first = row.get("first_name_key")
    row["first_name_nick_keys"] = list(nickname_set(first)) if first is not None else None


@functools.lru_cache(maxsize=1)
def _nick_namer() -> object:
    from nicknames import NickNamer

    return NickNamer()


@functools.lru_cache(maxsize=200_000)
def nickname_set(folded_given_name: str) -> tuple[str, ...]:
    """Return a given name with the formal names it is a nickname of.

    Two given names are nickname-equivalent when one is in the other's set:
    samuel is in the set of sammy, and sam is too.
    """
    namer = _nick_namer()
    canonicals = namer.canonicals_of(folded_given_name)  # type: ignore[attr-defined]
    return tuple(sorted({folded_given_name, *canonicals}))


def add_nickname_sets(connection: duckdb.DuckDBPyConnection) -> None:
    """Add ``first_name_nick_keys``, the nickname set of each record's given name."""
    names = [
        row[0]
        for row in connection.execute(
            f"SELECT DISTINCT first_name_key FROM {INPUT_TABLE} WHERE first_name_key IS NOT NULL"
        ).fetchall()
    ]
    table = pa.table(
        {
            "first_name_key": pa.array(names, pa.string()),
            "nick_keys": pa.array(
                [list(nickname_set(name)) for name in names], pa.list_(pa.string())
            ),
        }
    )
    connection.complete()
    connection.register("accord_nickname_sets", table)
    try:
        connection.execute(
            f"""CREATE OR REPLACE TEMP TABLE {INPUT_TABLE} AS
                SELECT i.*, n.nick_keys AS first_name_nick_keys
                FROM {INPUT_TABLE} i LEFT JOIN accord_nickname_sets n USING (first_name_key)
                ORDER BY record_id"""
        )
    finally:
        connection.unregister("accord_nickname_sets")


def record_filter(record_ids: list[str]) -> tuple[str, list[object]]:
    """Return the ``AND ...`` filter of the ``source_records`` rows of ``record_ids``.

    Returns:
        The filter and its parameters. Its source_key condition lets DuckDB
        use the stream worker's index (see ``one_of``), and its condition on
        the whole record ID decides.
    """
    keys = sorted({split_record_id(record_id)[1] for record_id in record_ids})
    key_condition, key_params = one_of("source_key", keys)
    id_condition, id_params = one_of("source || ':' || source_key", sorted(set(record_ids)))
    return f"AND {key_condition} AND {id_condition}", [*key_params, *id_params]


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
    # fetch_records adds the nickname set in Python; see add_nickname_sets.
    for record_id in record_ids:
        source, key = split_record_id(record_id)
        cursor = connection.execute(
            f"SELECT {selects} FROM source_records WHERE source = ? AND source_key = ?",
            [source, key],
        )
        row = cursor.fetchone()
        if row is not None:
            names = [column[0] for column in cursor.description or []]
            record = dict(zip(names, row, strict=True))
            first = record.get("first_name_key")
            record["first_name_nick_keys"] = list(nickname_set(str(first))) if first else None
            out[record_id] = record
    return out


def term_frequency(
    connection: duckdb.DuckDBPyConnection,
    column: str,
    value: object,
    sources: list[str] | None = None,
) -> float | None:
    """Return the share of the non-null ``column`` values of live records equal to ``value``.

    Over the person sources this is the term frequency Splink computes on the
    resolution input, so explanations show the weights the batch run used.
    """
    if value is None:
        return None
    expression = _column_sql(column).rsplit(" AS ", 1)[0]
    params: list[object] = [str(value)]
    scope = ""
    if sources is not None:
        scope = f" AND source IN ({', '.join('?' for _ in sources) or 'NULL'})"
        params.extend(sources)
    row = connection.execute(
        f"""SELECT count(*) FILTER (WHERE CAST({expression} AS VARCHAR) = ?)
                   / greatest(count({expression}), 1)
            FROM source_records WHERE deleted_at IS NULL{scope}""",
        params,
    ).fetchone()
    return float(row[0]) if row and row[0] else None
