"""Desired records of an entity-scoped sync equal those of a full sync for the same entities."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from accord.store.indexes import ensure_lookup_indexes
from accord.sync.desired import DESIRED, build_desired, register_entity_filter
from sync.projects import BILLING, CrmProject

Make = Callable[..., CrmProject]

# A billing customer who is not in the CRM: its entity has no member of the key source.
BILLING_ONLY = ("b4", "Edsger Dijkstra", "edsger@eindhoven.nl", "active", "pro")


def _desired(project: CrmProject, entities: list[str] | None) -> dict[str, tuple[Any, ...]]:
    with project.open_store() as store:
        ensure_lookup_indexes(store.connection)
        destination = project.loaded.project.destinations[0]
        if entities is not None:
            register_entity_filter(store.connection, entities)
        build_desired(store.connection, project.loaded.project, destination, entities)
        rows = store.connection.execute(
            f"SELECT record_key, entity_id, member, record, payload_hash FROM {DESIRED}"
        ).fetchall()
    return {row[0]: row for row in rows}


def _entities(project: CrmProject) -> list[str]:
    rows = project.query(
        "SELECT entity_id FROM entities WHERE status = 'active' AND entity_type = 'person'"
    )
    return sorted(row[0] for row in rows)


@pytest.mark.parametrize("take", [slice(0, 1), slice(1, 3), slice(0, None), slice(0, 0)])
def test_scoped_desired_equals_full(make_project: Make, take: slice) -> None:
    project = make_project(billing=[*BILLING, BILLING_ONLY])
    project.run()
    everything = _desired(project, None)
    entities = _entities(project)[take]
    scoped = _desired(project, entities)
    expected = {key: row for key, row in everything.items() if row[1] in set(entities)}
    assert scoped == expected


def test_scoped_desired_keys_by_tool_record(make_project: Make) -> None:
    project = make_project(billing=[*BILLING, BILLING_ONLY])
    project.run()
    scoped = _desired(project, _entities(project))
    members = sorted(key for key, row in scoped.items() if row[2])
    assert members == ["1", "2", "3"]
    assert len(scoped) == 4
