"""Run the SQL of a source's field mappings over one batch in DuckDB.

All fields run as one query. When that query fails, each field runs alone,
and a field whose expression fails on some rows runs again on halves of the
batch until each failing row is found. Those rows get a null and an error
message, so one bad value does not fail the whole batch. An expression that
fails with no rows at all (unknown function, unknown column, wrong types)
raises :class:`FieldQueryError`, because it would fail on every row.

Typed results become the plain values that readers return (see
:mod:`accord.sources.values`).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from accord.sources.values import OutOfRange, column_array, normalize_column
from accord.store.duckdb_store import scratch

# DuckDB types whose Arrow export loses or wraps values (DuckDB 2.0): HUGEINT
# and UHUGEINT become decimal128(38, 0), so values with 39 digits wrap, and
# BIGNUM becomes an opaque binary. They are exported as decimal text instead.
_TEXT_INTEGER_TYPES = {"hugeint", "uhugeint", "bignum", "varint"}
# BIT becomes binary in Arrow, and TIME WITH TIME ZONE a time without its
# offset. Both are exported as DuckDB's text: a bit string such as '0101',
# and '03:04:05+02', which becomes ISO 8601 '03:04:05+02:00'.
_BIT = "bit"
_TIMETZ = "time with time zone"
_TEXT_TYPES = {_BIT, _TIMETZ, *_TEXT_INTEGER_TYPES}
_TIMETZ_TEXT = re.compile(
    r"(?P<clock>[\d:.]+)(?P<sign>[+-])(?P<hours>\d{2})"
    r"(?::(?P<minutes>\d{2}))?(?::(?P<seconds>\d{2}))?"
)


class FieldQueryError(Exception):
    """The SQL of one field fails without any row, so it is invalid for every row."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"field '{field}': {message}")


@dataclass
class FieldResults:
    """Plain columns of a batch, with the values that could not be computed.

    ``failures`` maps a field to the rows whose evaluation failed, with
    DuckDB's message. Those rows are null in ``table``.
    """

    table: pa.Table
    out_of_range: dict[str, OutOfRange] = field(default_factory=dict)
    failures: dict[str, dict[int, str]] = field(default_factory=dict)


def quote_identifier(name: str) -> str:
    """Quote a column name for DuckDB SQL."""
    return '"' + name.replace('"', '""') + '"'


def run_field_query(rows: pa.Table, selects: dict[str, str]) -> FieldResults:
    """Compute each field of ``selects`` (field name to SQL expression) over ``rows``.

    Raises:
        FieldQueryError: When the SQL of a field fails without any row.
        duckdb.OutOfMemoryException: When DuckDB runs out of memory.
    """
    try:
        table, type_ids = _run(rows, list(selects.items()))
    except duckdb.OutOfMemoryException:
        raise
    except duckdb.Error:
        table, type_ids, failures = _run_by_field(rows, selects)
    else:
        failures = {}
    out_of_range: dict[str, OutOfRange] = {}
    plain = _plain_fields(table, type_ids, out_of_range)
    return FieldResults(plain, out_of_range, failures)


class RowCountError(duckdb.Error):
    """The query returned another number of rows or columns than it should."""


def _run(rows: pa.Table, items: Sequence[tuple[str, str]]) -> tuple[pa.Table, list[str]]:
    """Run one query over ``rows`` and return its Arrow result and DuckDB type ids.

    Raises:
        RowCountError: When an expression returns more or fewer rows than
            ``rows``, as set-returning functions and aggregates do, or
            several columns, as a bare star expression does.
    """
    select = ", ".join(f"{sql} AS {quote_identifier(name)}" for name, sql in items)
    # Each row carries its position, unless a star expression would read that column too.
    numbered = all(column_references(sql) is not None for _, sql in items)
    position = unused_name("accord_position", rows.column_names)
    if numbered:
        rows = rows.append_column(position, pa.array(range(rows.num_rows), pa.int64()))
        select += f", {position}"
    with scratch("batch", rows) as connection:
        relation = connection.sql(f"SELECT {select} FROM batch")
        if len(relation.columns) != len(items) + numbered:
            raise RowCountError(
                f"it gave {len(relation.columns)} columns for {len(items)} fields. An "
                "expression gives one value, so pass the columns of a star expression as "
                "arguments with *COLUMNS(...), as in concat_ws(' ', *COLUMNS(*))"
            )
        type_ids = [str(kind.id) for kind in relation.types][: len(items)]
        exports = [
            _export_sql(name, type_id)
            for name, type_id in zip(relation.columns, type_ids, strict=False)
        ]
        if numbered:
            exports.append(position)
        table = relation.select(", ".join(exports)).to_arrow_table()
    if not numbered:
        positions = np.arange(table.num_rows)
    else:
        positions = table.column(position).to_numpy()
        table = table.drop_columns([position])
    if table.num_rows != rows.num_rows or len(np.unique(positions)) != rows.num_rows:
        raise RowCountError(
            f"it returned {table.num_rows} rows for {rows.num_rows} records. An expression "
            "gives one value per record, so set-returning functions such as unnest and "
            "aggregates such as count or max cannot be used; use list functions such as "
            "list_transform or list_aggregate instead"
        )
    # DuckDB may return the rows in another order; each value goes back to its record.
    return table.take(np.argsort(positions)), type_ids


def unused_name(base: str, columns: Sequence[str]) -> str:
    """Return ``base`` with leading underscores until no column has it, compared without case.

    DuckDB binds names without regard to case, and a column name before a
    table alias, so a helper column or alias must differ from every column.
    """
    taken = {name.lower() for name in columns}
    name = base
    while name in taken:
        name = "_" + name
    return name


def _run_by_field(
    rows: pa.Table, selects: dict[str, str]
) -> tuple[pa.Table, list[str], dict[str, dict[int, str]]]:
    columns: list[pa.ChunkedArray] = []
    type_ids: list[str] = []
    failures: dict[str, dict[int, str]] = {}
    for name, sql in selects.items():
        item = (name, sql)
        try:
            table, ids = _run(rows, [item])
        except duckdb.OutOfMemoryException:
            raise
        except RowCountError as exc:
            raise FieldQueryError(name, str(exc)) from exc
        except duckdb.Error:
            try:
                empty, ids = _run(rows.slice(0, 0), [item])
            except duckdb.OutOfMemoryException:
                raise
            except duckdb.Error as exc:
                raise FieldQueryError(name, _first_line(exc)) from exc
            errors: dict[int, str] = {}
            try:
                chunks = _isolate(rows, item, 0, rows.num_rows, empty.schema.field(0).type, errors)
            except RowCountError as exc:
                raise FieldQueryError(name, str(exc)) from exc
            table = pa.table({name: pa.chunked_array(chunks, type=empty.schema.field(0).type)})
            failures[name] = errors
        columns.append(table.column(0))
        type_ids.append(ids[0])
    return pa.Table.from_arrays(columns, names=list(selects)), type_ids, failures


def _isolate(
    rows: pa.Table,
    item: tuple[str, str],
    start: int,
    stop: int,
    arrow_type: pa.DataType,
    errors: dict[int, str],
) -> list[pa.Array]:
    """Return the chunks of one field over rows ``start`` to ``stop``, with nulls where it fails.

    NOTE: a batch where most rows fail takes about two queries per failing row.
    """
    try:
        table, _ = _run(rows.slice(start, stop - start), [item])
    except (duckdb.OutOfMemoryException, RowCountError):
        raise
    except duckdb.Error as exc:
        if stop - start == 1:
            errors[start] = _first_line(exc)
            return [pa.nulls(1, type=arrow_type)]
        middle = (start + stop) // 2
        return _isolate(rows, item, start, middle, arrow_type, errors) + _isolate(
            rows, item, middle, stop, arrow_type, errors
        )
    return list(table.column(0).chunks)


def _first_line(exc: BaseException) -> str:
    """Return the first line of a DuckDB message, without its closing '!' or '.'."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0].rstrip("!.") if lines else type(exc).__name__


def _export_sql(name: str, type_id: str) -> str:
    """Return the select item that exports one mapped column to Arrow without loss."""
    column = quote_identifier(name)
    if type_id in _TEXT_TYPES:
        return f"CAST({column} AS VARCHAR) AS {column}"
    return column


def _plain_column(
    column: pa.ChunkedArray, type_id: str, out_of_range: OutOfRange
) -> pa.ChunkedArray:
    """Convert one exported column to the readers' plain types."""
    if type_id in _TEXT_INTEGER_TYPES:
        integers = [None if text is None else int(text) for text in column.to_pylist()]
        return normalize_column(pa.chunked_array([column_array(integers)]))
    if type_id == _TIMETZ:
        texts = [None if text is None else timetz_text(text) for text in column.to_pylist()]
        return pa.chunked_array([pa.array(texts, type=pa.string())])
    if pa.types.is_nested(column.type):
        return column
    return normalize_column(column, out_of_range)


def timetz_text(text: str) -> str:
    """Return DuckDB's text of a TIME WITH TIME ZONE in ISO 8601 form, with a full offset.

    '03:04:05+02' gives '03:04:05+02:00'. Seconds of the offset are kept
    ('00:00:00+15:59:59'), although ISO 8601 offsets have none.
    """
    match = _TIMETZ_TEXT.fullmatch(text)
    if match is None:
        return text
    offset = f"{match['sign']}{match['hours']}:{match['minutes'] or '00'}"
    if match["seconds"] and match["seconds"] != "00":
        offset += f":{match['seconds']}"
    return match["clock"] + offset


def _plain_fields(
    table: pa.Table, type_ids: list[str], out_of_range: dict[str, OutOfRange]
) -> pa.Table:
    """Convert typed expression results (dates, decimals, UUIDs) to the readers' plain types.

    Integers of any size stay exact: those outside the 64-bit range become
    their decimal text, as in the readers. Dates and times that Python
    cannot represent become text and are added to ``out_of_range`` by field.
    """
    columns = []
    for name, column, type_id in zip(table.column_names, table.columns, type_ids, strict=True):
        found: OutOfRange = {}
        columns.append(_plain_column(column, type_id, found))
        if found:
            out_of_range[name] = found
    return pa.Table.from_arrays(columns, names=table.column_names)


def parse_expression(expression: str) -> dict[str, Any]:
    """Return DuckDB's syntax tree of ``SELECT (expression)``, with ``error`` set when invalid.

    The line break ends a trailing -- comment, as in the query that runs the mapping.
    """
    return parse_sql(f"SELECT ({expression}\n)")


@functools.lru_cache(maxsize=1024)
def parse_sql(sql: str) -> dict[str, Any]:
    """Return DuckDB's ``json_serialize_sql`` tree of ``sql``; callers must not change it."""
    connection = duckdb.connect()
    try:
        row = connection.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    finally:
        connection.close()
    return dict(json.loads(row[0])) if row else {"error": True}


def _parse(expression: str) -> dict[str, Any] | None:
    """Return the syntax tree of ``expression``, or None when it does not parse."""
    parsed = parse_expression(expression)
    return None if parsed.get("error") else parsed


def structure_problem(expression: str) -> str | None:
    """Return why ``expression`` cannot give one value per record from that record alone.

    Window functions and subqueries read other records of the batch, so
    their values would depend on how a read is split. An expression that
    is only a comment, or ends in a comma, gives a struct. Returns None when
    the expression does not parse, which the syntax check reports.
    """
    parsed = _parse(expression)
    if parsed is None:
        return None
    classes = _node_classes(parsed)
    if "WINDOW" in classes:
        return "window functions such as row_number() OVER (...) read other records"
    if "SUBQUERY" in classes:
        return "subqueries read other records or tables"
    select_list = parsed["statements"][0]["node"].get("select_list", [])
    rows = [item for item in select_list if _is_row(item)]
    if any(not row.get("arguments") for row in rows):
        return "it is empty"
    if rows:
        return "it gives a struct, as a trailing comma or row(...) does; a field takes one value"
    return None


def _node_classes(node: object) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_node_classes(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found = {str(node["class"])} if "class" in node else set()
    return found.union(*(_node_classes(value) for value in node.values()))


def _is_row(node: object) -> bool:
    return (
        isinstance(node, dict)
        and node.get("class") == "FUNCTION"
        and node.get("function_name") == "row"
    )


def column_references(expression: str) -> tuple[tuple[str, ...], ...] | None:
    """Return the column references of ``expression`` as name parts, from DuckDB's parser.

    A dotted reference (``b.email``) has several parts, and a lambda
    parameter counts as a reference too. Returns None when the expression
    does not parse or uses a star expression such as ``COLUMNS('e.*')``,
    because then the columns it reads are not known without the data.
    """
    parsed = _parse(expression)
    if parsed is None:
        return None
    references: list[tuple[str, ...]] = []
    if not _collect_column_refs(parsed, references):
        return None
    return tuple(references)


def referenced_names(expression: str) -> frozenset[str] | None:
    """Return the lower-case names that ``expression`` reads as columns, or None if unknown.

    Every part of a dotted reference is included.
    """
    references = column_references(expression)
    if references is None:
        return None
    return frozenset(part.lower() for reference in references for part in reference)


def expression_columns(expression: str) -> list[str]:
    """Return the undotted column names that ``expression`` reads, as written.

    Returns an empty list when the columns are not known (see :func:`column_references`).
    """
    references = column_references(expression) or ()
    return list(dict.fromkeys(reference[0] for reference in references if len(reference) == 1))


def _collect_column_refs(node: object, references: list[tuple[str, ...]]) -> bool:
    """Add the column references under ``node``; return False on a star expression."""
    if isinstance(node, list):
        return all(_collect_column_refs(item, references) for item in node)
    if not isinstance(node, dict):
        return True
    if node.get("class") == "STAR":
        return False
    if node.get("class") == "COLUMN_REF":
        references.append(tuple(str(part) for part in node.get("column_names", [])))
    return all(_collect_column_refs(value, references) for value in node.values())
