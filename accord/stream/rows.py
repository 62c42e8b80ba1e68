"""Build the Arrow table that :func:`accord.ingest.process_rows` takes from change payloads.

Payloads are converted with :func:`accord.sources.values.flatten_record`,
as the JSON readers of the batch run convert records. Nested objects become
dotted column names and lists become JSON text, so a change reads as the
batch run reads the same record from a JSON Lines file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import pyarrow as pa

from accord.config.models import SourceBase
from accord.field_query import expression_columns
from accord.sources.values import flatten_record, table_from_records
from accord.sources.values import type_groups as record_type_groups


def required_columns(source: SourceBase) -> list[str]:
    """Return the source columns that the mapping of ``source`` reads, by name or in expressions."""
    columns = _mapped_columns(source)
    for mapping in source.fields.values():
        if mapping.expr is not None:
            columns.extend(expression_columns(mapping.expr))
    return list(dict.fromkeys(columns))


def _mapped_columns(source: SourceBase) -> list[str]:
    """Return the key, cursor, deletion flag and mapped columns of ``source``."""
    columns = list(source.key_columns)
    columns += [name for name in (source.cursor, source.deleted_flag) if name]
    for mapping in source.fields.values():
        columns.extend(mapping.source_columns())
    return columns


def rows_table(source: SourceBase, payloads: list[dict[str, Any]]) -> pa.Table:
    """Return one row per payload, with every column any payload has.

    A column that the mapping reads but no payload has is added as nulls, so
    a message may leave out empty fields. Values of one column with mixed
    types (a number in one message, text in another) become text, as in
    :func:`accord.sources.values.column_array`.
    """
    table = table_from_records([flatten_record(payload) for payload in payloads])
    required = required_columns(source)
    expression_only = set(required) - set(_mapped_columns(source))
    present = {column.lower() for column in table.column_names}
    for name in required:
        if name in table.column_names:
            continue
        if name in expression_only and name.lower() in present:
            # DuckDB binds a name in an expression to a column of any case.
            continue
        table = table.append_column(name, pa.nulls(table.num_rows, pa.string()))
        present.add(name.lower())
    return table


Item = TypeVar("Item")


def type_groups(items: Sequence[Item], payloads: Sequence[dict[str, Any]]) -> list[list[Item]]:
    """Split ``items`` into groups whose payloads give each field values of one type.

    ``payloads`` are those of ``items``. A column of mixed types becomes text
    (see ``rows_table``), so a payload processed with others of another type
    would read differently than alone: ``true`` as 'true' instead of a boolean.
    Within a group every non-null value of a field has one type after the
    conversion of ``rows_table``, so each payload reads as it would alone.
    The batch run groups the records of JSON sources the same way (see
    :func:`accord.sources.values.type_groups`). Lists are JSON text there, so
    a list is grouped with text whatever its elements are. Items keep their
    order in a group.
    """
    records = [flatten_record(payload) for payload in payloads]
    return [[items[index] for index in group] for group in record_type_groups(records)]
