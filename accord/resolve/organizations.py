"""Organizations: records that name the same company become one organization entity.

Two records belong to one organization when they share the registrable
company domain or the company name key (legal suffixes and punctuation
removed). Free-mail domains never link. A person entity links to the
organizations its member records name, so an account's contacts can be
listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Container, Mapping
from datetime import datetime

import duckdb
import pyarrow as pa

from accord.config.models import Project
from accord.logs import get_logger
from accord.resolve.clustering import Edge, cluster
from accord.resolve.entities import save_entities
from accord.resolve.inputs import record_filter
from accord.resolve.record_keys import Written, company_keys, from_written
from accord.store.bulk import insert_columns, register

logger = get_logger(__name__)

ORGANIZATION_TABLE = "accord_org_input"


def _keys_query(scope: str = "") -> str:
    """Return the SELECT of the company keys of the live records, or those ``scope`` selects.

    The records are chosen before any JSON is read, so a scoped query reads
    only the chosen records' data.
    """
    materialized = "MATERIALIZED" if scope else ""
    return f"""
        WITH chosen AS {materialized} (
            SELECT source, source_key, data FROM source_records
            WHERE deleted_at IS NULL {scope}),
        keys AS (
            SELECT source || ':' || source_key AS record_id,
                   nullif(data->>'company_name_key', '') AS name_key,
                   CASE WHEN coalesce(TRY_CAST(data->>'company_is_freemail' AS BOOLEAN), FALSE)
                        THEN NULL ELSE nullif(data->>'company_domain', '') END AS domain,
                   nullif(data->>'company_domain', '') IS NOT NULL AS has_domain
            FROM chosen)
        SELECT record_id, name_key, domain FROM keys
        WHERE name_key IS NOT NULL OR has_domain
        """


KeyRow = tuple[str, str | None, str | None]


def _written_keys(changed: list[str], written: Written) -> tuple[list[str], list[KeyRow]]:
    """Return the changed records that need the SQL path, and the key rows of the others."""
    unread, keys = from_written(changed, written, lambda _, data: company_keys(data))
    rows = [
        (record_id, name_key, domain)
        for record_id, found in keys.items()
        for name_key, domain in found
    ]
    return unread, rows


def _build(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the company keys table from the live records."""
    connection.execute(f"CREATE OR REPLACE TEMP TABLE {ORGANIZATION_TABLE} AS {_keys_query()}")


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
    _insert_links(connection)
    connection.execute(f"DROP TABLE {ORGANIZATION_TABLE}")
    logger.info("organizations: %d from %d company mentions", changes.entities, len(nodes))
    return changes.entities


def replace_links(
    connection: duckdb.DuckDBPyConnection, person_ids: list[str], links: list[tuple[str, str]]
) -> None:
    """Replace the organization links of the given person entities with ``links``."""
    scope = pa.table({"entity_id": pa.array(sorted(set(person_ids)), pa.string())})
    register(connection, "accord_link_scope", scope)
    try:
        connection.execute(
            "DELETE FROM entity_links WHERE person_id IN (SELECT entity_id FROM accord_link_scope)"
        )
    finally:
        connection.unregister("accord_link_scope")
    _write_links(connection, links)


def _insert_links(connection: duckdb.DuckDBPyConnection) -> None:
    links = connection.execute(
        """SELECT DISTINCT p.entity_id, o.entity_id
           FROM entity_members p
           JOIN entities pe ON pe.entity_id = p.entity_id AND pe.entity_type = 'person'
           JOIN entity_members o ON o.record_id = p.record_id
           JOIN entities oe ON oe.entity_id = o.entity_id AND oe.entity_type = 'organization'
           ORDER BY 1, 2"""
    ).fetchall()
    _write_links(connection, links)


def _write_links(connection: duckdb.DuckDBPyConnection, links: list[tuple[str, str]]) -> None:
    insert_columns(
        connection,
        "entity_links",
        {
            "person_id": [person for person, _ in links],
            "organization_id": [organization for _, organization in links],
        },
    )


CompanyKey = tuple[str, str]


class OrganizationIndex:
    """Company keys of the live records and their organizations, for incremental clustering.

    Organizations are the connected components of records that share a
    company name key or domain, so the records whose organization a change
    can alter are those connected to a changed record before or after it.
    """

    def __init__(self) -> None:
        self.keys: dict[str, list[CompanyKey]] = {}
        self.buckets: dict[CompanyKey, set[str]] = defaultdict(set)
        self.entity_of: dict[str, str] = {}
        self.members: dict[str, set[str]] = defaultdict(set)

    @classmethod
    def load(cls, connection: duckdb.DuckDBPyConnection) -> OrganizationIndex:
        """Read the company keys of every live record and the organization members."""
        index = cls()
        _build(connection)
        for record_id, name_key, domain in connection.execute(
            f"SELECT record_id, name_key, domain FROM {ORGANIZATION_TABLE}"
        ).fetchall():
            index._add(record_id, name_key, domain)
        connection.execute(f"DROP TABLE {ORGANIZATION_TABLE}")
        rows = connection.execute(
            """SELECT m.record_id, m.entity_id FROM entity_members m JOIN entities e
               USING (entity_id) WHERE e.status = 'active' AND e.entity_type = 'organization'"""
        ).fetchall()
        for record_id, entity in rows:
            index.entity_of[record_id] = entity
            index.members[entity].add(record_id)
        return index

    def _add(self, record_id: str, name_key: str | None, domain: str | None) -> None:
        keys = [("name", name_key)] if name_key else []
        keys += [("domain", domain)] if domain else []
        self.keys[record_id] = keys
        for key in keys:
            self.buckets[key].add(record_id)

    def _remove(self, record_id: str) -> None:
        for key in self.keys.pop(record_id, []):
            bucket = self.buckets.get(key)
            if bucket is not None:
                bucket.discard(record_id)
                if not bucket:
                    del self.buckets[key]

    def refresh(
        self,
        connection: duckdb.DuckDBPyConnection,
        changed: list[str],
        written: Written | None = None,
    ) -> None:
        """Replace the keys of ``changed`` with those of their stored versions.

        ``written`` maps each changed record that is live to its standardized
        data, and a changed record missing from it is deleted. Without it,
        every version is read from the store.
        """
        rows: list[KeyRow] = []
        if written is None:
            unread = changed
        else:
            unread, rows = _written_keys(changed, written)
        if unread:
            scope, params = record_filter(unread)
            rows += connection.execute(_keys_query(scope), params).fetchall()
        for record_id in changed:
            self._remove(record_id)
        for record_id, name_key, domain in rows:
            self._add(record_id, name_key, domain)

    def area(self, changed: list[str]) -> set[str]:
        """Return every record connected to a changed record before or after the change."""
        # NOTE: the area is the whole organization, so a new contact of a company with
        # tens of thousands of contacts costs a pass over all of them.
        area: set[str] = set()
        # Each entity and key is expanded once, so a large organization costs its size.
        entities: set[str] = set()
        keys: set[CompanyKey] = set()
        queue = list(changed)
        while queue:
            record_id = queue.pop()
            if record_id in area:
                continue
            area.add(record_id)
            entity = self.entity_of.get(record_id)
            if entity is not None and entity not in entities:
                entities.add(entity)
                queue.extend(self.members[entity])
            for key in self.keys.get(record_id, []):
                if key not in keys:
                    keys.add(key)
                    queue.extend(self.buckets[key])
        return area

    def labels(self, area: set[str]) -> dict[str, str]:
        """Cluster the live records of ``area`` by shared company keys."""
        nodes = sorted(record for record in area if record in self.keys)
        anchors: dict[CompanyKey, str] = {}
        edges = []
        for record in nodes:
            for key in self.keys[record]:
                anchor = anchors.get(key)
                if anchor is None:
                    anchor = anchors[key] = min(self.buckets[key])
                if anchor != record:
                    edges.append(Edge(record, anchor, 1.0))
        return cluster(nodes, edges)

    def links_of(
        self, person_ids: list[str], person_members: Mapping[str, set[str]]
    ) -> list[tuple[str, str]]:
        """Return the (person, organization) pairs whose entities share a member record."""
        links = {
            (person, self.entity_of[record_id])
            for person in person_ids
            for record_id in person_members.get(person, ())
            if record_id in self.entity_of
        }
        return sorted(links)

    def settle(self, area: set[str], entity_of: dict[str, str]) -> None:
        """Replace the organization membership of the area's records."""
        for record_id in area:
            entity = self.entity_of.pop(record_id, None)
            if entity is not None:
                self.members[entity].discard(record_id)
                if not self.members[entity]:
                    del self.members[entity]
        for record_id, entity in entity_of.items():
            self.entity_of[record_id] = entity
            self.members[entity].add(record_id)


def resolve_organizations_in_area(
    connection: duckdb.DuckDBPyConnection,
    index: OrganizationIndex,
    changed: list[str],
    now: datetime,
    run_id: int,
    reserved: Container[str],
    person_of: Mapping[str, str],
    written: Written | None = None,
) -> set[str]:
    """Re-cluster the organizations a change can alter; return the person entities to relink.

    ``changed`` lists the changed record IDs of every source, ``reserved``
    contains the entity IDs and aliases in the store, ``person_of`` maps
    each person record to its person entity, and ``written`` is as in
    ``OrganizationIndex.refresh``.
    """
    index.refresh(connection, changed, written)
    area = index.area(changed)
    if not any(record in index.keys or record in index.entity_of for record in area):
        # No record of the area names a company or belongs to an organization.
        return set()
    labels = index.labels(area)
    entity_of, _ = save_entities(
        connection, "organization", labels, now, run_id, sorted(area), reserved
    )
    index.settle(area, entity_of)
    return {person_of[record] for record in area if record in person_of}
