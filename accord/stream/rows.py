"""Build the Arrow table that :func:`accord.ingest.process_rows` takes from change payloads."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from accord.config.models import SourceBase


def _column(values: list[Any]) -> pa.Array:
    if all(value is None for value in values):
        return pa.array(values, pa.string())
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        # Mixed types, or an integer beyond 64 bits: every value of the column becomes text.
        return pa.array([None if value is None else str(value) for value in values], pa.string())


def required_columns(source: SourceBase) -> list[str]:
    """Return the source columns that the mapping of ``source`` reads by name."""
    columns = list(source.key_columns)
    for extra in (source.cursor, source.deleted_flag):
        if extra:
            columns.append(extra)
    for mapping in source.fields.values():
        columns.extend(mapping.source_columns())
    return list(dict.fromkeys(columns))


def rows_table(source: SourceBase, payloads: list[dict[str, Any]]) -> pa.Table:
    """Return one row per payload, with every column any payload has.

    A column that the mapping reads but no payload has is added as nulls, so
    a message may leave out empty fields. Values of one column with mixed
    types (a number in one message, text in another) become text.
    """
    names = list(dict.fromkeys(name for payload in payloads for name in payload))
    names += [name for name in required_columns(source) if name not in names]
    return pa.table({name: _column([payload.get(name) for payload in payloads]) for name in names})
