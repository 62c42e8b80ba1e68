"""The records a destination should hold, built from golden values in one statement.

Each golden record (or suppression list entry) that meets the destination's
filter becomes one tool record per key: the entity ID, or the source key of
each live member record of the key source. An entity without such a member
gets one record keyed by its entity ID, which only modes that create records
send. The table also carries the hash of each record and, for fields that the
key source reads from the same tool field, the tool's current standardized
value beside the golden one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from accord.config.models import SUPPRESSION_FIELDS, DestinationBase, Project, SourceBase
from accord.config.semantics import canonical_field_names
from accord.store.bulk import create_temp_table
from accord.store.indexes import INLINE_VALUES, one_of
from accord.sync.payload import canonical_json
from accord.sync.sqltext import identifier, json_path, literal, text_list

DESIRED = "accord_sync_desired"
ENTITY_FILTER = "accord_sync_entities"


def register_entity_filter(connection: duckdb.DuckDBPyConnection, entities: list[str]) -> None:
    """Create the ``accord_sync_entities`` table that ``entity_condition`` reads for a long list.

    A list that ``entity_condition`` writes out needs no table, so none is made.
    """
    if len(entities) <= INLINE_VALUES:
        return
    table = pa.table({"entity_id": pa.array(entities, pa.string())})
    create_temp_table(connection, ENTITY_FILTER, table)


def entity_condition(column: str, entities: list[str] | None) -> str:
    """Return the ``AND ...`` condition that limits ``column`` to the entities being synced.

    ``entities`` None means every entity. A short list is written out, so
    that DuckDB reads the golden values through the index on entity_id (see
    ``accord.store.indexes``). A longer one is read from the table that
    ``register_entity_filter`` creates.
    """
    if entities is None:
        return ""
    if len(entities) <= INLINE_VALUES:
        return f"AND {column} IN ({text_list(entities)})"
    return f"AND {column} IN (SELECT entity_id FROM {ENTITY_FILTER})"


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class MappedField:
    """One golden field written to one tool field."""

    index: int
    golden: str
    tool: str
    values: dict[str, Any] | None
    comparable: bool


def mapped_fields(project: Project, destination: DestinationBase) -> list[MappedField]:
    """Return the field mapping of ``destination`` in project-file order.

    A field is comparable when the key source reads the same golden field
    from the same tool field without a derivation, so its stored value is
    what the tool has.
    """
    source = _key_source(project, destination)
    fields = []
    for index, (golden, mapping) in enumerate(destination.fields.items()):
        comparable = False
        if source is not None and golden in source.fields:
            comparable = source.fields[golden].from_ == mapping.to
        fields.append(MappedField(index, golden, mapping.to, mapping.values, comparable))
    return fields


def _key_source(project: Project, destination: DestinationBase) -> SourceBase | None:
    if destination.key.source is None:
        return None
    return project.source(destination.key.source)


def _filter_fields(destination: DestinationBase, known: set[str]) -> list[str]:
    """Return the fields a filter names, found as words of the expression."""
    if destination.filter is None:
        return []
    return sorted(set(_WORD.findall(destination.filter)) & known)


def _value_sql(column: str, values: dict[str, Any] | None) -> str:
    """Return the tool value of a JSON column, through the destination's value map."""
    if not values:
        return column
    cases = " ".join(
        f"WHEN {literal(source)} THEN "
        + ("NULL::JSON" if target is None else f"{literal(canonical_json(target))}::JSON")
        for source, target in values.items()
    )
    return f"CASE json_extract_string({column}, '$') {cases} ELSE {column} END"


def _golden_subject(
    destination: DestinationBase,
    fields: list[MappedField],
    project: Project,
    entities: list[str] | None,
) -> str:
    filter_fields = _filter_fields(destination, canonical_field_names(project))
    wanted = sorted({f.golden for f in fields} | set(filter_fields))
    json_columns = [
        f"any_value(g.value) FILTER (WHERE g.field = {literal(f.golden)}) AS j_{f.index}"
        for f in fields
    ]
    text_columns = [
        f"any_value(json_extract_string(g.value, '$')) FILTER (WHERE g.field = {literal(name)}) "
        f"AS {identifier(name)}"
        for name in wanted
    ]
    golden, entity_table = "golden_values", "entities"
    scoped = ""
    if entities is not None:
        # Materialized, so that the other filters are not pushed into the scans: DuckDB
        # reads a table through its index only for a filter on entity_id alone.
        golden, entity_table = "scoped_golden", "scoped_entities"
        scoped = f"""WITH scoped_golden AS MATERIALIZED (
            SELECT entity_id, field, value FROM golden_values
            WHERE TRUE {entity_condition("entity_id", entities)}),
        scoped_entities AS MATERIALIZED (
            SELECT entity_id, status, entity_type FROM entities
            WHERE TRUE {entity_condition("entity_id", entities)})"""
    return f"""
        {scoped}
        SELECT g.entity_id, {", ".join(json_columns + text_columns)}
        FROM {golden} g
        JOIN {entity_table} e ON e.entity_id = g.entity_id
        WHERE e.status = 'active' AND e.entity_type = {literal(destination.entity_type)}
          AND g.field IN ({text_list(wanted)})
        GROUP BY g.entity_id
    """


def _suppression_subject(
    destination: DestinationBase, fields: list[MappedField], entities: list[str] | None
) -> str:
    def as_json(name: str) -> str:
        if name == "added_at":
            return "to_json(strftime(added_at, '%Y-%m-%dT%H:%M:%S'))"
        return f"to_json({identifier(name)})"

    json_columns = [f"{as_json(f.golden)} AS j_{f.index}" for f in fields]
    text_columns = [
        f"CAST({identifier(n)} AS VARCHAR) AS {identifier(n)}" for n in SUPPRESSION_FIELDS
    ]
    limit = entity_condition("entity_id", entities)
    list_name = literal(destination.suppression_list or "")
    return f"""
        SELECT {", ".join(json_columns + text_columns)}
        FROM suppression_list
        WHERE list_name = {list_name} {limit}
        QUALIFY row_number() OVER (PARTITION BY entity_id ORDER BY added_at, reason) = 1
    """


def _keyed(
    destination: DestinationBase, entities: list[str] | None, member_keys: list[str] | None
) -> str:
    """Return the SELECT that gives each qualified record its key in the tool.

    ``member_keys``, when given, lists the key-source records of the scoped
    entities, so that both tables are read through their indexes.
    """
    source = destination.key.source
    if source is None:
        return """
            SELECT q.*, q.entity_id AS record_key, FALSE AS member,
                   NULL::TIMESTAMP AS tool_changed_at, NULL::JSON AS tool_data
            FROM qualified q
        """
    members, records, scoped = "entity_members", "source_records", ""
    limit = entity_condition("m.entity_id", entities)
    if member_keys is not None:
        # Materialized, so that DuckDB reads each table by its indexed column alone.
        keys = f"source_key IN ({text_list(member_keys)})" if member_keys else "FALSE"
        members, records, limit = "scoped_members", "scoped_records", ""
        scoped = f"""WITH scoped_members AS MATERIALIZED (
            SELECT entity_id, source, source_key FROM entity_members
            WHERE TRUE {entity_condition("entity_id", entities)}),
        scoped_records AS MATERIALIZED (
            SELECT source, source_key, changed_at, data, deleted_at FROM source_records
            WHERE {keys})"""
    return f"""
        {scoped}
        SELECT q.*, coalesce(mb.source_key, q.entity_id) AS record_key,
               mb.source_key IS NOT NULL AS member,
               mb.changed_at AS tool_changed_at, mb.data AS tool_data
        FROM qualified q
        LEFT JOIN (
            SELECT m.entity_id, m.source_key, r.changed_at, r.data
            FROM {members} m
            JOIN {records} r ON r.source = m.source AND r.source_key = m.source_key
            WHERE m.source = {literal(source)} AND r.deleted_at IS NULL {limit}) mb
            USING (entity_id)
        QUALIFY row_number() OVER (PARTITION BY record_key ORDER BY member DESC, entity_id) = 1
    """


def _member_keys(
    connection: duckdb.DuckDBPyConnection,
    destination: DestinationBase,
    entities: list[str] | None,
) -> list[str] | None:
    """Return the key-source records of a short entity list, or None to join whole tables."""
    source = destination.key.source
    if source is None or entities is None or len(entities) > INLINE_VALUES:
        return None
    condition, params = one_of("entity_id", entities)
    # Filtered on entity_id alone, which DuckDB reads through the index.
    rows = connection.execute(
        f"SELECT source, source_key FROM entity_members WHERE {condition}", params
    ).fetchall()
    keys = sorted({key for member_source, key in rows if member_source == source})
    return keys if len(keys) <= INLINE_VALUES else None


def build_desired(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    destination: DestinationBase,
    entities: list[str] | None = None,
) -> None:
    """Create the temporary table of desired records.

    Columns: ``record_key``, ``entity_id``, ``member`` (the key is a live
    member record of the key source), ``tool_changed_at``, ``record`` (tool
    field to value, as JSON), ``payload_hash``, and ``tool_<i>`` and
    ``golden_<i>`` (text) for each comparable field ``i``.

    Args:
        connection: The store connection.
        project: The project.
        destination: The destination.
        entities: Only these entities, sorted and without repeats, after
            ``register_entity_filter``; every entity when None.
    """
    fields = mapped_fields(project, destination)
    if destination.suppression_list is not None:
        subject = _suppression_subject(destination, fields, entities)
    else:
        subject = _golden_subject(destination, fields, project, entities)
    condition = f"({destination.filter})" if destination.filter else "TRUE"
    values = ", ".join(f"{_value_sql(f'j_{f.index}', f.values)} AS v_{f.index}" for f in fields)
    record = ", ".join(f"{literal(f.tool)}, v_{f.index}" for f in fields)
    member_keys = _member_keys(connection, destination, entities)
    compared = "".join(
        f", json_extract_string(tool_data, {json_path(f.golden)}) AS tool_{f.index}"
        f", json_extract_string(j_{f.index}, '$') AS golden_{f.index}"
        for f in fields
        if f.comparable
    )
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {DESIRED} AS
        WITH subject AS ({subject}),
        qualified AS (SELECT * FROM subject WHERE {condition}),
        keyed AS ({_keyed(destination, entities, member_keys)}),
        valued AS (SELECT *, {values} FROM keyed),
        recorded AS (SELECT *, json_object({record}) AS record FROM valued)
        SELECT record_key, entity_id, member, tool_changed_at, record,
               md5(CAST(record AS VARCHAR)) AS payload_hash {compared}
        FROM recorded
        """
    )
