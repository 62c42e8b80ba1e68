"""Steps that every reader applies to the rows it parsed.

The steps check that the key and cursor columns exist, set aside rows
whose primary key is missing, empty or repeated, list the keys present,
and select the rows changed after the last cursor.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from accord.config.models import SourceBase
from accord.errors import SourceError
from accord.logs import get_logger
from accord.sources.base import (
    KEY_SEPARATOR,
    ReadIssue,
    ReadResult,
    TypedGroup,
    ValueIssue,
    is_missing_key_value,
    make_source_key,
)
from accord.sources.cursor import select_after
from accord.sources.values import (
    OutOfRange,
    Plain,
    column_array,
    json_text,
    table_from_columns,
    type_groups,
)
from accord.store.staleness import is_older

logger = get_logger(__name__)

MAX_RAW_CHARS = 2000

Locator = Callable[[Sequence[int]], Sequence[tuple[str, str | None]]]
"""Return the location text and raw text of the given row indices."""


def clip_raw(raw: str | None) -> str | None:
    """Shorten raw text kept in a ReadIssue to MAX_RAW_CHARS characters."""
    if raw is None or len(raw) <= MAX_RAW_CHARS:
        return raw
    return raw[:MAX_RAW_CHARS] + "…"


def table_row_locator(table: pa.Table) -> Locator:
    """Return a Locator that names rows "row N" and shows them as JSON objects."""

    def locate(rows: Sequence[int]) -> list[tuple[str, str | None]]:
        located: list[tuple[str, str | None]] = []
        for row in rows:
            values = table.slice(row, 1).to_pylist()[0]
            located.append((f"row {row + 1}", json_text(values)))
        return located

    return locate


def require_columns(columns: Sequence[str], source: SourceBase, origin: str) -> None:
    """Raise SourceError when a primary key or cursor column is not among ``columns``.

    Args:
        columns: The column names the source has.
        source: The source configuration.
        origin: The file, table or URL read, named in the message.
    """
    wanted = [("primary key", name) for name in source.key_columns]
    if source.cursor is not None:
        wanted.append(("cursor", source.cursor))
    for role, name in wanted:
        if name not in columns:
            raise SourceError(source.name, _missing_column_message(role, name, columns, origin))


def _missing_column_message(role: str, name: str, columns: Sequence[str], origin: str) -> str:
    setting = "primary_key" if role == "primary key" else "cursor"
    existing = ", ".join(f"'{column}'" for column in columns) or "none"
    message = f"{role} column '{name}' not found in {origin}. Columns found: {existing}."
    close = _closest_column(name, columns)
    if close is not None:
        message += f" Did you mean '{close}'?"
    return message + f" Set '{setting}' to an existing column or add the column to the source."


def _closest_column(name: str, columns: Sequence[str]) -> str | None:
    by_lower = {column.lower(): column for column in columns}
    if name.lower() in by_lower:
        return by_lower[name.lower()]
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[close[0]] if close else None


def row_keys(table: pa.Table, key_columns: Sequence[str]) -> list[str | None]:
    """Return the key of each row, or None where a key value is missing or empty.

    The keys equal :func:`make_source_key` of the row's key values.
    """
    texts = [_key_texts(table.column(name)) for name in key_columns]
    if all(text is not None for text in texts):
        return _join_key_texts([text for text in texts if text is not None]).to_pylist()
    columns = [table.column(name).to_pylist() for name in key_columns]
    if len(columns) == 1:
        return [None if is_missing_key_value(v) else make_source_key((v,)) for v in columns[0]]
    keys: list[str | None] = []
    for values in zip(*columns, strict=True):
        if any(is_missing_key_value(v) for v in values):
            keys.append(None)
        else:
            keys.append(make_source_key(values))
    return keys


def _key_texts(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """Return the key text of each value with Arrow, or None for types Arrow formats otherwise.

    Arrow writes strings, int64 and booleans as :func:`value_text` does, but
    not floats (``1e+16``), so floats take the Python path.
    """
    kind = column.type
    if pa.types.is_string(kind):
        text = column
    elif kind == pa.int64() or pa.types.is_boolean(kind):
        text = column.cast(pa.string())
    else:
        return None
    blank = pc.equal(pc.utf8_trim_whitespace(text), "")
    return pc.if_else(blank, pa.scalar(None, pa.string()), text)


def _join_key_texts(texts: Sequence[pa.ChunkedArray]) -> pa.ChunkedArray:
    if len(texts) == 1:
        return texts[0]
    escaped = [
        pc.replace_substring(pc.replace_substring(text, "\\", "\\\\"), KEY_SEPARATOR, "\\|")
        for text in texts
    ]
    return pc.binary_join_element_wise(*escaped, KEY_SEPARATOR)


@dataclass
class KeyCheck:
    """Outcome of checking the primary key of every row."""

    keep: list[bool]
    present: set[str]
    issues: list[ReadIssue]


def check_keys(
    keys: Sequence[str | None],
    key_columns: Sequence[str],
    locate: Locator,
    cursor_column: pa.ChunkedArray | None = None,
) -> KeyCheck:
    """Set aside rows with a missing key and all but one row of each repeated key.

    Of the rows that share a key, the one with the newest value in
    ``cursor_column`` is kept (the first of them on a tie), or the first row when the source
    has no cursor. The other rows become issues that name where the kept
    row is.
    """
    present = {key for key in keys if key is not None}
    if len(present) == len(keys):
        return KeyCheck(keep=[True] * len(keys), present=present, issues=[])
    cursors = None if cursor_column is None else cursor_column.to_pylist()
    kept_row: dict[str, int] = {}
    missing: list[int] = []
    repeated: list[int] = []
    for index, key in enumerate(keys):
        if key is None:
            missing.append(index)
            continue
        earlier = kept_row.get(key)
        if earlier is None:
            kept_row[key] = index
        elif cursors is not None and is_older(cursors[earlier], cursors[index]):
            repeated.append(earlier)
            kept_row[key] = index
        else:
            repeated.append(index)
    repeated.sort()
    keep = [True] * len(keys)
    for index in missing + repeated:
        keep[index] = False
    issues = _key_issues(keys, key_columns, locate, missing, repeated, kept_row, cursors)
    return KeyCheck(keep=keep, present=set(kept_row), issues=issues)


def _key_issues(
    keys: Sequence[str | None],
    key_columns: Sequence[str],
    locate: Locator,
    missing: list[int],
    repeated: list[int],
    kept_row: dict[str, int],
    cursors: Sequence[Any] | None,
) -> list[ReadIssue]:
    if not missing and not repeated:
        return []
    kept_rows = sorted({kept_row[keys[index] or ""] for index in repeated})
    wanted = sorted(set(missing) | set(repeated) | set(kept_rows))
    places = dict(zip(wanted, locate(wanted), strict=True))
    columns = ", ".join(f"'{name}'" for name in key_columns)
    noun = "column" if len(key_columns) == 1 else "columns"
    issues: list[ReadIssue] = []
    for index in missing:
        location, raw = places[index]
        message = (
            f"primary key {noun} {columns} is missing or empty, so the row is skipped. "
            "Fill in the key at the source."
        )
        issues.append(ReadIssue(location, message, clip_raw(raw)))
    for index in repeated:
        location, raw = places[index]
        kept_index = kept_row[keys[index] or ""]
        kept_location = places[kept_index][0]
        if cursors is None:
            reason = f"first seen at {kept_location}, so only the first row is kept"
        else:
            reason = (
                f"also at {kept_location}, which is kept because its cursor value is "
                "newer, or as the first row on a tie"
            )
        message = f"duplicate primary key, {reason}. Make the key unique at the source."
        issues.append(ReadIssue(location, message, clip_raw(raw)))
    return issues


def finish_read(
    table: pa.Table,
    source: SourceBase,
    since: str | None,
    locate: Locator,
    *,
    origin: str,
    issues: Sequence[ReadIssue] = (),
    filter_since: bool = True,
    out_of_range: Mapping[str, OutOfRange] | None = None,
    records: Sequence[Mapping[str, Plain]] | None = None,
) -> ReadResult:
    """Check keys, select changed rows and assemble the ReadResult.

    Args:
        table: Every row parsed from the source, with plain column types.
        source: The source configuration.
        since: The cursor of the previous read, or None for a full read.
        locate: Returns the location and raw text of rows that become issues.
        origin: The file, table or URL read, named in error messages.
        issues: Issues found while parsing, such as ragged lines.
        filter_since: False when the source already returned only rows
            changed after ``since``, as a SQL query with a WHERE clause does.
        out_of_range: By column, the rows of ``table`` whose date or time
            Python cannot represent; those with a valid key become
            ``value_issues``.
        records: The flat records that ``table`` was built from, for JSON
            sources. When their columns mix types, the result's
            ``typed_groups`` splits the rows so that each reads as alone.

    Returns:
        The rows with a valid key, reduced to those changed after ``since``
        when the source has a cursor column. ``complete`` is true when no
        cursor filter applied. ``present_keys`` contains the keys of every
        row with a valid key.

    Raises:
        SourceError: When a primary key or cursor column is missing.
    """
    if table.num_rows or table.num_columns:
        require_columns(table.column_names, source, origin)
    cursor_column = None
    if source.cursor is not None and source.cursor in table.column_names:
        cursor_column = table.column(source.cursor)
    keys = row_keys_or_empty(table, source)
    checked = check_keys(keys, source.key_columns, locate, cursor_column)
    valid = table if all(checked.keep) else table.filter(pa.array(checked.keep, pa.bool_()))
    selected, cursor, complete = _apply_cursor(valid, source, since, filter_since)
    rows = valid if selected is None else valid.filter(selected)
    all_issues = [*issues, *checked.issues]
    logger.info(
        "source '%s': %d rows returned, %d rows with a valid key, %d issues",
        source.name,
        rows.num_rows,
        valid.num_rows,
        len(all_issues),
    )
    return ReadResult(
        rows=rows,
        complete=complete,
        cursor=cursor,
        issues=all_issues,
        present_keys=checked.present,
        value_issues=_value_issues(out_of_range or {}, keys, checked.keep, source.name),
        typed_groups=None
        if records is None
        else _typed_groups(records, table.column_names, _row_numbers(checked.keep, selected)),
    )


def _typed_groups(
    records: Sequence[Mapping[str, Plain]], names: Sequence[str], kept: Sequence[int]
) -> list[TypedGroup] | None:
    """Return the kept records as tables whose columns each hold one type, or None for one table.

    Each table has every column of the read, in its order, and the records
    in their order of the read.
    """
    kept_records = [records[index] for index in kept]
    groups = type_groups(kept_records)
    if len(groups) <= 1:
        return None
    tables = []
    for group in groups:
        columns = [
            [column_array([kept_records[index].get(name) for index in group])] for name in names
        ]
        tables.append(TypedGroup(list(group), table_from_columns(names, columns)))
    return tables


def _value_issues(
    out_of_range: Mapping[str, OutOfRange],
    keys: Sequence[str | None],
    keep: Sequence[bool],
    source: str,
) -> list[ValueIssue]:
    issues: list[ValueIssue] = []
    for column, texts in out_of_range.items():
        for row, text in sorted(texts.items()):
            key = keys[row]
            if key is None or not keep[row]:
                continue
            reason = (
                f"value '{text}' of column '{column}' is outside the dates and times that "
                "Accord stores (years 1 to 9999), so the record is quarantined and any "
                "stored version is kept. Correct the value at the source"
            )
            issues.append(ValueIssue(key, column, text, reason))
    if issues:
        logger.warning(
            "source '%s': %d values outside the years 1 to 9999 in columns %s",
            source,
            len(issues),
            ", ".join(sorted(out_of_range)),
        )
    return issues


def row_keys_or_empty(table: pa.Table, source: SourceBase) -> list[str | None]:
    """Return the row keys, or an empty list for a table without columns."""
    if table.num_columns == 0:
        return []
    return row_keys(table, source.key_columns)


def _apply_cursor(
    table: pa.Table, source: SourceBase, since: str | None, filter_since: bool
) -> tuple[pa.ChunkedArray | None, str | None, bool]:
    """Return the mask of rows changed after ``since`` (None for all), the cursor and whether
    the read is complete."""
    if source.cursor is None:
        return None, None, True
    if source.cursor not in table.column_names:
        return None, since, since is None
    selection = select_after(table.column(source.cursor), since if filter_since else None)
    cursor = selection.cursor if selection.cursor is not None else since
    return selection.mask, cursor, since is None


def _row_numbers(keep: list[bool], selected: pa.ChunkedArray | None) -> list[int]:
    numbers = pa.array(range(len(keep)), pa.int64()).filter(pa.array(keep, pa.bool_()))
    if selected is not None:
        numbers = numbers.filter(selected.combine_chunks())
    return list(numbers.to_pylist())
