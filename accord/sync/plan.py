"""The change set of one destination: what differs from the last sync, in set-based SQL.

Records whose hash equals the last sent hash drop out first, unless the
tool changed the record since (its source record changed after the last
send). For the rest, a field is sent when:

- the record is new to the tool (an insert sends every field);
- the tool's current value is known and differs from the golden value.
  The value is known when the key source read the record after the last
  send, or when nothing was sent yet. This sends a value the tool changed
  back again, and skips a field whose golden value changed to what the tool
  already has, such as Accord's own write read back;
- otherwise, the value differs from the value last sent.

NOTE: a tool that moves its own update time when Accord writes to it makes
the echoed record the most recent one, so ``most_recent`` survivorship may
then prefer that tool's other values. Only the merge step can ignore such
echo-only versions.

An update with no field to send only refreshes the sync state. A record
that was sent before but no longer qualifies is deleted in ``mirror`` mode
and forgotten in the other modes. Records with a change still pending in
the outbox are left for that change.
"""

from __future__ import annotations

import duckdb

from accord.config.models import DestinationBase, Project
from accord.sync.conflicts import conflicts_sql
from accord.sync.desired import DESIRED, MappedField, entity_condition, mapped_fields
from accord.sync.sqltext import json_path, literal

PLAN = "accord_sync_plan"
SENDING_OPERATIONS = ("insert", "update", "delete")
_MODE_CONDITIONS = {
    "update": "operation = 'update'",
    "insert": "operation = 'insert'",
    "upsert": "TRUE",
    "mirror": "TRUE",
}


def _send_condition(field: MappedField) -> str:
    tool_check = (
        f"WHEN tool_known THEN tool_{field.index} IS DISTINCT FROM golden_{field.index}"
        if field.comparable
        else ""
    )
    path = json_path(field.tool)
    return f"""CASE WHEN operation = 'insert' THEN TRUE
        {tool_check}
        WHEN NOT has_state THEN TRUE
        ELSE CAST(json_extract(record, {path}) AS VARCHAR)
             IS DISTINCT FROM CAST(json_extract(state_payload, {path}) AS VARCHAR)
        END"""


def _field_list(fields: list[MappedField]) -> str:
    items = ", ".join(f"CASE WHEN {_send_condition(f)} THEN {literal(f.tool)} END" for f in fields)
    return f"list_filter([{items}], lambda name: name IS NOT NULL)"


def build_plan(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    destination: DestinationBase,
    entities: list[str] | None = None,
) -> None:
    """Create the temporary plan table from the desired records and the sync state.

    Columns: ``record_key``, ``entity_id``, ``operation`` (insert, update,
    delete, baseline or forget), ``record``, ``payload_hash``, ``fields``
    (tool fields to send) and ``fixes`` (golden fields whose conflict the
    change fixes).
    """
    fields = mapped_fields(project, destination)
    name = literal(destination.name)
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {PLAN} AS
        WITH busy AS (
            SELECT DISTINCT record_key FROM sync_outbox
            WHERE destination = {name} AND status = 'pending'),
        joined AS (
            SELECT d.*, s.record_key IS NOT NULL AS has_state, s.payload AS state_payload,
                   s.payload_hash AS state_hash,
                   d.member AND (s.record_key IS NULL OR d.tool_changed_at > s.sent_at)
                       AS tool_known
            FROM {DESIRED} d
            LEFT JOIN sync_state s ON s.destination = {name} AND s.record_key = d.record_key
            WHERE d.record_key NOT IN (SELECT record_key FROM busy)),
        candidates AS (
            SELECT *, CASE WHEN member OR has_state THEN 'update' ELSE 'insert' END AS operation
            FROM joined
            WHERE NOT has_state OR payload_hash <> state_hash OR tool_known),
        moded AS (SELECT * FROM candidates WHERE {_MODE_CONDITIONS[destination.mode]}),
        listed AS (
            SELECT record_key, entity_id, operation, record, payload_hash,
                   {_field_list(fields)} AS fields
            FROM moded)
        SELECT record_key, entity_id,
               CASE WHEN operation = 'update' AND len(fields) = 0 THEN 'baseline'
                    ELSE operation END AS operation,
               record, payload_hash, fields, []::VARCHAR[] AS fixes
        FROM listed
        """
    )
    _add_orphans(connection, destination, entities)
    if destination.key.source is not None and any(f.comparable for f in fields):
        _mark_fixes(connection, project, destination, fields)


def _add_orphans(
    connection: duckdb.DuckDBPyConnection,
    destination: DestinationBase,
    entities: list[str] | None,
) -> None:
    operation = "'delete'" if destination.mode == "mirror" else "'forget'"
    limit = entity_condition("s.entity_id", entities)
    name = literal(destination.name)
    connection.execute(
        f"""
        INSERT INTO {PLAN}
        SELECT s.record_key, s.entity_id, {operation}, s.payload, s.payload_hash,
               []::VARCHAR[], []::VARCHAR[]
        FROM sync_state s
        WHERE s.destination = {name} {limit}
          AND NOT EXISTS (SELECT 1 FROM {DESIRED} d WHERE d.record_key = s.record_key)
          AND s.record_key NOT IN (
              SELECT record_key FROM sync_outbox
              WHERE destination = {name} AND status = 'pending')
        """
    )


def _mark_fixes(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    destination: DestinationBase,
    fields: list[MappedField],
) -> None:
    """Fill ``fixes`` with the conflicting golden fields that each change writes."""
    pairs = ", ".join(f"({literal(f.tool)}, {literal(f.golden)})" for f in fields if f.comparable)
    tool = literal(destination.key.source or "")
    connection.execute(
        f"""
        UPDATE {PLAN} p SET fixes = found.fixes
        FROM (
            SELECT p.record_key, list(DISTINCT c.field ORDER BY c.field) AS fixes
            FROM {PLAN} p, unnest(p.fields) AS sent(tool_field)
            JOIN (VALUES {pairs}) AS mapping(tool_field, golden) USING (tool_field)
            JOIN ({conflicts_sql(project)}) c
              ON c.tool = {tool} AND c.source_key = p.record_key AND c.field = mapping.golden
            GROUP BY p.record_key) found
        WHERE p.record_key = found.record_key
        """
    )
