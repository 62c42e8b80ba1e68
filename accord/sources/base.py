"""The contract every source reader fulfils."""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import pyarrow as pa

KEY_SEPARATOR = "|"


@dataclass(frozen=True)
class Capabilities:
    """What a source kind can do, declared as data and checked before use."""

    incremental: bool
    detects_deletes: bool


@dataclass(frozen=True)
class ReadIssue:
    """A row the reader could not turn into a record (ragged CSV line, bad JSON line)."""

    location: str  # for example "line 17" or "page 3, item 4"
    message: str
    raw: str | None = None


@dataclass(frozen=True)
class ValueIssue:
    """A value of a read row that no plain value can represent; its record is quarantined.

    ``key`` is the row's source key, and ``value`` is the text stored in
    its place, such as ``infinity`` or ``+10183-09-21``.
    """

    key: str
    column: str
    value: str
    reason: str


@dataclass(frozen=True)
class TypedGroup:
    """Rows of one read whose columns each hold values of one type.

    ``rows`` holds the records at positions ``positions`` of the read's rows.
    """

    positions: list[int]
    rows: pa.Table


@dataclass
class ReadResult:
    """The rows of one read, with what the next incremental read starts from.

    ``rows`` has one column per source column; nested objects are flattened
    to dotted names (``requester.email``) and every value is a string, a
    number, a boolean or null. ``complete`` is true when the read returned
    every row the source has, so that absent keys mean deleted rows.
    ``cursor`` is the new high-water mark, or None when the source has no
    cursor column.

    ``present_keys`` holds the key (see :func:`make_source_key`) of every row
    the source has at the time of the read, also on incremental reads, when
    the reader can list them cheaply: files always, SQL through a key-only
    query. It is None when the reader cannot list them (REST APIs filtered
    on the server). Rows whose primary key is missing or empty are not in
    ``rows`` nor in ``present_keys``; they are reported in ``issues``.

    ``value_issues`` lists the values of rows in ``rows`` that are outside
    the range of Python's date and time types. Those rows are kept, so that
    their keys count as present, and processing quarantines them.

    ``typed_groups`` is set by JSON and REST readers when a column holds
    values of several types, which ``rows`` converts to text. It splits
    ``rows`` into tables whose columns each hold one type, so that
    processing each reads every record as it would alone, as ``accord
    serve`` reads a change.
    """

    rows: pa.Table
    complete: bool
    cursor: str | None = None
    issues: list[ReadIssue] = field(default_factory=list)
    present_keys: set[str] | None = None
    value_issues: list[ValueIssue] = field(default_factory=list)
    typed_groups: list[TypedGroup] | None = None


class SourceReader(Protocol):
    """Reads one configured source."""

    capabilities: Capabilities

    def read(self, since: str | None) -> ReadResult:
        """Read rows changed after cursor value ``since``, or every row when it is None."""
        ...


def value_text(value: object) -> str:
    """Return the text form of a source value, as used in keys and cursors.

    Integral numbers have no fractional part (``12.0`` gives ``"12"``),
    booleans are ``"true"`` and ``"false"``, dates and times are ISO 8601,
    bytes are base64, and None is the empty string.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return str(int(value))
        # Decimal.normalize() would round to the context's 28 digits.
        text = format(value, "f")
        return text.rstrip("0") if "." in text else text
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def is_missing_key_value(value: object) -> bool:
    """Return whether a primary key value is missing: None, empty or only whitespace, or not finite.

    NaN and infinity identify no row; 1e400 in JSON reads as infinity, so
    two such keys would collide.
    """
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, Decimal):
        return not value.is_finite()
    return False


def _escape_key_part(text: str) -> str:
    return text.replace("\\", "\\\\").replace(KEY_SEPARATOR, "\\" + KEY_SEPARATOR)


def make_source_key(values: Sequence[object]) -> str:
    """Make the text key of a row from its primary key values.

    A single value gives its text form (see :func:`value_text`), so integer
    ids read as ``12`` or ``12.0`` both give ``"12"``. Several values are
    joined with ``|``. A ``|`` or ``\\`` inside a value is escaped with a
    backslash, so different value tuples never give the same key.

    Args:
        values: The primary key values of one row, in primary key order.

    Returns:
        The key text.

    Raises:
        ValueError: When ``values`` is empty.
    """
    if not values:
        raise ValueError("a source key needs at least one primary key value")
    if len(values) == 1:
        return value_text(values[0])
    return KEY_SEPARATOR.join(_escape_key_part(value_text(value)) for value in values)
