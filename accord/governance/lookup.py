"""Find an entity by entity ID, retired alias, record ID, source key or email."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from accord.errors import NotFoundError


@dataclass(frozen=True)
class EntityView:
    """An entity with its members, golden values and related entities."""

    entity_id: str
    entity_type: str
    status: str
    requested_alias: str | None
    members: list[dict[str, Any]]
    golden: list[dict[str, Any]]
    related: list[tuple[str, str]]


def resolve_entity_id(connection: duckdb.DuckDBPyConnection, key: str) -> tuple[str, str | None]:
    """Return (current entity ID, alias used) for any key that identifies a customer."""
    row = connection.execute(
        "SELECT entity_id FROM entities WHERE entity_id = ? AND status = 'active'", [key]
    ).fetchone()
    if row:
        return row[0], None
    row = connection.execute(
        "SELECT entity_id FROM entity_aliases WHERE alias_id = ?", [key]
    ).fetchone()
    if row:
        return row[0], key
    row = connection.execute(
        """SELECT m.entity_id FROM entity_members m
           JOIN entities e ON e.entity_id = m.entity_id AND e.entity_type = 'person'
           JOIN source_records r ON r.source = m.source AND r.source_key = m.source_key
           WHERE m.record_id = ? OR m.source_key = ?
              OR lower(r.data->>'email') = lower(?) OR r.data->>'email_key' = lower(?)
           ORDER BY m.entity_id LIMIT 1""",
        [key, key, key, key],
    ).fetchone()
    if row:
        return row[0], None
    row = connection.execute(
        "SELECT status, merged_into FROM entities WHERE entity_id = ?", [key]
    ).fetchone()
    if row:
        raise NotFoundError(f"entity '{key}' is {row[0]}; it has no current records")
    raise NotFoundError(f"no customer found for '{key}'; try 'accord search TEXT'")


def entity_view(connection: duckdb.DuckDBPyConnection, key: str) -> EntityView:
    """Return the entity that ``key`` identifies, with members and golden values."""
    from accord.merge.survivorship import golden_record

    entity_id, alias = resolve_entity_id(connection, key)
    entity_type, status = connection.execute(
        "SELECT entity_type, status FROM entities WHERE entity_id = ?", [entity_id]
    ).fetchone() or ("?", "?")
    cursor = connection.execute(
        """SELECT m.source, m.source_key, r.version, r.data->>'email' AS email,
                  coalesce(r.data->>'full_name',
                           concat_ws(' ', r.data->>'first_name', r.data->>'last_name')) AS name
           FROM entity_members m JOIN source_records r USING (source, source_key)
           WHERE m.entity_id = ? ORDER BY m.source, m.source_key""",
        [entity_id],
    )
    names = [column[0] for column in cursor.description or []]
    members = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    column = "person_id" if entity_type == "person" else "organization_id"
    other = "organization_id" if entity_type == "person" else "person_id"
    related = connection.execute(
        f"""SELECT l.{other}, coalesce(json_extract_string(g.value, '$'), '')
            FROM entity_links l LEFT JOIN golden_values g
              ON g.entity_id = l.{other} AND g.field = ?
            WHERE l.{column} = ? ORDER BY 1""",
        ["company_name" if entity_type == "person" else "last_name", entity_id],
    ).fetchall()
    return EntityView(
        entity_id,
        entity_type,
        status,
        alias,
        members,
        golden_record(connection, entity_id),
        [(r[0], r[1]) for r in related],
    )
