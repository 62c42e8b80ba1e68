"""Conversion of source values to the plain types that readers return.

Every reader returns columns whose values are strings, 64-bit integers,
64-bit floats, booleans or nulls. Dates and times become ISO 8601 text,
lists become JSON text and nested objects become dotted column names.

No conversion loses digits. An integer outside the 64-bit range, and a
decimal that float64 cannot hold exactly, become their exact decimal text,
and so does every other value of their column. Decimals of scale 0 are
integers. Decimals with a fraction become floats when the float has the
same digits (``1.50`` gives ``1.5``), else text (``12345678901234567.25``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

from accord.sources.base import value_text

Plain = str | int | float | bool | None

# The integers that DuckDB's BIGINT and Arrow's int64 hold.
INT64 = range(-(2**63), 2**63)

OutOfRange = dict[int, str]
"""The text of each value that Python's date and time types cannot represent, by row index."""


class OutOfRangeText(str):
    """The text of a date or time value that Python's types cannot represent, from a driver.

    PostgreSQL's ``infinity`` and dates after year 9999 are examples. Readers
    store the text and report the value, so that its record is quarantined.
    """


# The integers that a float64 represents exactly, because its significand has 53 bits.
EXACT_FLOAT_INTEGERS = range(-(2**53), 2**53 + 1)


def plain_decimal(value: Decimal) -> Plain:
    """Convert a decimal to a plain value without losing digits.

    A decimal of scale 0 (``Decimal("12345678901234567890")``) becomes an
    int of any size. One with a fraction becomes a float when the float's
    shortest text has the same value, else its exact text without trailing
    zeros. NaN and infinity become floats.
    """
    if not value.is_finite():
        return float(value)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(value)
    number = float(value)
    if Decimal(repr(number)) == value:
        return number
    return value_text(value)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return plain_decimal(value)
    return value_text(value)


def json_text(value: object, compact: bool = False) -> str:
    """Return ``value`` as JSON text, with dates and bytes as strings.

    Decimals are numbers, or strings where a JSON reader's float would lose
    digits (see :func:`plain_decimal`).

    ``compact`` leaves out the spaces after commas and colons.
    """
    separators = (",", ":") if compact else None
    return json.dumps(value, ensure_ascii=False, default=_json_default, separators=separators)


def to_plain(value: object) -> Plain:
    """Convert one scalar from a driver or parser to a plain value.

    Dates, times and durations become ISO 8601 text, decimals become what
    :func:`plain_decimal` returns, UUIDs become text, bytes become base64
    text, and lists and mappings become JSON text.
    """
    if isinstance(value, OutOfRangeText):
        return str(value)
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return timedelta_text(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping | list | tuple):
        return json_text(value)
    return value_text(value)


def flatten_record(record: Mapping[str, object], prefix: str = "") -> dict[str, Plain]:
    """Flatten nested objects to dotted column names and convert the values.

    ``{"requester": {"email": "a@b.c"}}`` gives ``{"requester.email": "a@b.c"}``.
    Lists are stored as JSON text. An empty nested object adds no column.
    """
    flat: dict[str, Plain] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten_record(value, prefix=f"{name}."))
        else:
            flat[name] = to_plain(value)
    return flat


def column_array(values: Sequence[Plain]) -> pa.Array:
    """Build one Arrow column from plain values, choosing the narrowest common type.

    All booleans give a boolean column, all integers an int64 column,
    integers mixed with floats a float64 column, and any other mix a string
    column holding each value's text form. Integers outside the 64-bit
    range, or mixed with floats and beyond what a float64 represents exactly,
    also give a string column. A column of nulls only has the Arrow null
    type; :func:`concat_columns` turns it into strings.
    """
    kinds = {type(value) for value in values if value is not None}
    if not kinds:
        return pa.nulls(len(values))
    if kinds == {str}:
        return pa.array(values, type=pa.string())
    if kinds == {bool}:
        return pa.array(values, type=pa.bool_())
    if kinds == {int} and _all_in(values, INT64):
        return pa.array(values, type=pa.int64())
    if kinds == {float} or (kinds == {int, float} and _all_in(values, EXACT_FLOAT_INTEGERS)):
        return pa.array(values, type=pa.float64())
    return pa.array([None if v is None else value_text(v) for v in values], type=pa.string())


def _all_in(values: Iterable[Plain], bounds: range) -> bool:
    """Return whether every integer among ``values`` lies in ``bounds``."""
    return all(type(v) is not int or v in bounds for v in values)


def _common_type(chunks: Sequence[pa.Array]) -> pa.DataType:
    types = {chunk.type for chunk in chunks if not pa.types.is_null(chunk.type)}
    if not types:
        return pa.string()
    if len(types) == 1:
        return types.pop()
    if types == {pa.int64(), pa.float64()} and all(
        _exact_in_float(chunk) for chunk in chunks if chunk.type == pa.int64()
    ):
        return pa.float64()
    return pa.string()


def _exact_in_float(chunk: pa.Array) -> bool:
    """Return whether a float64 represents every value of an int64 chunk exactly."""
    bounds = pc.min_max(chunk)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return low is None or (low in EXACT_FLOAT_INTEGERS and high in EXACT_FLOAT_INTEGERS)


def _cast_chunk(chunk: pa.Array, target: pa.DataType) -> pa.Array:
    if chunk.type == target:
        return chunk
    if pa.types.is_null(chunk.type):
        return pa.nulls(len(chunk), type=target)
    if pa.types.is_string(target):
        texts = [None if v is None else value_text(v) for v in chunk.to_pylist()]
        return pa.array(texts, type=pa.string())
    return chunk.cast(target)


def concat_columns(chunks: Sequence[pa.Array]) -> pa.ChunkedArray:
    """Join the chunks of one column, converting them to their common type.

    Chunks of nulls take the type of the others; int64 and float64 chunks
    give float64 when a float64 represents every integer exactly. Any other mix
    gives strings. A column of nulls only becomes a string column.
    """
    target = _common_type(chunks)
    return pa.chunked_array([_cast_chunk(chunk, target) for chunk in chunks], type=target)


def table_from_columns(names: Sequence[str], columns: Sequence[Sequence[pa.Array]]) -> pa.Table:
    """Build a table from per-column chunk lists, unifying each column's type."""
    arrays = [
        concat_columns(chunks) if chunks else pa.chunked_array([], pa.string())
        for chunks in columns
    ]
    return pa.Table.from_arrays(arrays, names=list(names))


def _plain_kind(value: Plain) -> object:
    """Return the Python type of a value, or 'big' for an integer outside the 64-bit range."""
    if type(value) is int and value not in INT64:
        return "big"
    return type(value)


def type_groups(records: Sequence[Mapping[str, Plain]]) -> list[list[int]]:
    """Split flat records into groups whose columns each hold values of one type.

    Returns the indices of ``records`` by group, in order within each group.
    A column of mixed types becomes text (see :func:`column_array`), so a
    record built into a table with records of another type would read
    differently than alone: ``5`` as '5'. Within a group every non-null
    value of a column has one type, so each record reads as it would alone.
    """
    groups: list[tuple[dict[str, object], list[int]]] = []
    for index, record in enumerate(records):
        kinds = {name: _plain_kind(value) for name, value in record.items() if value is not None}
        for seen, members in groups:
            if all(seen.get(name, kind) == kind for name, kind in kinds.items()):
                seen.update(kinds)
                members.append(index)
                break
        else:
            groups.append((kinds, [index]))
    return [members for _, members in groups]


def table_from_records(records: Sequence[Mapping[str, Plain]]) -> pa.Table:
    """Build a table from flat records, with columns in first-seen order."""
    names: dict[str, None] = {}
    for record in records:
        for name in record:
            names.setdefault(name, None)
    columns = [[column_array([record.get(name) for record in records])] for name in names]
    return table_from_columns(list(names), columns)


def normalize_table(
    table: pa.Table, out_of_range: dict[str, OutOfRange] | None = None
) -> pa.Table:
    """Convert an Arrow table read from a typed file to plain column types.

    Struct columns are flattened to dotted names. Dates, times and
    timestamps become ISO 8601 text. Decimals become int64, float64 or
    exact text as :func:`plain_decimal` and :func:`column_array` decide for
    the whole column. Integers become int64, except unsigned values above
    the int64 range, which become text. Lists and maps become JSON text, and binary values become
    base64 text.

    A date or time that Python cannot represent (year 10000 and later,
    before year 1, DuckDB's infinity) becomes text such as ``+10183-09-21``
    or ``infinity``, and is added to ``out_of_range`` under its column name.
    """
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        found: OutOfRange = {}
        columns.append(normalize_column(column, found))
        if found and out_of_range is not None:
            out_of_range[name] = found
    return pa.Table.from_arrays(columns, names=table.column_names)


def normalize_column(
    column: pa.ChunkedArray, out_of_range: OutOfRange | None = None
) -> pa.ChunkedArray:
    """Convert one Arrow column to a plain type, as :func:`normalize_table` does.

    Dates and times that Python cannot represent become text, and their row
    indices and texts are added to ``out_of_range``.
    """
    kind = column.type
    if pa.types.is_dictionary(kind):
        return normalize_column(pc.cast(column, kind.value_type))
    if pa.types.is_null(kind):
        return pa.chunked_array([pa.nulls(len(column), type=pa.string())])
    if pa.types.is_boolean(kind) or kind == pa.int64() or kind == pa.float64():
        return column
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.cast(pa.string())
    if pa.types.is_integer(kind):
        return _normalize_integers(column)
    if pa.types.is_floating(kind):
        return column.cast(pa.float64())
    if pa.types.is_decimal(kind):
        return _normalize_decimals(column)
    if _is_nested(kind):
        texts = [None if v is None else json_text(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(texts, type=pa.string())])
    if pa.types.is_interval(kind):
        texts = [
            None if v is None else interval_text(v.months, v.days, v.nanoseconds)
            for v in column.to_pylist()
        ]
        return pa.chunked_array([pa.array(texts, type=pa.string())])
    if _is_clock(kind):
        values = _clock_values(column, {} if out_of_range is None else out_of_range)
        return pa.chunked_array([column_array([to_plain(v) for v in values])]).cast(pa.string())
    return pa.chunked_array([column_array([to_plain(v) for v in column.to_pylist()])]).cast(
        pa.string()
    )


def _normalize_decimals(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if column.type.scale <= 0:
        return _normalize_integers(column)
    plain = column_array([None if v is None else plain_decimal(v) for v in column.to_pylist()])
    if pa.types.is_null(plain.type):
        return pa.chunked_array([pa.nulls(len(plain), type=pa.float64())])
    return pa.chunked_array([plain])


def _normalize_integers(column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return column.cast(pa.int64())
    except pa.ArrowInvalid:
        texts = [None if v is None else value_text(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(texts, type=pa.string())])


def _is_nested(kind: pa.DataType) -> bool:
    return (
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_map(kind)
    )


def _is_clock(kind: pa.DataType) -> bool:
    return pa.types.is_date(kind) or pa.types.is_timestamp(kind) or pa.types.is_time(kind)


def _clock_values(column: pa.ChunkedArray, out_of_range: OutOfRange) -> list[object]:
    """Return the Python values of a date, time or timestamp column, or text where they fail."""
    try:
        return column.to_pylist()
    except (OverflowError, ValueError):
        pass
    array = column.combine_chunks()
    raw = array.view(pa.int32() if array.type.bit_width == 32 else pa.int64()).to_pylist()
    values: list[object] = []
    for row, scalar in enumerate(array):
        try:
            values.append(scalar.as_py())
        except (OverflowError, ValueError):
            text = clock_text(array.type, raw[row])
            out_of_range[row] = text
            values.append(text)
    return values


# DuckDB 2.0 exports infinity and -infinity as the largest and smallest values
# of the storage integer, less one for the negative.
_INFINITY_DAYS = 2**31 - 1
_INFINITY_TICKS = 2**63 - 1
_TICKS_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_SECONDS_PER_DAY = 86_400


def clock_text(kind: pa.DataType, raw: int) -> str:
    """Return the ISO 8601 text of a date, time or timestamp given as its Arrow storage integer.

    Years outside 0 to 9999 get a sign (``+10183-09-21``), as ISO 8601's
    expanded years do. DuckDB's infinities become ``infinity`` and
    ``-infinity``.
    """
    if pa.types.is_date32(kind):
        if abs(raw) == _INFINITY_DAYS:
            return "infinity" if raw > 0 else "-infinity"
        return _date_text(raw)
    if abs(raw) == _INFINITY_TICKS:
        return "infinity" if raw > 0 else "-infinity"
    per_second = 1_000 if pa.types.is_date64(kind) else _TICKS_PER_SECOND[kind.unit]
    if pa.types.is_time(kind):
        return _time_text(raw, per_second)
    days, ticks = divmod(raw, _SECONDS_PER_DAY * per_second)
    if pa.types.is_date64(kind):
        return _date_text(days)
    zone = "+00:00" if kind.tz is not None else ""
    return f"{_date_text(days)}T{_time_text(ticks, per_second)}{zone}"


def _date_text(days: int) -> str:
    """Return the proleptic Gregorian date ``days`` after 1970-01-01 as ISO 8601 text."""
    # Howard Hinnant's civil_from_days algorithm, exact for every integer.
    shifted = days + 719_468
    era = shifted // 146_097
    day_of_era = shifted - era * 146_097
    year_of_era = (
        day_of_era - day_of_era // 1_460 + day_of_era // 36_524 - day_of_era // 146_096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    year = year_of_era + era * 400 + (1 if month <= 2 else 0)
    year_text = f"{year:04d}" if 0 <= year <= 9999 else f"{year:+05d}"
    return f"{year_text}-{month:02d}-{day:02d}"


def _time_text(ticks: int, per_second: int) -> str:
    seconds, fraction = divmod(ticks, per_second)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    text = f"{hour:02d}:{minute:02d}:{second:02d}"
    if fraction:
        digits = len(str(per_second)) - 1
        text += f".{fraction:0{digits}d}"
    return text


_NANOSECONDS_PER_SECOND = 1_000_000_000


def interval_text(months: int, days: int, nanoseconds: int) -> str:
    """Return an interval of months, days and nanoseconds as an ISO 8601 duration.

    Each negative part carries its own sign, as PostgreSQL's ``iso_8601``
    interval style writes them: 1 year 2 months 3 days 04:05:06.5 gives
    ``P1Y2M3DT4H5M6.5S`` and -3 days gives ``P-3D``. A zero interval is
    ``PT0S``.
    """
    sign = -1 if months < 0 else 1
    years, rest = divmod(abs(months), 12)
    date_part = _duration_parts([(sign * years, "Y"), (sign * rest, "M"), (days, "D")])
    time_part = _clock_duration(nanoseconds)
    if not date_part and not time_part:
        return "PT0S"
    return "P" + date_part + ("T" + time_part if time_part else "")


def timedelta_text(value: dt.timedelta) -> str:
    """Return a duration as ISO 8601 text, such as ``P1DT2H`` or ``PT-1.5S``."""
    microseconds = value // dt.timedelta(microseconds=1)
    sign = -1 if microseconds < 0 else 1
    days, rest = divmod(abs(microseconds), 86_400_000_000)
    return interval_text(0, sign * days, sign * rest * 1_000)


def _clock_duration(nanoseconds: int) -> str:
    sign = -1 if nanoseconds < 0 else 1
    seconds, fraction = divmod(abs(nanoseconds), _NANOSECONDS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    text = _duration_parts([(sign * hours, "H"), (sign * minute, "M")])
    if second or fraction:
        digits = f".{fraction:09d}".rstrip("0") if fraction else ""
        text += f"{'-' if sign < 0 else ''}{second}{digits}S"
    return text


def _duration_parts(parts: list[tuple[int, str]]) -> str:
    return "".join(f"{amount}{unit}" for amount, unit in parts if amount)
