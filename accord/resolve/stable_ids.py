"""Assign stable entity IDs to new clusters from the previous run's entities.

Each previous entity goes to the new cluster that contains the maximum number
of its surviving records, with ties going to the cluster whose smallest record
ID is smallest. A cluster that receives one previous entity keeps that entity's ID.
A cluster that receives several keeps the oldest one, and the others become
aliases of it. A cluster that receives none gets a new ID from the caller's
``new_id`` function. So an entity whose membership did not change keeps its
ID, and an entity that splits keeps its ID on its larger part.

The work is a few dictionary passes over the records, linear in their number.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from datetime import datetime

from accord.logs import get_logger

logger = get_logger(__name__)

CreatedOrder = int | str | datetime
"""Creation time or sequence number of an entity. Smaller values are older."""

NewIdFunction = Callable[[tuple[str, ...], int], str]
"""Function ``new_id(members, salt)`` that returns an ID for a new entity.

``members`` contains the cluster's record IDs in sorted order. ``salt`` is 0 on
the first call and counts up each time the returned ID is already in use, so the
function must return a different ID for a different salt. The function should be
deterministic, so that a rerun on the same input gives the same IDs.
"""

MAX_NEW_ID_ATTEMPTS = 100
"""Number of salts that ``assign_ids`` tries before it gives up on a new ID."""


@dataclass
class IdAssignment:
    """Entity IDs for the new clusters and the changes since the previous run.

    Attributes:
        entity_of_cluster: Cluster label -> entity ID, for every new cluster.
        created: New entity IDs, in the order of their clusters' smallest record IDs.
        merged: Retired entity ID -> surviving entity ID. The retired ID becomes an
            alias of the survivor.
        split: Previous entity ID -> sorted IDs of the other entities that received
            some of its surviving records. The key may also be in ``merged`` when its
            largest part joined an older entity.
        dissolved: Sorted previous entity IDs whose records were all deleted.
        unchanged: Sorted entity IDs whose members are exactly the same as before.
    """

    entity_of_cluster: dict[str, str]
    created: list[str]
    merged: dict[str, str]
    split: dict[str, list[str]]
    dissolved: list[str]
    unchanged: list[str]


def assign_ids(
    clusters: Mapping[str, str],
    previous: Mapping[str, str],
    created_order: Mapping[str, CreatedOrder],
    new_id: NewIdFunction,
    reserved_ids: Container[str] = frozenset(),
) -> IdAssignment:
    """Assign an entity ID to every new cluster, keeping previous IDs where possible.

    Records in ``previous`` but not in ``clusters`` count as deleted, and records
    in ``clusters`` but not in ``previous`` count as new. The result depends only
    on the mappings' contents, not on their order.

    Args:
        clusters: Record ID -> new cluster label.
        previous: Record ID -> entity ID from the previous run.
        created_order: Entity ID -> creation order, for every entity in
            ``previous``. All values must be comparable with each other. Keys
            that are not in ``previous`` are never issued as new IDs.
        new_id: Function that makes the ID of a new entity, see ``NewIdFunction``.
        reserved_ids: Further IDs that must never be issued, such as aliases
            retired in earlier runs. Only membership tests are made on it.

    Returns:
        The assignment and the merges, splits, dissolutions and unchanged entities.

    Raises:
        ValueError: If ``created_order`` is missing a previous entity or has values
            that cannot be compared, or if ``new_id`` returns an empty or non-string
            ID or only used IDs for ``MAX_NEW_ID_ATTEMPTS`` salts.
    """
    entity_sizes = Counter(previous.values())
    _check_created_order(entity_sizes, created_order)
    cluster_sizes = Counter(clusters.values())
    smallest_record = _smallest_record_of_cluster(clusters)
    overlap = Counter(
        (entity, clusters[record]) for record, entity in previous.items() if record in clusters
    )

    target = _target_clusters(overlap, smallest_record)
    entity_of_cluster, merged = _keep_previous_ids(target, created_order)
    used_ids = set(entity_sizes).union(created_order)
    created = _create_new_ids(
        clusters, smallest_record, entity_of_cluster, new_id, _Used(used_ids, reserved_ids)
    )

    result = IdAssignment(
        entity_of_cluster=entity_of_cluster,
        created=created,
        merged=merged,
        split=_splits(overlap, target, entity_of_cluster),
        dissolved=sorted(entity for entity in entity_sizes if entity not in target),
        unchanged=_unchanged(overlap, target, entity_sizes, cluster_sizes),
    )
    logger.debug(
        "Assigned entity IDs to %d clusters: %d created, %d merged, %d split, %d dissolved",
        len(entity_of_cluster),
        len(created),
        len(merged),
        len(result.split),
        len(result.dissolved),
    )
    return result


def member_hash_id(members: tuple[str, ...], salt: int) -> str:
    """Return ``ent_`` and 20 hex digits of a SHA-256 hash of the members and salt.

    This is a ready ``NewIdFunction``. Each record ID is hashed with its length
    in front, so different member lists never feed the same bytes to the hash.
    """
    digest = hashlib.sha256()
    for member in members:
        encoded = member.encode()
        digest.update(f"{len(encoded)}:".encode())
        digest.update(encoded)
    if salt:
        digest.update(f"#salt={salt}".encode())
    return f"ent_{digest.hexdigest()[:20]}"


def _check_created_order(
    entity_sizes: Mapping[str, int], created_order: Mapping[str, CreatedOrder]
) -> None:
    missing = sorted(entity for entity in entity_sizes if entity not in created_order)
    if missing:
        examples = ", ".join(repr(entity) for entity in missing[:5])
        raise ValueError(
            f"created_order is missing {len(missing)} previous entities, such as {examples}. "
            "Pass the creation order of every entity in previous."
        )


def _smallest_record_of_cluster(clusters: Mapping[str, str]) -> dict[str, str]:
    smallest: dict[str, str] = {}
    for record, label in clusters.items():
        current = smallest.get(label)
        if current is None or record < current:
            smallest[label] = record
    return smallest


def _target_clusters(
    overlap: Mapping[tuple[str, str], int], smallest_record: Mapping[str, str]
) -> dict[str, str]:
    """Map each previous entity with surviving records to the cluster that gets its ID."""
    best: dict[str, tuple[int, str]] = {}
    for (entity, label), count in overlap.items():
        current = best.get(entity)
        if current is None or _is_better_target(count, label, current, smallest_record):
            best[entity] = (count, label)
    return {entity: label for entity, (_, label) in best.items()}


def _is_better_target(
    count: int, label: str, current: tuple[int, str], smallest_record: Mapping[str, str]
) -> bool:
    current_count, current_label = current
    if count != current_count:
        return count > current_count
    # Clusters are disjoint, so their smallest records differ and the tie is broken.
    return smallest_record[label] < smallest_record[current_label]


def _keep_previous_ids(
    target: Mapping[str, str], created_order: Mapping[str, CreatedOrder]
) -> tuple[dict[str, str], dict[str, str]]:
    """Give each targeted cluster its oldest entity's ID and return the retired aliases."""
    claimants: dict[str, list[str]] = {}
    for entity, label in target.items():
        claimants.setdefault(label, []).append(entity)

    entity_of_cluster: dict[str, str] = {}
    merged: dict[str, str] = {}
    for label, entities in claimants.items():
        survivor = _oldest(entities, created_order)
        entity_of_cluster[label] = survivor
        for entity in entities:
            if entity != survivor:
                merged[entity] = survivor
    return entity_of_cluster, dict(sorted(merged.items()))


def _oldest(entities: list[str], created_order: Mapping[str, CreatedOrder]) -> str:
    """Return the entity with the smallest creation order, with ties going to the smallest ID."""
    if len(entities) == 1:
        return entities[0]
    try:
        return min(entities, key=lambda entity: (created_order[entity], entity))
    except TypeError as error:
        values = ", ".join(f"{entity!r}: {created_order[entity]!r}" for entity in entities)
        raise ValueError(
            f"created_order values cannot be compared ({values}). "
            "Use one type, such as int or timezone-aware datetime, for every entity."
        ) from error


@dataclass
class _Used:
    """IDs issued in this call or before, and the caller's reserved IDs."""

    issued: set[str]
    reserved: Container[str]

    def __contains__(self, entity: object) -> bool:
        return entity in self.issued or entity in self.reserved

    def add(self, entity: str) -> None:
        self.issued.add(entity)


def _create_new_ids(
    clusters: Mapping[str, str],
    smallest_record: Mapping[str, str],
    entity_of_cluster: dict[str, str],
    new_id: NewIdFunction,
    used_ids: _Used,
) -> list[str]:
    """Give every cluster without a previous entity a new, unused ID and return the new IDs."""
    members: dict[str, list[str]] = {
        label: [] for label in smallest_record if label not in entity_of_cluster
    }
    for record, label in clusters.items():
        records = members.get(label)
        if records is not None:
            records.append(record)

    created = []
    for label in sorted(members, key=smallest_record.__getitem__):
        entity = _unused_id(tuple(sorted(members[label])), new_id, used_ids)
        used_ids.add(entity)
        entity_of_cluster[label] = entity
        created.append(entity)
    return created


def _unused_id(members: tuple[str, ...], new_id: NewIdFunction, used_ids: _Used) -> str:
    for salt in range(MAX_NEW_ID_ATTEMPTS):
        entity = new_id(members, salt)
        if not isinstance(entity, str) or not entity:
            raise ValueError(
                f"new_id returned {entity!r} for records {members[:3]!r}. "
                "It must return a non-empty string."
            )
        if entity not in used_ids:
            return entity
    raise ValueError(
        f"new_id returned only used IDs for records {members[:3]!r} with salts "
        f"0 to {MAX_NEW_ID_ATTEMPTS - 1}. Make the ID depend on the salt."
    )


def _splits(
    overlap: Mapping[tuple[str, str], int],
    target: Mapping[str, str],
    entity_of_cluster: Mapping[str, str],
) -> dict[str, list[str]]:
    """Map each previous entity to the other entities that received some of its records."""
    receivers: dict[str, list[str]] = {}
    for entity, label in overlap:
        if label != target[entity]:
            receivers.setdefault(entity, []).append(entity_of_cluster[label])
    return {entity: sorted(receivers[entity]) for entity in sorted(receivers)}


def _unchanged(
    overlap: Mapping[tuple[str, str], int],
    target: Mapping[str, str],
    entity_sizes: Mapping[str, int],
    cluster_sizes: Mapping[str, int],
) -> list[str]:
    """Return the entities whose target cluster has exactly their previous members.

    Such an entity is the only one with records in its cluster, so it keeps its ID.
    """
    unchanged = []
    for entity, label in target.items():
        count = overlap[entity, label]
        if count == entity_sizes[entity] == cluster_sizes[label]:
            unchanged.append(entity)
    return sorted(unchanged)
