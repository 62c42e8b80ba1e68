"""Conversion of source values to the plain types that readers return.

Every reader returns columns whose values are strings, 64-bit integers,
64-bit floats, booleans or nulls. Dates and times become ISO 8601 text,
decimals become floats, lists become JSON text and nested objects become
dotted column names.
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


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    return value_text(value)


def json_text(value: object, compact: bool = False) -> str:
    """Return ``value`` as JSON text, with dates and bytes as strings and decimals as numbers.

    ``compact`` leaves out the spaces after commas and colons.
    """
    separators = (",", ":") if compact else None
    return json.dumps(value, ensure_ascii=False, default=_json_default, separators=separators)


def to_plain(value: object) -> Plain:
    """Convert one scalar from a driver or parser to a plain value.

    Dates and times become ISO 8601 text, decimals become floats, UUIDs
    become text, bytes become base64 text, and lists and mappings become
    JSON text.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
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
    column holding each value's text form. A column of nulls only has the
    Arrow null type; :func:`concat_columns` turns it into strings.
    """
    kinds = {type(value) for value in values if value is not None}
    if not kinds:
        return pa.nulls(len(values))
    if kinds == {str}:
        return pa.array(values, type=pa.string())
    if kinds == {bool}:
        return pa.array(values, type=pa.bool_())
    if kinds == {int} and _fits_int64(values):
        return pa.array(values, type=pa.int64())
    if kinds in ({float}, {int, float}):
        return pa.array(values, type=pa.float64())
    return pa.array([None if v is None else value_text(v) for v in values], type=pa.string())


def _fits_int64(values: Iterable[Plain]) -> bool:
    return all(v is None or v in INT64 for v in values)


def _common_type(types: set[pa.DataType]) -> pa.DataType:
    types = {t for t in types if not pa.types.is_null(t)}
    if not types:
        return pa.string()
    if len(types) == 1:
        return types.pop()
    if types == {pa.int64(), pa.float64()}:
        return pa.float64()
    return pa.string()


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
    give float64; any other mix gives strings. A column of nulls only
    becomes a string column.
    """
    target = _common_type({chunk.type for chunk in chunks})
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
    timestamps become ISO 8601 text, and decimals become float64. Integers
    become int64, except unsigned values above the int64 range, which
    become text. Lists and maps become JSON text, and binary values become
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
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return column.cast(pa.float64())
    if _is_nested(kind):
        texts = [None if v is None else json_text(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(texts, type=pa.string())])
    return pa.chunked_array([column_array([to_plain(v) for v in column.to_pylist()])]).cast(
        pa.string()
    )


def _normalize_integers(column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        return column.cast(pa.int64())
    except pa.ArrowInvalid:
        texts = [None if v is None else str(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(texts, type=pa.string())])


def _is_nested(kind: pa.DataType) -> bool:
    return (
        pa.types.is_list(kind)
        or pa.types.is_large_list(kind)
        or pa.types.is_fixed_size_list(kind)
        or pa.types.is_map(kind)
    )
