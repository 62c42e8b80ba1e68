"""Build the Arrow table that :func:`accord.ingest.process_rows` takes from change payloads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import pyarrow as pa

from accord.config.models import SourceBase
from accord.ingest import arrow_column
from accord.mapping import INT64


def _column(values: list[Any]) -> pa.Array:
    if all(value is None for value in values):
        return pa.array(values, pa.string())
    return arrow_column(values)


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


Item = TypeVar("Item")


def _kind(value: Any) -> object:
    """Return what decides a value's Arrow type: its Python type, or 'big' for wide integers."""
    if type(value) is int and value not in INT64:
        return "big"
    return type(value)


def type_groups(items: Sequence[Item], payloads: Sequence[dict[str, Any]]) -> list[list[Item]]:
    """Split ``items`` into groups whose payloads give each field values of one type.

    ``payloads`` are those of ``items``. A column of mixed types becomes text
    (see ``rows_table``), so a payload processed with others of another type
    would read differently than alone: ``true`` as 'True' instead of a boolean.
    Within a group every non-null value of a field has one Python type, so
    each payload reads as it would alone. Items keep their order in a group.
    """
    groups: list[tuple[dict[str, object], list[Item]]] = []
    for item, payload in zip(items, payloads, strict=True):
        kinds = {name: _kind(value) for name, value in payload.items() if value is not None}
        for seen, members in groups:
            if all(seen.get(name, kind) == kind for name, kind in kinds.items()):
                seen.update(kinds)
                members.append(item)
                break
        else:
            groups.append((kinds, [item]))
    return [members for _, members in groups]
