"""Tests for stable entity IDs across reruns."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.resolve.stable_ids import (
    MAX_NEW_ID_ATTEMPTS,
    CreatedOrder,
    IdAssignment,
    NewIdFunction,
    assign_ids,
    member_hash_id,
)


def readable_id(members: tuple[str, ...], salt: int) -> str:
    """Return ``new:`` and the members, so that expected IDs are easy to write."""
    suffix = f"#{salt}" if salt else ""
    return "new:" + ",".join(members) + suffix


def previous_of(entities: dict[str, list[str]]) -> dict[str, str]:
    return {record: entity for entity, records in entities.items() for record in records}


def clusters_of(groups: list[list[str]]) -> dict[str, str]:
    return {record: min(group) for group in groups for record in group}


def run(
    entities: dict[str, list[str]],
    order: dict[str, CreatedOrder],
    groups: list[list[str]],
) -> IdAssignment:
    return assign_ids(clusters_of(groups), previous_of(entities), order, readable_id)


@dataclass(frozen=True)
class IdCase:
    """Previous entities, new clusters and the expected assignment.

    ``ids`` maps each new cluster's smallest record to its expected entity ID.
    """

    name: str
    entities: dict[str, list[str]]
    order: dict[str, CreatedOrder]
    groups: list[list[str]]
    ids: dict[str, str]
    created: list[str] = field(default_factory=list)
    merged: dict[str, str] = field(default_factory=dict)
    split: dict[str, list[str]] = field(default_factory=dict)
    dissolved: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


ID_CASES = [
    IdCase(
        "identical rerun",
        {"E1": ["a", "b"], "E2": ["c"], "E3": ["d", "e"]},
        {"E1": 1, "E2": 2, "E3": 3},
        [["a", "b"], ["c"], ["d", "e"]],
        {"a": "E1", "c": "E2", "d": "E3"},
        unchanged=["E1", "E2", "E3"],
    ),
    IdCase(
        "records added to entity",
        {"E1": ["a", "b"], "E2": ["c"]},
        {"E1": 1, "E2": 2},
        [["a", "b", "x", "y"], ["c"]],
        {"a": "E1", "c": "E2"},
        unchanged=["E2"],
    ),
    IdCase(
        "record moves between entities",
        {"E1": ["a", "b", "c"], "E2": ["d", "e"]},
        {"E1": 1, "E2": 2},
        [["a", "b"], ["c", "d", "e"]],
        {"a": "E1", "c": "E2"},
        split={"E1": ["E2"]},
    ),
    IdCase(
        "records deleted",
        {"E1": ["a", "b", "c"], "E2": ["d"]},
        {"E1": 1, "E2": 2},
        [["a", "b"], ["d"]],
        {"a": "E1", "d": "E2"},
        unchanged=["E2"],
    ),
    IdCase(
        "entity dissolved",
        {"E1": ["a", "b"], "E2": ["c", "d"]},
        {"E1": 1, "E2": 2},
        [["a", "b"]],
        {"a": "E1"},
        dissolved=["E2"],
        unchanged=["E1"],
    ),
    IdCase(
        "merge keeps older smaller entity",
        {"OLD": ["a"], "NEW": ["b", "c", "d"]},
        {"OLD": 1, "NEW": 2},
        [["a", "b", "c", "d"]],
        {"a": "OLD"},
        merged={"NEW": "OLD"},
    ),
    IdCase(
        "split keeps larger part",
        {"E1": ["a", "b", "c", "d", "e"]},
        {"E1": 1},
        [["a", "b"], ["c", "d", "e"]],
        {"a": "new:a,b", "c": "E1"},
        created=["new:a,b"],
        split={"E1": ["new:a,b"]},
    ),
    IdCase(
        "three-way merge keeps oldest",
        {"E1": ["a"], "E2": ["b", "c"], "E3": ["d"]},
        {"E1": 3, "E2": 1, "E3": 2},
        [["a", "b", "c", "d"]],
        {"a": "E2"},
        merged={"E1": "E2", "E3": "E2"},
    ),
    IdCase(
        "split and merge together",
        {"E1": ["a", "b", "c", "d", "e"], "E2": ["f"]},
        {"E1": 2, "E2": 1},
        [["a", "b"], ["c", "d", "e", "f"]],
        {"a": "new:a,b", "c": "E2"},
        created=["new:a,b"],
        merged={"E1": "E2"},
        split={"E1": ["new:a,b"]},
    ),
    IdCase(
        "split into equal halves",
        {"E1": ["a", "b", "c", "d"]},
        {"E1": 1},
        [["c", "d"], ["a", "b"]],
        {"a": "E1", "c": "new:c,d"},
        created=["new:c,d"],
        split={"E1": ["new:c,d"]},
    ),
    IdCase(
        "merge tie keeps smallest ID",
        {"E9": ["a"], "E1": ["b"]},
        {"E9": 5, "E1": 5},
        [["a", "b"]],
        {"a": "E1"},
        merged={"E9": "E1"},
    ),
    IdCase(
        "merge by datetime order",
        {"E1": ["a"], "E2": ["b"]},
        {"E1": datetime(2024, 5, 1, tzinfo=UTC), "E2": datetime(2023, 1, 1, tzinfo=UTC)},
        [["a", "b"]],
        {"a": "E2"},
        merged={"E1": "E2"},
    ),
    IdCase(
        "only new records",
        {},
        {},
        [["b", "a"], ["c"]],
        {"a": "new:a,b", "c": "new:c"},
        created=["new:a,b", "new:c"],
    ),
    IdCase(
        "all records deleted",
        {"E1": ["a"], "E2": ["b", "c"]},
        {"E1": 1, "E2": 2},
        [],
        {},
        dissolved=["E1", "E2"],
    ),
    IdCase(
        "deletion and new record swap",
        {"E1": ["a", "b"]},
        {"E1": 1},
        [["b", "z"]],
        {"b": "E1"},
    ),
]


@pytest.mark.parametrize("case", ID_CASES, ids=[case.name for case in ID_CASES])
def test_assignment_cases(case: IdCase) -> None:
    result = run(case.entities, case.order, case.groups)
    assert result.entity_of_cluster == case.ids
    assert result.created == case.created
    assert result.merged == case.merged
    assert result.split == case.split
    assert result.dissolved == case.dissolved
    assert result.unchanged == case.unchanged


def test_input_order_does_not_matter() -> None:
    entities = {"E1": ["a", "b", "c", "d", "e"], "E2": ["f"], "E3": ["g", "h"]}
    order: dict[str, CreatedOrder] = {"E1": 2, "E2": 1, "E3": 3}
    groups = [["a", "b"], ["c", "d", "e", "f"], ["g"], ["h", "i"]]
    expected = run(entities, order, groups)
    rng = random.Random(5)
    for _ in range(20):
        clusters = list(clusters_of(groups).items())
        previous = list(previous_of(entities).items())
        rng.shuffle(clusters)
        rng.shuffle(previous)
        result = assign_ids(dict(clusters), dict(previous), order, readable_id)
        assert result == expected


# Guards on new IDs and inputs.


def test_new_id_skips_previous_id() -> None:
    def colliding(members: tuple[str, ...], salt: int) -> str:
        return "E1" if salt == 0 else f"fresh{salt}"

    result = assign_ids({"b": "b"}, {"a": "E1"}, {"E1": 1}, colliding)
    assert result.created == ["fresh1"]
    assert result.dissolved == ["E1"]


def test_new_id_skips_reserved_id() -> None:
    def colliding(members: tuple[str, ...], salt: int) -> str:
        return "ALIAS" if salt == 0 else f"fresh{salt}"

    result = assign_ids({"a": "a"}, {}, {}, colliding, reserved_ids=["ALIAS"])
    assert result.created == ["fresh1"]


def test_new_id_skips_created_order_key() -> None:
    def colliding(members: tuple[str, ...], salt: int) -> str:
        return "OLD" if salt == 0 else f"fresh{salt}"

    result = assign_ids({"a": "a"}, {}, {"OLD": 1}, colliding)
    assert result.created == ["fresh1"]


def test_new_id_unique_within_run() -> None:
    def constant(members: tuple[str, ...], salt: int) -> str:
        return f"same{salt}"

    result = assign_ids({"a": "a", "b": "b", "c": "c"}, {}, {}, constant)
    assert result.created == ["same0", "same1", "same2"]


def test_new_id_gets_sorted_members() -> None:
    calls: list[tuple[str, ...]] = []

    def recording(members: tuple[str, ...], salt: int) -> str:
        calls.append(members)
        return "new"

    assign_ids({"c": "x", "a": "x", "b": "x"}, {}, {}, recording)
    assert calls == [("a", "b", "c")]


def test_new_id_exhausted_salts_raise() -> None:
    with pytest.raises(ValueError, match=f"salts 0 to {MAX_NEW_ID_ATTEMPTS - 1}"):
        assign_ids({"b": "b"}, {"a": "E1"}, {"E1": 1}, lambda members, salt: "E1")


def test_new_id_empty_string_raises() -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        assign_ids({"a": "a"}, {}, {}, lambda members, salt: "")


def test_missing_created_order_raises() -> None:
    with pytest.raises(ValueError, match="missing 1 previous entities, such as 'E2'"):
        assign_ids({"a": "a"}, {"a": "E1", "b": "E2"}, {"E1": 1}, readable_id)


def test_mixed_created_order_raises() -> None:
    order: dict[str, CreatedOrder] = {"E1": 1, "E2": datetime(2024, 1, 1, tzinfo=UTC)}
    with pytest.raises(ValueError, match="cannot be compared"):
        assign_ids({"a": "a", "b": "a"}, {"a": "E1", "b": "E2"}, order, readable_id)


def test_member_hash_id_deterministic() -> None:
    assert member_hash_id(("a", "b"), 0) == member_hash_id(("a", "b"), 0)


def test_member_hash_id_salt_changes_id() -> None:
    assert member_hash_id(("a", "b"), 0) != member_hash_id(("a", "b"), 1)


def test_member_hash_id_separates_members() -> None:
    assert member_hash_id(("ab", "c"), 0) != member_hash_id(("a", "bc"), 0)


def test_member_hash_id_format() -> None:
    entity = member_hash_id(("a",), 0)
    assert entity.startswith("ent_")
    assert len(entity) == 24


# Properties on random previous and new clusterings.

RECORDS = [f"r{number:02d}" for number in range(30)]


@st.composite
def partitions(draw: st.DrawFn) -> dict[str, int]:
    """Draw record -> group number for a random subset of the records."""
    present = draw(st.lists(st.sampled_from(RECORDS), unique=True))
    groups = st.integers(min_value=0, max_value=max(len(present) // 2, 0))
    return {record: draw(groups) for record in present}


def members_of(mapping: dict[str, str]) -> dict[str, frozenset[str]]:
    members: dict[str, set[str]] = {}
    for record, key in mapping.items():
        members.setdefault(key, set()).add(record)
    return {key: frozenset(records) for key, records in members.items()}


def colliding_id(members: tuple[str, ...], salt: int) -> str:
    """Return ``E<salt>``, which collides with the previous entity IDs for small salts."""
    return f"E{salt}"


@settings(max_examples=400, deadline=None)
@given(
    partitions(),
    partitions(),
    st.lists(st.integers(0, 3), min_size=31, max_size=31),
    st.sampled_from([member_hash_id, colliding_id]),
)
def test_assignment_properties(
    old_groups: dict[str, int],
    new_groups: dict[str, int],
    ages: list[int],
    new_id: NewIdFunction,
) -> None:
    previous = {record: f"E{group}" for record, group in old_groups.items()}
    clusters_by_group = members_of({record: str(group) for record, group in new_groups.items()})
    clusters = {record: min(group) for group in clusters_by_group.values() for record in group}
    order: dict[str, CreatedOrder] = {f"E{group}": ages[group] for group in range(31)}
    result = assign_ids(clusters, previous, order, new_id)

    ids = list(result.entity_of_cluster.values())
    previous_ids = set(previous.values())
    retired = set(result.merged) | set(result.dissolved)

    assert set(result.entity_of_cluster) == set(clusters.values())
    assert len(set(ids)) == len(ids)
    assert not retired & set(ids)
    assert not set(result.created) & set(order)
    assert set(result.created) == set(ids) - previous_ids
    assert set(ids) | retired >= previous_ids
    assert len(set(result.created)) == len(result.created)

    old_members = members_of(previous)
    new_members = members_of(clusters)
    unchanged = sorted(
        entity for entity, records in old_members.items() if records in set(new_members.values())
    )
    assert result.unchanged == unchanged
    for label, records in new_members.items():
        matching = [entity for entity, old in old_members.items() if old == records]
        if matching:
            assert result.entity_of_cluster[label] == matching[0]


@settings(max_examples=200, deadline=None)
@given(partitions(), partitions())
def test_entity_follows_largest_part(
    old_groups: dict[str, int], new_groups: dict[str, int]
) -> None:
    previous = {record: f"E{group}" for record, group in old_groups.items()}
    clusters_by_group = members_of({record: str(group) for record, group in new_groups.items()})
    clusters = {record: min(group) for group in clusters_by_group.values() for record in group}
    order: dict[str, CreatedOrder] = {entity: 0 for entity in set(previous.values())}
    result = assign_ids(clusters, previous, order, member_hash_id)

    holder = {entity: label for label, entity in result.entity_of_cluster.items()}
    for entity, records in members_of(previous).items():
        parts = Counter(clusters[record] for record in records if record in clusters)
        if not parts:
            continue
        survivor = result.merged.get(entity, entity)
        label = holder[survivor]
        assert parts[label] == max(parts.values()), f"{entity} left its largest part"
