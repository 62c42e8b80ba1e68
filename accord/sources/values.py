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

    Dates and times become ISO 8601 text, decimals become what
    :func:`plain_decimal` returns, UUIDs become text, bytes become base64
    text, and lists and mappings become JSON text.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
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


def table_from_records(records: Sequence[Mapping[str, Plain]]) -> pa.Table:
    """Build a table from flat records, with columns in first-seen order."""
    names: dict[str, None] = {}
    for record in records:
        for name in record:
            names.setdefault(name, None)
    columns = [[column_array([record.get(name) for record in records])] for name in names]
    return table_from_columns(list(names), columns)


def normalize_table(table: pa.Table) -> pa.Table:
    """Convert an Arrow table read from a typed file to plain column types.

    Struct columns are flattened to dotted names. Dates, times and
    timestamps become ISO 8601 text. Decimals become int64, float64 or
    exact text as :func:`plain_decimal` and :func:`column_array` decide for
    the whole column. Integers become int64, except unsigned values above
    the int64 range, which become text. Lists and maps become JSON text, and binary values become
    base64 text.
    """
    while any(pa.types.is_struct(field.type) for field in table.schema):
        table = table.flatten()
    columns = [normalize_column(table.column(i)) for i in range(table.num_columns)]
    return pa.Table.from_arrays(columns, names=table.column_names)


def normalize_column(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Convert one Arrow column to a plain type, as :func:`normalize_table` does."""
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
