"""Merge the golden records of the few entities that a micro-batch touches.

The result equals ``merge_golden`` with the same entity IDs, row for row,
but without the SQL merge's window queries, whose planning dominates for a
few dozen records. It deletes the old values, reads the member records,
inserts the values chosen in process (``accord.merge.choice``), combines the
aggregate fields in SQL, and logs the differences. A scope of more than
``IN_PROCESS_ENTITIES`` entities goes to ``merge_golden``, which ranks in
SQL instead of holding every candidate in Python memory.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

from accord.config.models import AGGREGATE_RULES, FieldSurvivorship, Project
from accord.merge.choice import Candidate, Member, candidates, choose
from accord.merge.survivorship import (
    aggregate_select,
    field_groups,
    golden_field_names,
    json_paths,
    merge_golden,
    organization_sources,
)
from accord.store.bulk import register
from accord.store.indexes import one_of

IN_PROCESS_ENTITIES = 5_000

# (entity ID, field) to the JSON text of the value, and the value's source for a new one.
Values = dict[tuple[str, str], str]
NewValues = dict[tuple[str, str], tuple[str, str | None]]
Grouped = dict[tuple[str, str], list[Candidate]]
FieldGroups = list[tuple[FieldSurvivorship, list[str]]]


def merge_scoped(
    connection: duckdb.DuckDBPyConnection, project: Project, run_id: int, entity_ids: list[str]
) -> int:
    """Replace the golden values of ``entity_ids``, log the differences, return their count.

    As with ``merge_golden``, IDs of entities merged away or dissolved belong
    in the list, so that their old values are removed.
    """
    scope = sorted(set(entity_ids))
    if len(scope) > IN_PROCESS_ENTITIES:
        return merge_golden(connection, project, run_id, scope)
    previous = _delete_values(connection, scope)
    fields = golden_field_names(project)
    members = _read_members(connection, scope, fields)
    grouped = candidates(members, fields, organization_sources(project))
    groups = field_groups(project, fields)
    new = _insert_ordered(connection, groups, grouped, run_id)
    new |= _insert_aggregates(connection, groups, grouped, run_id)
    return _log_changes(connection, run_id, previous, new)


def _delete_values(connection: duckdb.DuckDBPyConnection, scope: list[str]) -> Values:
    condition, params = one_of("entity_id", scope)
    rows = connection.execute(
        f"DELETE FROM golden_values WHERE {condition} RETURNING entity_id, field, value", params
    ).fetchall()
    return {(entity, field): value for entity, field, value in rows}


def _read_members(
    connection: duckdb.DuckDBPyConnection, scope: list[str], fields: list[str]
) -> list[Member]:
    """Read the live member records of the active entities in ``scope``.

    Memberships, entities and records are read in three statements, so that
    each filters its table by a list of keys instead of joining whole tables.
    """
    condition, params = one_of("entity_id", scope)
    memberships = connection.execute(
        f"SELECT entity_id, source, source_key FROM entity_members WHERE {condition}", params
    ).fetchall()
    entity_type = dict(
        connection.execute(
            f"SELECT entity_id, entity_type FROM entities WHERE {condition} AND status = 'active'",
            params,
        ).fetchall()
    )
    active = [row for row in memberships if row[0] in entity_type]
    records = _read_records(connection, sorted({key for _, _, key in active}), fields)
    return [
        Member(entity, entity_type[entity], source, key, *records[(source, key)])
        for entity, source, key in active
        if (source, key) in records
    ]


def _read_records(
    connection: duckdb.DuckDBPyConnection, keys: list[str], fields: list[str]
) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Return the version, change times and field values of the live records with ``keys``."""
    paths = json_paths(fields)
    condition, params = one_of("source_key", keys)
    rows = connection.execute(
        f"""
        WITH chosen AS (
            SELECT source, source_key, version, data,
                   TRY_CAST(data->>'updated_at' AS TIMESTAMP) AS source_time,
                   coalesce(TRY_CAST(data->>'updated_at' AS TIMESTAMP), changed_at)
                       AS observed_at
            FROM source_records
            WHERE {condition} AND deleted_at IS NULL)
        SELECT source, source_key, version, epoch(source_time), epoch(observed_at),
               CAST(observed_at AS VARCHAR), json_extract(data, {paths}),
               json_extract_string(data, {paths})
        FROM chosen
        """,
        params,
    ).fetchall()
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def _insert_ordered(
    connection: duckdb.DuckDBPyConnection, groups: FieldGroups, grouped: Grouped, run_id: int
) -> NewValues:
    """Insert the values of the fields with ordered rules; return them."""
    spec_of = {field: spec for spec, group in groups for field in group}
    choices = [
        choose(entity, field, group, spec_of[field])
        for (entity, field), group in sorted(grouped.items())
        if spec_of[field].rules[0] not in AGGREGATE_RULES
    ]
    if not choices:
        return {}
    connection.complete()
    # Read by the INSERT below through DuckDB's replacement scan of local variables.
    accord_choices = pa.table(  # noqa: F841
        {
            "entity_id": pa.array([c.entity_id for c in choices], pa.string()),
            "field": pa.array([c.field for c in choices], pa.string()),
            "value": pa.array([c.value for c in choices], pa.string()),
            "rule": pa.array([c.rule for c in choices], pa.string()),
            "source": pa.array([c.source for c in choices], pa.string()),
            "source_key": pa.array([c.source_key for c in choices], pa.string()),
            "version": pa.array([c.version for c in choices], pa.int64()),
            "observed_at": pa.array([c.observed_at for c in choices], pa.string()),
            "all_values": pa.array([c.all_values for c in choices], pa.list_(pa.string())),
        }
    )
    connection.execute(
        """INSERT INTO golden_values
           SELECT entity_id, field, value, rule, source, source_key, version,
                  CAST(observed_at AS TIMESTAMP), to_json(all_values), NULL, ?
           FROM accord_choices""",
        [run_id],
    )
    return {(c.entity_id, c.field): (c.value, c.source) for c in choices}


def _insert_aggregates(
    connection: duckdb.DuckDBPyConnection, groups: FieldGroups, grouped: Grouped, run_id: int
) -> NewValues:
    """Insert the values of the fields with an aggregate rule, combined in SQL; return them."""
    rules: dict[str, list[str]] = defaultdict(list)
    for spec, group in groups:
        if spec.rules[0] in AGGREGATE_RULES:
            rules[spec.rules[0]] += group
    aggregated = {field for group in rules.values() for field in group}
    rows = [(key, c) for key, group in grouped.items() if key[1] in aggregated for c in group]
    if not rows:
        return {}
    table = pa.table(
        {
            "entity_id": pa.array([key[0] for key, _ in rows], pa.string()),
            "field": pa.array([key[1] for key, _ in rows], pa.string()),
            "value_text": pa.array([c.text for _, c in rows], pa.string()),
            "observed_at": pa.array([c.member.observed_at for _, c in rows], pa.string()),
            "source": pa.array([c.member.source for _, c in rows], pa.string()),
            "source_key": pa.array([c.member.source_key for _, c in rows], pa.string()),
        }
    )
    new: NewValues = {}
    register(connection, AGGREGATE_ROWS, table)
    try:
        for rule, group in rules.items():
            select = aggregate_select(group, rule, _AGGREGATE_CANDIDATES)
            inserted = connection.execute(
                f"INSERT INTO golden_values {select} RETURNING entity_id, field, value, source",
                [run_id],
            ).fetchall()
            new |= {(entity, field): (value, source) for entity, field, value, source in inserted}
    finally:
        connection.unregister(AGGREGATE_ROWS)
    return new


AGGREGATE_ROWS = "accord_aggregate_rows"
_AGGREGATE_CANDIDATES = f"""(
    SELECT entity_id, field, value_text, CAST(observed_at AS TIMESTAMP) AS observed_at,
           source, source_key
    FROM {AGGREGATE_ROWS}) AS candidates"""


def _log_changes(
    connection: duckdb.DuckDBPyConnection, run_id: int, previous: Values, new: NewValues
) -> int:
    """Insert a ``golden_changes`` row per value that differs from before; return the count."""
    changed: list[tuple[tuple[str, str], str | None, str | None, str | None]] = []
    for key in sorted(previous.keys() | new.keys()):
        value, source = new.get(key, (None, None))
        old = previous.get(key)
        if old != value:
            changed.append((key, old, value, source))
    if not changed:
        return 0
    connection.complete()
    accord_changes = _changes_table(changed)  # noqa: F841
    connection.execute(
        """INSERT INTO golden_changes
           SELECT ?, entity_id, field, old_value, new_value, source, now()::TIMESTAMP
           FROM accord_changes""",
        [run_id],
    )
    return len(changed)


def _changes_table(
    changed: Sequence[tuple[tuple[str, str], str | None, str | None, str | None]],
) -> pa.Table:
    return pa.table(
        {
            "entity_id": pa.array([key[0] for key, _, _, _ in changed], pa.string()),
            "field": pa.array([key[1] for key, _, _, _ in changed], pa.string()),
            "old_value": pa.array([old for _, old, _, _ in changed], pa.string()),
            "new_value": pa.array([new for _, _, new, _ in changed], pa.string()),
            "source": pa.array([source for _, _, _, source in changed], pa.string()),
        }
    )
