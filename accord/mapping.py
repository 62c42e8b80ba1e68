"""Map source rows onto the canonical model.

Column references, concatenation, splits, constants and SQL expressions run
as one DuckDB query over the batch (see :mod:`accord.field_query`). A row
on which an expression fails becomes a :class:`MappingIssue` under the rule
``expression``, and the other rows go through. Casts and enumeration maps then run in
Python once per distinct value, so that every failure carries a precise
reason. A failed cast or an unmapped enumeration value becomes a
:class:`MappingIssue`. The pipeline quarantines the record unless the field
mapping sets ``unmapped`` or ``on_cast_error`` to keep the value or null it.
A list, struct or map that an expression returns always becomes an issue,
because a canonical field takes a single value. Dates, timestamps, decimals
and other typed results become the plain values that readers return.

DuckDB binds column names without regard to case, so source columns whose
names differ only in case (``email`` and ``EMAIL``) are given positional
names for the query, and column mappings reach each by its exact name.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from accord.config.models import FieldMapping, SourceBase
from accord.errors import SourceError
from accord.field_query import (
    FieldQueryError,
    FieldResults,
    expression_columns,
    quote_identifier,
    referenced_names,
    run_field_query,
    structure_problem,
)
from accord.logs import get_logger
from accord.sources.values import INT64, OutOfRange, json_text
from accord.standardize.dates import (
    DateContext,
    DateKind,
    DateProblem,
    format_timestamp,
    parse_date,
    parse_timestamp,
)

logger = get_logger(__name__)

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_CURRENCY = re.compile(r"[\s$€£¥]")
_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


@dataclass(frozen=True)
class MappingIssue:
    """One field of one row that could not be mapped."""

    row: int
    field: str
    value: str
    reason: str
    rule: str  # "cast", "value_map", "value_type", "out_of_range" or "expression"


@dataclass
class MappedBatch:
    """Canonical columns for a batch, with the issues found while mapping."""

    columns: dict[str, list[Any]]
    issues: list[MappingIssue]


class CastError(ValueError):
    """A value that cannot be converted to the requested type."""


def _literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _as_text(column: str) -> str:
    return f"CAST({quote_identifier(column)} AS VARCHAR)"


def field_sql(mapping: FieldMapping, names: Mapping[str, str] | None = None) -> str:
    """Return the DuckDB SQL expression that computes one canonical field.

    ``names`` maps a source column to its name in the query where the two differ.
    """
    names = names or {}
    if mapping.from_ is not None:
        return quote_identifier(names.get(mapping.from_, mapping.from_))
    if mapping.concat is not None:
        parts = ", ".join(f"NULLIF(trim({_as_text(names.get(c, c))}), '')" for c in mapping.concat)
        return f"NULLIF(concat_ws({_literal(mapping.separator)}, {parts}), '')"
    if mapping.split is not None:
        spec = mapping.split
        index = spec.index + 1 if spec.index >= 0 else spec.index
        column = _as_text(names.get(spec.from_, spec.from_))
        parts = f"string_split(trim({column}), {_literal(spec.separator)})"
        return f"NULLIF(trim({parts}[{index}]), '')"
    if mapping.expr is not None:
        # The line break ends a trailing -- comment inside the parentheses.
        return f"({mapping.expr}\n)"
    return _literal(mapping.constant)


def check_columns(source: SourceBase, available: list[str]) -> None:
    """Raise when a mapping or the primary key names a column the source lacks."""
    present = set(available)
    needed: dict[str, str] = {column: "primary_key" for column in source.key_columns}
    if source.cursor:
        needed.setdefault(source.cursor, "cursor")
    if source.deleted_flag:
        needed.setdefault(source.deleted_flag, "deleted_flag")
    for target, mapping in source.fields.items():
        for column in mapping.source_columns():
            needed.setdefault(column, f"fields.{target}")
    missing = sorted(column for column in needed if column not in present)
    if missing:
        detail = ", ".join(f"'{column}' (used by {needed[column]})" for column in missing)
        raise SourceError(
            source.name,
            f"column not found: {detail}. The source has: "
            f"{', '.join(sorted(present)) or 'no columns'}. "
            "Fix the column names in the project file.",
        )


# In JSON documents and API responses a key that no record carries is simply
# absent, so a mapped field with no values reads as null there.
_SCHEMALESS_KINDS = {"json", "jsonl", "rest_api"}


def _add_absent_json_fields(source: SourceBase, rows: pa.Table) -> pa.Table:
    kind = getattr(source, "kind", None)
    if kind not in _SCHEMALESS_KINDS:
        return rows
    keys = set(source.key_columns) | {source.cursor} - {None}
    wanted = {c for mapping in source.fields.values() for c in mapping.source_columns()}
    if source.deleted_flag:
        wanted.add(source.deleted_flag)
    present = {name.lower() for name in rows.column_names}
    for mapping in source.fields.values():
        if mapping.expr is not None:
            # DuckDB binds a name in an expression to a column of any case.
            columns = expression_columns(mapping.expr)
            wanted.update(name for name in columns if name.lower() not in present)
    if rows.num_rows == 0:
        # A document without records has no columns, and no key to check.
        wanted.update(column for column in keys if column is not None)
        keys = set()
    absent = sorted(wanted - set(rows.column_names) - keys)
    if absent and rows.num_rows:
        logger.warning("source %s: no record has %s; reading them as null", source.name,
                       ", ".join(absent))
    for column in absent:
        rows = rows.append_column(column, pa.nulls(rows.num_rows, pa.string()))
    return rows


def case_clashes(columns: list[str]) -> dict[str, str]:
    """Return a positional query name for each column that differs from another only in case.

    The names start with ``__accord_column_``, with more leading underscores
    while any column starts with that prefix in any case, so a positional
    name never equals a column name.
    """
    counts = Counter(name.lower() for name in columns)
    prefix = "__accord_column_"
    while any(name.lower().startswith(prefix) for name in columns):
        prefix = "_" + prefix
    return {
        name: f"{prefix}{position}"
        for position, name in enumerate(columns)
        if counts[name.lower()] > 1
    }


def _check_expressions(source: SourceBase, clashes: Mapping[str, str]) -> None:
    """Raise when an expression may name a column that another differs from only in case."""
    for target, mapping in source.fields.items():
        if mapping.expr is None:
            continue
        named = sorted(name for name in clashes if _mentions(mapping.expr, name))
        if named:
            raise SourceError(
                source.name,
                f"the expression of '{target}' may use one of the columns "
                f"{', '.join(repr(name) for name in named)}, whose names differ only in case. "
                "SQL names ignore case, so the expression cannot tell them apart. Map these "
                "columns with 'from', 'concat' or 'split', or rename one of them in the source",
            )


def _check_structure(source: SourceBase) -> None:
    """Raise when an expression would read other records or is empty."""
    for target, mapping in source.fields.items():
        problem = None if mapping.expr is None else structure_problem(mapping.expr)
        if problem is not None:
            raise SourceError(
                source.name,
                f"the expression of '{target}' ({mapping.expr!r}) is invalid: {problem}. An "
                "expression gives one value per record from that record's columns",
            )


def _mentions(expression: str, name: str) -> bool:
    """Return whether ``expression`` may read the column ``name``, compared without case.

    DuckDB's parser lists the column references, so a string literal
    ('no email') or a type name (DATE) does not count. An expression that
    does not parse or uses a star expression is searched for ``name`` as a
    whole word instead.
    """
    names = referenced_names(expression)
    if names is None:
        return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", expression, re.IGNORECASE) is not None
    return name.lower() in names


def evaluate_fields(source: SourceBase, rows: pa.Table) -> FieldResults:
    """Run the column, concat, split, constant and expression mappings as one query.

    A row on which an expression fails gets a null and is listed in the
    result's ``failures``. Dates and times that Python cannot represent
    appear as text and are listed in ``out_of_range``.

    Returns:
        One column per field of ``source``: strings, 64-bit integers and
        floats, booleans, or the lists, structs and maps an expression gives.

    Raises:
        SourceError: When a column is missing, or an expression fails without
            any row (unknown function or column, wrong types).
    """
    if not source.fields:
        return FieldResults(pa.table({}))
    rows = _add_absent_json_fields(source, rows)
    check_columns(source, rows.column_names)
    clashes = case_clashes(rows.column_names)
    if clashes:
        _check_expressions(source, clashes)
        rows = rows.rename_columns([clashes.get(name, name) for name in rows.column_names])
    _check_structure(source)
    selects = {name: field_sql(mapping, clashes) for name, mapping in source.fields.items()}
    try:
        return run_field_query(rows, selects)
    except FieldQueryError as exc:
        mapping = source.fields[exc.field]
        raise SourceError(
            source.name,
            f"the mapping of '{exc.field}' ({_describe(mapping)}) failed to evaluate: "
            f"{exc.message}. Fix the mapping in the project file",
        ) from exc


def _describe(mapping: FieldMapping) -> str:
    if mapping.expr is not None:
        return f"expression {mapping.expr!r}"
    return "SQL " + repr(field_sql(mapping))


def map_batch(source: SourceBase, rows: pa.Table) -> MappedBatch:
    """Compute every canonical field of ``source`` for the rows of one read."""
    results = evaluate_fields(source, rows)
    table = results.table
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    issues: list[MappingIssue] = []
    for name, mapping in source.fields.items():
        values = columns[name]
        if name in results.failures:
            failures = results.failures[name]
            logger.warning(
                "source %s: the mapping of '%s' failed on %d rows, which are quarantined",
                source.name,
                name,
                len(failures),
            )
            _report_failures(rows, name, mapping, failures, issues)
        if name in results.out_of_range:
            values = _reject_out_of_range(values, name, results.out_of_range[name], issues)
        arrow_type = table.schema.field(name).type
        if pa.types.is_nested(arrow_type):
            values = _reject_nested(values, name, _nested_kind(arrow_type), issues)
        if mapping.cast is not None:
            convert = _caster(mapping.cast, name, source)
            values = _apply(values, name, convert, mapping.on_cast_error, "cast", issues)
        if mapping.values is not None:
            values = _apply_value_map(values, name, mapping, issues)
        columns[name] = _null_not_finite(values, name, source.name)
    return MappedBatch(columns=columns, issues=issues)


def _null_not_finite(values: list[Any], field: str, source: str) -> list[Any]:
    """Replace NaN and infinite floats with None, logging how many there were.

    A canonical field stores no NaN or infinity, and JSON has neither. A
    float or integer cast has already turned them into issues.
    """
    count = sum(1 for value in values if isinstance(value, float) and not math.isfinite(value))
    if not count:
        return values
    logger.warning(
        "source %s: %d NaN or infinite values of field '%s' stored as null", source, count, field
    )
    return [
        None if isinstance(value, float) and not math.isfinite(value) else value
        for value in values
    ]


def _nested_kind(arrow_type: pa.DataType) -> str:
    if pa.types.is_struct(arrow_type):
        return "a struct"
    if pa.types.is_map(arrow_type):
        return "a map"
    return "a list"


def _reject_nested(
    values: list[Any], field: str, kind: str, issues: list[MappingIssue]
) -> list[Any]:
    """Replace lists, structs and maps with None and add an issue for each.

    The readers turn source lists into JSON text, so only a mapping
    expression gives such values. Casts, value maps and the standardizers
    take one scalar value per field.
    """
    out: list[Any] = []
    for row, value in enumerate(values):
        if not isinstance(value, list | tuple | dict):
            out.append(value)
            continue
        text = json_text(value)
        reason = (
            f"the mapping of '{field}' gives {kind} ({text[:80]}), but a canonical field "
            "takes a single value. Change the mapping to return text or a number, for "
            "example with list_extract(), array_to_string() or a cast to VARCHAR"
        )
        issues.append(MappingIssue(row, field, text, reason, "value_type"))
        out.append(None)
    return out


def _report_failures(
    rows: pa.Table,
    field: str,
    mapping: FieldMapping,
    failures: dict[int, str],
    issues: list[MappingIssue],
) -> None:
    """Add an issue for each row on which the mapping of ``field`` failed."""
    read = _columns_read(mapping, rows.column_names)
    for row, message in sorted(failures.items()):
        inputs = {name: rows.column(name)[row].as_py() for name in read}
        value = json_text(inputs, compact=True)
        reason = (
            f"the mapping of '{field}' ({_describe(mapping)}) failed on this row: {message}. "
            "Correct the value at the source, or make the expression tolerate it, for "
            "example with TRY_CAST"
        )
        issues.append(MappingIssue(row, field, value, reason, "expression"))


def _columns_read(mapping: FieldMapping, columns: list[str]) -> list[str]:
    """Return the source columns that a mapping reads, or may read through its expression."""
    if mapping.expr is None:
        return [column for column in mapping.source_columns() if column in columns]
    return [column for column in columns if _mentions(mapping.expr, column)]


def _reject_out_of_range(
    values: list[Any], field: str, texts: OutOfRange, issues: list[MappingIssue]
) -> list[Any]:
    """Replace dates and times that Python cannot represent with None and add an issue for each."""
    out = list(values)
    for row, text in sorted(texts.items()):
        reason = (
            f"the mapping of '{field}' gives '{text}', outside the dates and times that Accord "
            "stores (years 1 to 9999). Correct the source value, or change the expression to "
            "return null for it, for example with CASE WHEN isfinite(...)"
        )
        issues.append(MappingIssue(row, field, text, reason, "out_of_range"))
        out[row] = None
    return out


def _apply(
    values: list[Any],
    field: str,
    convert: Callable[[Any], Any],
    on_error: str,
    rule: str,
    issues: list[MappingIssue],
) -> list[Any]:
    cache: dict[Any, Any] = {}
    out: list[Any] = []
    for row, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        marker = (type(value), value)
        if marker not in cache:
            try:
                cache[marker] = (convert(value), None)
            except CastError as exc:
                cache[marker] = (None, str(exc))
        converted, error = cache[marker]
        if error is not None and on_error == "quarantine":
            issues.append(MappingIssue(row, field, _text(value), error, rule))
        out.append(converted)
    return out


def _apply_value_map(
    values: list[Any], field: str, mapping: FieldMapping, issues: list[MappingIssue]
) -> list[Any]:
    table = mapping.values or {}
    folded = {key.strip().casefold(): value for key, value in table.items()}
    out: list[Any] = []
    for row, value in enumerate(values):
        if value is None:
            out.append(None)
            continue
        text = _text(value)
        if text in table:
            out.append(table[text])
        elif text.strip().casefold() in folded:
            out.append(folded[text.strip().casefold()])
        elif mapping.unmapped == "pass":
            out.append(value)
        elif mapping.unmapped == "null":
            out.append(None)
        else:
            reason = (
                f"value '{text[:80]}' is not in the value map of '{field}'; add it under "
                "'values' or set 'unmapped: pass'"
            )
            issues.append(MappingIssue(row, field, text, reason, "value_map"))
            out.append(None)
    return out


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def cast_integer(value: Any) -> int:
    """Convert to a 64-bit integer; "12", "12.0" and "1,200" convert, "12.5" does not."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        number = value
    else:
        try:
            parsed = cast_float(value)
        except CastError:
            raise CastError(f"cannot cast '{str(value)[:80]}' to integer") from None
        if not parsed.is_integer():
            raise CastError(f"cannot cast '{value}' to integer: it has a fraction")
        number = int(parsed)
    if number not in INT64:
        raise CastError(f"cannot cast '{str(value)[:80]}' to integer: outside the 64-bit range")
    return number


def cast_float(value: Any) -> float:
    """Convert to a float, accepting currency signs and comma thousands separators."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = _CURRENCY.sub("", str(value))
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            number = float(text)
        except ValueError:
            raise CastError(f"cannot cast '{str(value)[:80]}' to float") from None
    if math.isnan(number) or math.isinf(number):
        raise CastError(f"cannot cast '{value}' to float: not a finite number")
    return number


def cast_boolean(value: Any) -> bool:
    """Convert true/false, yes/no, y/n, on/off and 1/0 in any case to a boolean."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CastError(
        f"cannot cast '{str(value)[:80]}' to boolean: expected true/false, yes/no or 1/0"
    )


def cast_string(value: Any) -> str:
    """Convert any value to its text form; integral floats lose their '.0'."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def cast_date(value: Any, context: DateContext) -> str:
    """Convert a date in any form the date standardizer reads to ISO 8601 "YYYY-MM-DD"."""
    try:
        return parse_date(value, context).isoformat()
    except (DateProblem, OverflowError, ValueError) as problem:
        raise CastError(f"cannot cast '{str(value)[:80]}' to date: {problem}") from None


def cast_timestamp(value: Any, context: DateContext) -> str:
    """Convert a timestamp to ISO 8601, converting one with a time zone to UTC."""
    try:
        return format_timestamp(parse_timestamp(value, context))
    except (DateProblem, OverflowError, ValueError) as problem:
        raise CastError(f"cannot cast '{str(value)[:80]}' to timestamp: {problem}") from None


def _caster(cast: str, field: str, source: SourceBase) -> Callable[[Any], Any]:
    """Return the conversion of one field's ``cast``.

    Dates are read with the source's ``date_order``, and ``birth_date``
    reads two-digit years as the date standardizer does for it.
    """
    if cast not in ("date", "timestamp"):
        return _CASTERS[cast]
    kind: DateKind | None = "birth" if field == "birth_date" else None
    context = DateContext(source.date_order, kind, dt.date.today())
    if cast == "date":
        return lambda value: cast_date(value, context)
    return lambda value: cast_timestamp(value, context)


_CASTERS: dict[str, Callable[[Any], Any]] = {
    "integer": cast_integer,
    "float": cast_float,
    "boolean": cast_boolean,
    "string": cast_string,
}
