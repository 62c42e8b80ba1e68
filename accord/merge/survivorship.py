"""Field-level survivorship: choose each golden value and record its lineage.

Every member record's value of every golden field becomes a candidate row.
Each survivorship rule turns into a numeric sort key (smaller wins), so an
ordered rule list is one ``ORDER BY``: a tie on one rule falls through to
the next, and source name then source key break any remaining tie. The
rule recorded as having chosen a value is the first rule that separates the
winner from the best candidate with a different value; ``agreement`` means
every candidate had the same value and ``single_source`` that there was one.
Aggregate rules (sum, max, min, count, union) combine all candidates and
list every contributing record.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import duckdb
import pyarrow as pa

from accord.config.models import AGGREGATE_RULES, FieldSurvivorship, Project
from accord.config.semantics import canonical_field_names
from accord.logs import get_logger
from accord.merge.choice import ORGANIZATION_FIELDS
from accord.store.bulk import register

logger = get_logger(__name__)

CANDIDATES = "accord_candidates"
# Fields that describe the record, not the customer, and never become golden values.
_NOT_GOLDEN = {"updated_at"}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


SCOPE = "accord_merge_scope"
# Member records per part of a full merge (see _choose_in_parts).
PART_RECORDS = 250_000


def golden_fields(connection: duckdb.DuckDBPyConnection, project: Project) -> list[str]:
    """Return the canonical fields that appear in at least one live record."""
    rows = connection.execute(
        "SELECT DISTINCT unnest(json_keys(data)) FROM source_records WHERE deleted_at IS NULL"
    ).fetchall()
    present = {row[0] for row in rows}
    return sorted(present & set(golden_field_names(project)))


def golden_field_names(project: Project) -> list[str]:
    """Return the canonical fields that can become golden values, sorted."""
    return sorted(canonical_field_names(project) - _NOT_GOLDEN)


def organization_sources(project: Project) -> list[str]:
    """Return the names of the sources whose records describe organizations."""
    return [source.name for source in project.sources if source.entity_type == "organization"]


def json_paths(fields: list[str]) -> str:
    """Return the SQL list of the JSON paths of ``fields`` in a record's data."""
    return "[" + ", ".join(_quote(f'$."{f}"') for f in fields) + "]"


def build_candidates(
    connection: duckdb.DuckDBPyConnection,
    fields: list[str],
    organization_sources: list[str],
    scoped: bool = False,
) -> int:
    """Create the candidate table: one row per entity, field and member record value.

    A person record that names a company contributes only the company fields
    to that organization's golden record; records of organization sources
    contribute every field. With ``scoped``, only the entities in the
    ``accord_merge_scope`` table take part.
    """
    org_fields = ", ".join(_quote(f) for f in ORGANIZATION_FIELDS)
    org_sources = ", ".join(_quote(s) for s in organization_sources) or "NULL"
    names = "[" + ", ".join(_quote(f) for f in fields) + "]"
    paths = json_paths(fields)
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {CANDIDATES} AS
        WITH {scoped_tables() if scoped else ""}
        members AS (
            SELECT m.entity_id, e.entity_type, r.source, r.source_key, r.version,
                   TRY_CAST(r.data->>'updated_at' AS TIMESTAMP) AS source_time,
                   coalesce(TRY_CAST(r.data->>'updated_at' AS TIMESTAMP), r.changed_at)
                       AS observed_at,
                   json_extract(r.data, {paths}) AS values_json,
                   json_extract_string(r.data, {paths}) AS values_text
            FROM {"scope_members" if scoped else "entity_members"} m
            JOIN {"scope_entities" if scoped else "entities"} e
                ON e.entity_id = m.entity_id AND e.status = 'active'
            JOIN {"scope_records" if scoped else "source_records"} r
                ON r.source = m.source AND r.source_key = m.source_key
            WHERE r.deleted_at IS NULL),
        expanded AS (
            SELECT entity_id, entity_type, source, source_key, version, source_time,
                   observed_at,
                   len(list_filter(values_text, lambda x: x IS NOT NULL AND x <> ''))
                       AS completeness,
                   unnest({names}) AS field,
                   unnest(values_json) AS value,
                   unnest(values_text) AS value_text
            FROM members)
        SELECT *, count(*) OVER (PARTITION BY entity_id, field) AS candidates
        FROM expanded WHERE value_text IS NOT NULL AND value_text <> ''
          AND (entity_type = 'person' OR field IN ({org_fields}) OR source IN ({org_sources}))
        """
    )
    row = connection.execute(f"SELECT count(*) FROM {CANDIDATES}").fetchone()
    return int(row[0]) if row else 0


def scoped_tables() -> str:
    """Return CTEs of the members, entities and records of the entities in the merge scope.

    Each reads by one indexed column, so with the stream worker's indexes a
    scoped merge reads only its own rows.
    """
    return f"""
        scope_members AS MATERIALIZED (
            SELECT entity_id, source, source_key FROM entity_members
            WHERE entity_id IN (SELECT entity_id FROM {SCOPE})),
        scope_entities AS MATERIALIZED (
            SELECT entity_id, entity_type, status FROM entities
            WHERE entity_id IN (SELECT entity_id FROM scope_members)),
        scope_records AS MATERIALIZED (
            SELECT source, source_key, version, data, changed_at, deleted_at
            FROM source_records
            WHERE source_key IN (SELECT source_key FROM scope_members)),"""


def _rule_key(rule: str, sources: list[str]) -> str:
    if rule == "source_priority":
        cases = " ".join(f"WHEN {_quote(s)} THEN {i}" for i, s in enumerate(sources))
        return f"CASE source {cases} ELSE {len(sources)} END"
    if rule == "most_recent":
        # The source's own change time ranks first; a record without one ranks
        # after every record that has one, by when Accord saw it change.
        return "-coalesce(epoch(source_time), epoch(observed_at) - 1e12, -1e18)"
    if rule == "most_frequent":
        return "-count(*) OVER (PARTITION BY entity_id, field, value_text)"
    if rule == "most_complete":
        return "-completeness"
    if rule == "longest":
        return "-length(value_text)"
    raise ValueError(f"not an ordering rule: {rule}")


def choose_ordered(
    connection: duckdb.DuckDBPyConnection, fields: list[str], spec: FieldSurvivorship, run_id: int
) -> None:
    """Insert golden values for ``fields`` chosen by an ordered rule list."""
    rules = list(spec.rules)
    keys = [_rule_key(rule, spec.sources or []) for rule in rules]
    key_columns = ", ".join(f"{key} AS k{i}" for i, key in enumerate(keys))
    order = ", ".join(f"k{i}" for i in range(len(keys)))
    deciding = " ".join(
        f"WHEN w.k{i} IS DISTINCT FROM ru.k{i} THEN {_quote(rule)}" for i, rule in enumerate(rules)
    )
    field_list = ", ".join(_quote(f) for f in fields)
    # One candidate needs no ranking; most fields of most entities have one.
    connection.execute(
        f"""
        INSERT INTO golden_values
        WITH keyed AS (
            SELECT *, {key_columns} FROM {CANDIDATES}
            WHERE candidates > 1 AND field IN ({field_list})),
        ranked AS (
            SELECT *, row_number() OVER (
                       PARTITION BY entity_id, field ORDER BY {order}, source, source_key) AS rn
            FROM keyed),
        winners AS (SELECT * FROM ranked WHERE rn = 1),
        runners AS (
            SELECT r.* FROM ranked r JOIN winners w USING (entity_id, field)
            WHERE r.value_text <> w.value_text
            QUALIFY row_number() OVER (PARTITION BY r.entity_id, r.field ORDER BY r.rn) = 1),
        distinct_values AS (
            SELECT entity_id, field, list(DISTINCT value_text ORDER BY value_text) AS values_list
            FROM keyed GROUP BY entity_id, field)
        SELECT w.entity_id, w.field, w.value,
               CASE WHEN ru.entity_id IS NULL THEN 'agreement'
                    {deciding}
                    ELSE 'tie_break' END,
               w.source, w.source_key, w.version, w.observed_at,
               CASE WHEN len(d.values_list) > 1 THEN to_json(d.values_list) END,
               NULL, ?
        FROM winners w
        LEFT JOIN runners ru USING (entity_id, field)
        JOIN distinct_values d USING (entity_id, field)
        UNION ALL
        SELECT entity_id, field, value, 'single_source', source, source_key, version,
               observed_at, NULL, NULL, ?
        FROM {CANDIDATES} WHERE candidates = 1 AND field IN ({field_list})
        """,
        [run_id, run_id],
    )


# Numbers are combined in the order of source and source key, so that a
# floating-point sum, or a tie between -0.0 and 0.0, does not depend on the
# order in which DuckDB reads the rows.
_ORDERED = "ORDER BY source, source_key"
_NUMBER = "TRY_CAST(value_text AS DOUBLE)"
_AGGREGATES = {
    # An integer sum only when every value is written as an integer: DuckDB's cast of '99.99'
    # to an integer rounds it.
    "sum": "CASE WHEN bool_and(regexp_full_match(trim(value_text), '[+-]?[0-9]+')) "
    f"THEN to_json(list_sum(list(TRY_CAST(value_text AS HUGEINT) {_ORDERED}))) "
    f"ELSE to_json(list_sum(list({_NUMBER} {_ORDERED}))) END",
    "count": "to_json(count(*))",
    "union": "to_json(list(DISTINCT value_text ORDER BY value_text))",
    "max": f"CASE WHEN count({_NUMBER}) = count(*) "
    f"THEN to_json(list_max(list({_NUMBER} {_ORDERED}))) ELSE to_json(max(value_text)) END",
    "min": f"CASE WHEN count({_NUMBER}) = count(*) "
    f"THEN to_json(list_min(list({_NUMBER} {_ORDERED}))) ELSE to_json(min(value_text)) END",
}


def aggregate_select(fields: list[str], rule: str, candidates: str = CANDIDATES) -> str:
    """Return the SELECT of the golden values of ``fields`` that combine every candidate.

    The query reads ``candidates`` (the candidate table, or a subquery with
    its columns) and takes the run ID as its one parameter.
    """
    field_list = ", ".join(_quote(f) for f in fields)
    return f"""
        SELECT entity_id, field, {_AGGREGATES[rule]}, {_quote(rule)}, NULL, NULL, NULL,
               max(observed_at), NULL,
               to_json(list(source || ':' || source_key ORDER BY source, source_key)), ?
        FROM {candidates} WHERE field IN ({field_list})
        GROUP BY entity_id, field
        """


def choose_aggregate(
    connection: duckdb.DuckDBPyConnection, fields: list[str], rule: str, run_id: int
) -> None:
    """Insert golden values for ``fields`` that combine every candidate."""
    connection.execute(f"INSERT INTO golden_values {aggregate_select(fields, rule)}", [run_id])


def merge_golden(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    run_id: int,
    entity_ids: list[str] | None = None,
) -> int:
    """Replace golden values, log the differences in ``golden_changes``, return their count.

    Every entity's values are replaced, or with ``entity_ids`` only those
    entities' (IDs of entities merged away or dissolved belong in the list
    too, so that their old values are removed). A value that exists only
    before is logged with a null new value (its entity merged away or lost
    the field), one that exists only after with a null old value.
    """
    scoped = entity_ids is not None
    where = ""
    if entity_ids is not None:
        scope = pa.table({"entity_id": pa.array(sorted(set(entity_ids)), pa.string())})
        register(connection, SCOPE, scope)
        where = f" WHERE entity_id IN (SELECT entity_id FROM {SCOPE})"
    try:
        _save_previous(connection, where, scoped)
        # A scoped merge covers few records; reading which fields they hold costs
        # more than extracting every field, which gives the same candidates.
        fields = golden_field_names(project) if scoped else golden_fields(connection, project)
        if fields and scoped:
            _choose(connection, project, fields, run_id, scoped=True)
        elif fields:
            _choose_in_parts(connection, project, fields, run_id)
        row = connection.execute(
            f"""
            INSERT INTO golden_changes
            SELECT ?, coalesce(g.entity_id, p.entity_id), coalesce(g.field, p.field), p.value,
                   g.value, g.source, now()::TIMESTAMP
            FROM (SELECT * FROM golden_values{where}) g
            FULL JOIN (SELECT entity_id, field, CAST(value AS JSON) AS value FROM {PREVIOUS}) p
                USING (entity_id, field)
            WHERE g.value IS DISTINCT FROM p.value
            """,
            [run_id],
        ).fetchone()
    finally:
        if scoped:
            connection.unregister(PREVIOUS)
            connection.unregister(SCOPE)
    if not scoped:
        connection.execute(f"DROP TABLE {PREVIOUS}")
    return int(row[0]) if row else 0


PREVIOUS = "accord_previous_golden"


def _save_previous(connection: duckdb.DuckDBPyConnection, where: str, scoped: bool) -> None:
    """Delete the golden values ``where`` selects and keep them as ``accord_previous_golden``.

    A scoped merge takes the deleted rows from ``DELETE ... RETURNING`` as
    an Arrow table, which saves two statements. A full merge copies them
    into a temp table first, so that they are not held in Python memory.
    """
    if scoped:
        rows = connection.execute(
            f"DELETE FROM golden_values{where} RETURNING entity_id, field, value"
        ).fetchall()
        previous = pa.table(
            {
                "entity_id": pa.array([row[0] for row in rows], pa.string()),
                "field": pa.array([row[1] for row in rows], pa.string()),
                "value": pa.array([row[2] for row in rows], pa.string()),
            }
        )
        register(connection, PREVIOUS, previous)
        return
    connection.execute(
        f"CREATE OR REPLACE TEMP TABLE {PREVIOUS} AS "
        f"SELECT entity_id, field, value FROM golden_values{where}"
    )
    connection.execute(f"DELETE FROM golden_values{where}")


def _choose(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    fields: list[str],
    run_id: int,
    scoped: bool,
) -> None:
    """Insert the golden values of every entity, or of the entities in the merge scope."""
    build_candidates(connection, fields, organization_sources(project), scoped)
    for spec, group in field_groups(project, fields):
        rule = spec.rules[0]
        if rule in AGGREGATE_RULES:
            choose_aggregate(connection, group, rule, run_id)
        else:
            choose_ordered(connection, group, spec, run_id)
    connection.execute(f"DROP TABLE {CANDIDATES}")


def _choose_in_parts(
    connection: duckdb.DuckDBPyConnection, project: Project, fields: list[str], run_id: int
) -> None:
    """Insert the golden values of every entity, a share of the entities at a time.

    The candidate table has a row per member record and field, and its
    window queries spill to disk once it outgrows the memory cap. Entities
    are split by a hash of their ID into parts of about ``PART_RECORDS``
    member records, each built and chosen as a scoped merge.
    """
    row = connection.execute("SELECT count(*) FROM entity_members").fetchone()
    parts = max(1, -(-int(row[0] if row else 0) // PART_RECORDS))
    if parts == 1:
        _choose(connection, project, fields, run_id, scoped=False)
        return
    for part in range(parts):
        connection.execute(
            f"""CREATE OR REPLACE TEMP TABLE {SCOPE} AS SELECT entity_id FROM entities
                WHERE hash(entity_id) % {parts} = {part}"""
        )
        _choose(connection, project, fields, run_id, scoped=True)
    connection.execute(f"DROP TABLE {SCOPE}")


def field_groups(project: Project, fields: list[str]) -> list[tuple[FieldSurvivorship, list[str]]]:
    """Return the fields grouped by their survivorship rules, each group with its rules."""
    default = FieldSurvivorship(rules=list(project.survivorship.default))
    grouped: dict[str, tuple[FieldSurvivorship, list[str]]] = {}
    members: dict[str, list[str]] = defaultdict(list)
    for field in fields:
        spec = project.survivorship.fields.get(field, default)
        marker = json.dumps(spec.model_dump(), sort_keys=True)
        grouped.setdefault(marker, (spec, members[marker]))
        members[marker].append(field)
    return list(grouped.values())


def golden_record(connection: duckdb.DuckDBPyConnection, entity_id: str) -> list[dict[str, Any]]:
    """Return the golden values of one entity with their lineage."""
    cursor = connection.execute(
        """SELECT field, value, rule, source, source_key, version, observed_at, all_values,
                  contributors
           FROM golden_values WHERE entity_id = ? ORDER BY field""",
        [entity_id],
    )
    names = [column[0] for column in cursor.description or []]
    rows = []
    for row in cursor.fetchall():
        item = dict(zip(names, row, strict=True))
        for key in ("value", "all_values", "contributors"):
            if item[key] is not None:
                item[key] = json.loads(item[key])
        rows.append(item)
    return rows
