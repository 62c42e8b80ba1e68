"""Organizations: records that name the same company become one organization entity.

Two records belong to one organization when they share the registrable
company domain or the company name key (legal suffixes and punctuation
removed). Free-mail domains never link. A person entity links to the
organizations its member records name, so an account's contacts can be
listed.
"""

from __future__ import annotations

import logging
from datetime import datetime

import duckdb

from accord.config.models import Project
from accord.resolve.clustering import Edge, cluster
from accord.resolve.entities import save_entities
from accord.store.bulk import insert_columns

logger = logging.getLogger(__name__)

ORGANIZATION_TABLE = "accord_org_input"


def _build(connection: duckdb.DuckDBPyConnection) -> None:
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ORGANIZATION_TABLE} AS
        SELECT source || ':' || source_key AS record_id,
               nullif(data->>'company_name_key', '') AS name_key,
               CASE WHEN coalesce(TRY_CAST(data->>'company_is_freemail' AS BOOLEAN), FALSE)
                    THEN NULL ELSE nullif(data->>'company_domain', '') END AS domain
        FROM source_records
        WHERE deleted_at IS NULL
          AND (nullif(data->>'company_name_key', '') IS NOT NULL
               OR nullif(data->>'company_domain', '') IS NOT NULL)
        """
    )


def _edges(connection: duckdb.DuckDBPyConnection, column: str) -> list[Edge]:
    rows = connection.execute(
        f"""SELECT record_id, min(record_id) OVER (PARTITION BY {column})
            FROM {ORGANIZATION_TABLE} WHERE {column} IS NOT NULL"""
    ).fetchall()
    return [Edge(record, anchor, 1.0) for record, anchor in rows if record != anchor]


def resolve_organizations(
    connection: duckdb.DuckDBPyConnection, project: Project, now: datetime, run_id: int
) -> int:
    """Cluster company mentions into organization entities and link persons to them."""
    _build(connection)
    nodes = [
        row[0]
        for row in connection.execute(
            f"SELECT record_id FROM {ORGANIZATION_TABLE} ORDER BY record_id"
        ).fetchall()
    ]
    edges = _edges(connection, "domain") + _edges(connection, "name_key")
    labels = cluster(nodes, edges)
    _, changes = save_entities(connection, "organization", labels, now, run_id)
    connection.execute("DELETE FROM entity_links")
    _insert_links(connection, "")
    connection.execute(f"DROP TABLE {ORGANIZATION_TABLE}")
    logger.info("organizations: %d from %d company mentions", changes.entities, len(nodes))
    return changes.entities


def refresh_links(connection: duckdb.DuckDBPyConnection, person_ids: list[str]) -> None:
    """Rebuild the organization links of the given person entities only."""
    connection.execute("CREATE OR REPLACE TEMP TABLE accord_link_scope (entity_id VARCHAR)")
    insert_columns(connection, "accord_link_scope", {"entity_id": sorted(set(person_ids))})
    connection.execute(
        "DELETE FROM entity_links WHERE person_id IN (SELECT entity_id FROM accord_link_scope)"
    )
    _insert_links(connection, "AND p.entity_id IN (SELECT entity_id FROM accord_link_scope)")
    connection.execute("DROP TABLE accord_link_scope")


def _insert_links(connection: duckdb.DuckDBPyConnection, scope: str) -> None:
    links = connection.execute(
        f"""SELECT DISTINCT p.entity_id, o.entity_id
           FROM entity_members p
           JOIN entities pe ON pe.entity_id = p.entity_id AND pe.entity_type = 'person'
           JOIN entity_members o ON o.record_id = p.record_id
           JOIN entities oe ON oe.entity_id = o.entity_id AND oe.entity_type = 'organization'
           WHERE TRUE {scope}
           ORDER BY 1, 2"""
    ).fetchall()
    insert_columns(
        connection,
        "entity_links",
        {
            "person_id": [person for person, _ in links],
            "organization_id": [organization for _, organization in links],
        },
    )
