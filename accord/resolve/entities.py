"""Write clusters to the store as entities with stable IDs."""

from __future__ import annotations

import hashlib
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from accord.logs import get_logger
from accord.resolve.inputs import split_record_id
from accord.resolve.stable_ids import IdAssignment, NewIdFunction, assign_ids
from accord.store.bulk import insert_columns, insert_rows, register
from accord.store.indexes import one_of

logger = get_logger(__name__)


@dataclass
class EntityChanges:
    """How one run changed the entities of one type."""

    entities: int
    created: int
    merged: int
    split: int
    dissolved: int
    unchanged: int


def _id_factory(prefix: str) -> NewIdFunction:
    def new_id(members: tuple[str, ...], salt: int) -> str:
        digest = hashlib.sha1(f"{members[0]}|{salt}".encode()).hexdigest()[:14]
        return f"{prefix}_{digest}"

    return new_id


def previous_members(
    connection: duckdb.DuckDBPyConnection, entity_type: str
) -> tuple[dict[str, str], dict[str, int]]:
    """Return record -> entity ID and entity -> creation order for active entities."""
    members = dict(
        connection.execute(
            """SELECT m.record_id, m.entity_id FROM entity_members m
               JOIN entities e USING (entity_id)
               WHERE e.status = 'active' AND e.entity_type = ?""",
            [entity_type],
        ).fetchall()
    )
    order = dict(
        connection.execute(
            "SELECT entity_id, created_seq FROM entities WHERE entity_type = ?", [entity_type]
        ).fetchall()
    )
    return members, order


def scoped_members(
    connection: duckdb.DuckDBPyConnection, entity_type: str, records: list[str]
) -> tuple[dict[str, str], dict[str, int]]:
    """Return record -> entity ID and entity -> creation order for ``records`` only.

    Members are read first and their entities second, each by one indexed
    column, so with the stream worker's indexes the cost follows the scope.
    """
    condition, params = one_of("record_id", records)
    members = connection.execute(
        f"SELECT record_id, entity_id FROM entity_members WHERE {condition}", params
    ).fetchall()
    condition, params = one_of("entity_id", sorted({entity for _, entity in members}))
    rows = connection.execute(
        f"SELECT entity_id, created_seq FROM entities WHERE {condition} "
        "AND status = 'active' AND entity_type = ?",
        [*params, entity_type],
    ).fetchall()
    order = {entity: int(seq) for entity, seq in rows}
    return {record: entity for record, entity in members if entity in order}, order


def save_entities(
    connection: duckdb.DuckDBPyConnection,
    entity_type: str,
    clusters: dict[str, str],
    now: datetime,
    run_id: int,
    scope: list[str] | None = None,
    reserved: Container[str] | None = None,
) -> tuple[dict[str, str], EntityChanges]:
    """Assign stable IDs to ``clusters`` (record -> label) and store them.

    Without ``scope`` the clusters hold every record of the type. With it,
    only the records in ``scope`` are re-clustered: the previous entities of
    those records must lie wholly inside it, and the records outside keep
    their entities. ``reserved`` contains every entity ID and alias in the
    store; without it they are read from the store. Returns record -> entity
    ID and a summary of the changes.
    """
    if scope is None:
        previous, order = previous_members(connection, entity_type)
    else:
        previous, order = scoped_members(connection, entity_type, scope)
    used = reserved if reserved is not None else _all_ids(connection)
    prefix = "per" if entity_type == "person" else "org"
    assignment = assign_ids(clusters, previous, order, _id_factory(prefix), reserved_ids=used)
    _apply_assignment(connection, entity_type, assignment, now)
    _log_events(connection, assignment, run_id, now)
    entity_of = {record: assignment.entity_of_cluster[label] for record, label in clusters.items()}
    if scope is None:
        _replace_members(connection, entity_type, entity_of)
    else:
        _move_members(connection, previous, entity_of)
    _touch_changed(connection, previous, entity_of, now)
    changes = EntityChanges(
        entities=len(set(entity_of.values())),
        created=len(assignment.created),
        merged=len(assignment.merged),
        split=len(assignment.split),
        dissolved=len(assignment.dissolved),
        unchanged=len(assignment.unchanged),
    )
    logger.info(
        "%s entities: %d (%d new, %d merged away, %d split, %d dissolved, %d unchanged)",
        entity_type,
        changes.entities,
        changes.created,
        changes.merged,
        changes.split,
        changes.dissolved,
        changes.unchanged,
    )
    return entity_of, changes


def _all_ids(connection: duckdb.DuckDBPyConnection) -> set[str]:
    used = {row[0] for row in connection.execute("SELECT entity_id FROM entities").fetchall()}
    used |= {row[0] for row in connection.execute("SELECT alias_id FROM entity_aliases").fetchall()}
    return used


def _insert_created(
    connection: duckdb.DuckDBPyConnection, entity_type: str, created: list[str], now: datetime
) -> None:
    """Insert the new entities, numbered after every existing one."""
    if not created:
        return
    row = connection.execute("SELECT coalesce(max(created_seq), 0) FROM entities").fetchone()
    sequence = int(row[0]) if row else 0
    insert_columns(
        connection,
        "entities",
        {
            "entity_id": created,
            "entity_type": [entity_type] * len(created),
            "created_seq": list(range(sequence + 1, sequence + 1 + len(created))),
            "created_at": [now] * len(created),
            "updated_at": [now] * len(created),
            "status": ["active"] * len(created),
            "merged_into": [None] * len(created),
        },
    )


def _apply_assignment(
    connection: duckdb.DuckDBPyConnection,
    entity_type: str,
    assignment: IdAssignment,
    now: datetime,
) -> None:
    _insert_created(connection, entity_type, sorted(assignment.created), now)
    for retired, survivor in sorted(assignment.merged.items()):
        connection.execute(
            "UPDATE entities SET status = 'merged', merged_into = ?, updated_at = ? "
            "WHERE entity_id = ?",
            [survivor, now, retired],
        )
        connection.execute(
            "UPDATE entity_aliases SET entity_id = ? WHERE entity_id = ?", [survivor, retired]
        )
    insert_rows(
        connection,
        "entity_aliases",
        ["alias_id", "entity_id", "retired_at", "reason"],
        [
            (retired, survivor, now, "merged")
            for retired, survivor in sorted(assignment.merged.items())
        ],
    )
    for entity_id in sorted(assignment.dissolved):
        connection.execute(
            "UPDATE entities SET status = 'deleted', updated_at = ? WHERE entity_id = ?",
            [now, entity_id],
        )


def _log_events(
    connection: duckdb.DuckDBPyConnection, assignment: IdAssignment, run_id: int, now: datetime
) -> None:
    """Record entity lifecycle events for triggers: created, merged, split, dissolved."""
    events: list[tuple[str, str, str | None]] = [(e, "created", None) for e in assignment.created]
    events += [(survivor, "merged", retired) for retired, survivor in assignment.merged.items()]
    events += [(e, "split", ",".join(parts)) for e, parts in assignment.split.items()]
    events += [(e, "dissolved", None) for e in assignment.dissolved]
    insert_rows(
        connection,
        "entity_events",
        ["run_id", "entity_id", "event", "other_id", "happened_at"],
        [(run_id, entity, event, other, now) for entity, event, other in sorted(events)],
    )


def _replace_members(
    connection: duckdb.DuckDBPyConnection, entity_type: str, entity_of: dict[str, str]
) -> None:
    connection.execute(
        "DELETE FROM entity_members WHERE entity_id IN "
        "(SELECT entity_id FROM entities WHERE entity_type = ?)",
        [entity_type],
    )
    _insert_members(connection, entity_of)


def _move_members(
    connection: duckdb.DuckDBPyConnection, previous: dict[str, str], entity_of: dict[str, str]
) -> None:
    """Write only the memberships that changed: ``previous`` and ``entity_of`` map record to entity.

    ``previous`` contains every active membership of the scope's records, so
    the rows of a record that left or changed entity are exactly the pairs
    deleted here.
    """
    left = sorted(r for r, entity in previous.items() if entity_of.get(r) != entity)
    if left:
        pairs = pa.table(
            {
                "record_id": pa.array(left, pa.string()),
                "entity_id": pa.array([previous[r] for r in left], pa.string()),
            }
        )
        register(connection, "accord_left_members", pairs)
        try:
            connection.execute(
                "DELETE FROM entity_members USING accord_left_members l "
                "WHERE entity_members.record_id = l.record_id "
                "AND entity_members.entity_id = l.entity_id"
            )
        finally:
            connection.unregister("accord_left_members")
    joined = {r: entity for r, entity in entity_of.items() if previous.get(r) != entity}
    _insert_members(connection, joined)


def _insert_members(connection: duckdb.DuckDBPyConnection, entity_of: dict[str, str]) -> None:
    records = sorted(entity_of)
    parts = [split_record_id(record) for record in records]
    insert_columns(
        connection,
        "entity_members",
        {
            "entity_id": [entity_of[record] for record in records],
            "source": [source for source, _ in parts],
            "source_key": [key for _, key in parts],
            "record_id": records,
        },
    )


def _touch_changed(
    connection: duckdb.DuckDBPyConnection,
    previous: dict[str, str],
    entity_of: dict[str, str],
    now: datetime,
) -> None:
    changed = {entity for record, entity in entity_of.items() if previous.get(record) != entity}
    changed |= {entity for record, entity in previous.items() if entity_of.get(record) != entity}
    if changed:
        condition, params = one_of("entity_id", sorted(changed))
        connection.execute(
            f"UPDATE entities SET updated_at = ? WHERE status = 'active' AND {condition}",
            [now, *params],
        )
