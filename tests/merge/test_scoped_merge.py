"""The in-process merge of a few entities writes what the SQL merge writes.

Random stores contain person and organization entities whose member records
carry values that tie on every rule, non-string JSON values, empty and
non-ASCII text, invalid and missing change times, and deleted records. The
same scope is merged by ``merge_golden`` in one copy of the store and by
``merge_scoped`` in another, and both must leave the same golden values and
the same golden changes.
"""

from __future__ import annotations

import json
import random
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from accord.config.loader import load_project
from accord.config.models import FieldSurvivorship, Project
from accord.merge.choice import Candidate, Member, choose
from accord.merge.scoped import merge_scoped
from accord.merge.survivorship import merge_golden
from accord.store.duckdb_store import Store

PROJECT = """\
name: scoped-merge
sources:
  - {name: crm, kind: jsonl, path: crm.jsonl, primary_key: id, fields: {email: email}}
  - {name: billing, kind: jsonl, path: billing.jsonl, primary_key: id, fields: {email: email}}
  - name: companies
    kind: jsonl
    path: companies.jsonl
    primary_key: id
    entity_type: organization
    fields: {company_name: name}
survivorship:
  default: [most_recent, most_complete]
  fields:
    plan: {rules: [source_priority, most_recent], sources: [billing, crm]}
    first_name: {rules: [most_frequent, longest, most_recent]}
    email: {rules: [longest]}
    phone: {rules: [most_complete, source_priority], sources: [crm]}
    open_tickets: {rules: [sum]}
    mrr: {rules: [max]}
    city: {rules: [min]}
    region: {rules: [count]}
    lifecycle_stage: {rules: [union]}
"""

FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "plan",
    "mrr",
    "open_tickets",
    "city",
    "region",
    "lifecycle_stage",
    "company_name",
    "company_domain",
]
VALUES: list[Any] = [
    "Ann",
    "ann",
    "Anne",
    "Ánn",
    'O"Brien',
    "back\\slash",
    "",
    "x/y",
    "e\u0301",
    "10",
    "9",
    "2.5",
    "-1",
    10,
    2.5,
    True,
    None,
    {"nested": [1, "a"]},
    0.1,
    0.2,
    "0.3",
    -0.0,
    0.0,
    "99.99",
]
TIMES = [
    "2024-01-01T00:00:00",
    "2024-01-02T00:00:00",
    "2024-01-02T00:00:00.5",
    "not a time",
    # Timestamps that Python's datetime cannot represent.
    "12000-01-02T00:00:00",
    "infinity",
    "-infinity",
]
SEEN = [datetime(2024, 1, 1), datetime(2024, 1, 3), datetime(2024, 1, 3, 12)]


def _project(folder: Path) -> Project:
    for name in ("crm", "billing", "companies"):
        (folder / f"{name}.jsonl").write_text("", encoding="utf-8")
    (folder / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    return load_project(folder / "accord.yaml").project


def _data(rng: random.Random) -> str | None:
    if rng.random() < 0.03:
        return None
    data: dict[str, Any] = {field: rng.choice(VALUES) for field in FIELDS if rng.random() < 0.6}
    if rng.random() < 0.7:
        data["updated_at"] = rng.choice(TIMES)
    return json.dumps(data)


def _fill(connection: duckdb.DuckDBPyConnection, rng: random.Random) -> list[str]:
    """Insert random entities, members and records; return the entity IDs."""
    records = [
        (source, str(key)) for source in ("crm", "billing", "companies") for key in range(15)
    ]
    for source, key in records:
        connection.execute(
            "INSERT INTO source_records VALUES (?, ?, ?, 'h', NULL, ?, ?, ?, ?, ?, 1)",
            [
                source,
                key,
                rng.randint(1, 3),
                _data(rng),
                SEEN[0],
                SEEN[0],
                rng.choice(SEEN),
                rng.choice([None, None, None, SEEN[2]]),
            ],
        )
    entity_ids = []
    for number in range(12):
        entity_type = "organization" if number % 4 == 0 else "person"
        entity_id = f"{entity_type[:3]}_{number}"
        entity_ids.append(entity_id)
        status = "merged" if rng.random() < 0.15 else "active"
        connection.execute(
            "INSERT INTO entities VALUES (?, ?, ?, ?, ?, ?, NULL)",
            [entity_id, entity_type, number, SEEN[0], SEEN[0], status],
        )
        for source, key in rng.sample(records, rng.randint(0, 5)):
            connection.execute(
                "INSERT INTO entity_members VALUES (?, ?, ?, ?)",
                [entity_id, source, key, f"{source}:{key}"],
            )
    return entity_ids


def _change(connection: duckdb.DuckDBPyConnection, rng: random.Random) -> None:
    """Edit, delete and restore random records, as a micro-batch would."""
    rows = connection.execute("SELECT source, source_key FROM source_records").fetchall()
    for source, key in rng.sample(rows, len(rows) // 3):
        connection.execute(
            "UPDATE source_records SET data = ?, changed_at = ?, deleted_at = ? "
            "WHERE source = ? AND source_key = ?",
            [_data(rng), rng.choice(SEEN), rng.choice([None, None, SEEN[2]]), source, key],
        )


def _snapshot(connection: duckdb.DuckDBPyConnection) -> tuple[list[Any], list[Any]]:
    values = connection.execute("SELECT * FROM golden_values ORDER BY ALL").fetchall()
    changes = connection.execute(
        "SELECT * EXCLUDE (changed_at) FROM golden_changes ORDER BY ALL"
    ).fetchall()
    return values, changes


@pytest.mark.parametrize("seed", range(25))
def test_scoped_merge_equals_sql_merge(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    project = _project(tmp_path)
    with Store.open(tmp_path / "sql.duckdb") as store:
        store.migrate()
        entity_ids = _fill(store.connection, rng)
        merge_golden(store.connection, project, 1)
        _change(store.connection, rng)
    shutil.copy(tmp_path / "sql.duckdb", tmp_path / "process.duckdb")
    scope = [*rng.sample(entity_ids, rng.randint(1, len(entity_ids))), "per_unknown"]

    with Store.open(tmp_path / "sql.duckdb") as store:
        with store.transaction() as connection:
            expected_count = merge_golden(connection, project, 2, scope)
        expected = _snapshot(store.connection)
    with Store.open(tmp_path / "process.duckdb") as store:
        with store.transaction() as connection:
            count = merge_scoped(connection, project, 2, scope)
        actual = _snapshot(store.connection)

    assert actual[0] == expected[0]
    assert actual[1] == expected[1]
    assert count == expected_count


def _member(source: str, key: str, updated: float | None, seen: float | None) -> Member:
    return Member("per_1", "person", source, key, 1, updated, seen, None, [], [])


def _candidate(member: Member, text: str, completeness: int = 1) -> Candidate:
    return Candidate(member, json.dumps(text), text, completeness)


CHOICE_CASES = [
    # (rules, sources, candidates as (source, key, updated, seen, text, completeness), value, rule)
    (["most_recent"], None, [("crm", "1", 5.0, 5.0, "a", 1)], "a", "single_source"),
    (
        ["most_recent"],
        None,
        [("crm", "1", 5.0, 5.0, "a", 1), ("crm", "2", 9.0, 9.0, "a", 1)],
        "a",
        "agreement",
    ),
    (
        ["most_recent", "most_complete"],
        None,
        [("crm", "1", 5.0, 5.0, "old", 1), ("crm", "2", 9.0, 9.0, "new", 1)],
        "new",
        "most_recent",
    ),
    # Equal times fall through to the next rule.
    (
        ["most_recent", "most_complete"],
        None,
        [("crm", "1", 5.0, 5.0, "thin", 1), ("crm", "2", 5.0, 5.0, "full", 4)],
        "full",
        "most_complete",
    ),
    # A record with its own change time outranks any record without one.
    (
        ["most_recent"],
        None,
        [("crm", "1", None, 9e9, "seen", 1), ("crm", "2", 1.0, 1.0, "stamped", 1)],
        "stamped",
        "most_recent",
    ),
    # Sources outside the priority list rank after every listed one.
    (
        ["source_priority", "most_recent"],
        ["billing"],
        [("crm", "1", 9.0, 9.0, "crm", 1), ("billing", "1", 1.0, 1.0, "billing", 1)],
        "billing",
        "source_priority",
    ),
    # A full tie goes to the smaller source name, then source key.
    (
        ["most_recent"],
        None,
        [("crm", "2", 5.0, 5.0, "second", 1), ("crm", "10", 5.0, 5.0, "first", 1)],
        "first",
        "tie_break",
    ),
    (
        ["most_frequent"],
        None,
        [
            ("crm", "1", 1.0, 1.0, "x", 1),
            ("crm", "2", 1.0, 1.0, "y", 1),
            ("crm", "3", 1.0, 1.0, "y", 1),
        ],
        "y",
        "most_frequent",
    ),
    (
        ["longest"],
        None,
        [("crm", "1", 1.0, 1.0, "Ann", 1), ("crm", "2", 1.0, 1.0, "Annabel", 1)],
        "Annabel",
        "longest",
    ),
]


@pytest.mark.parametrize(("rules", "sources", "rows", "value", "rule"), CHOICE_CASES)
def test_choose_ordered_rules(
    rules: list[str],
    sources: list[str] | None,
    rows: list[tuple[str, str, float | None, float | None, str, int]],
    value: str,
    rule: str,
) -> None:
    spec = FieldSurvivorship.model_validate({"rules": rules, "sources": sources})
    group = [
        _candidate(_member(source, key, updated, seen), text, completeness)
        for source, key, updated, seen, text, completeness in rows
    ]
    choice = choose("per_1", "plan", group, spec)
    assert json.loads(choice.value) == value
    assert choice.rule == rule


def test_choose_lists_distinct_values() -> None:
    spec = FieldSurvivorship.model_validate({"rules": ["most_recent"]})
    group = [
        _candidate(_member("crm", str(key), float(key), float(key)), text)
        for key, text in enumerate(["b", "a", "b"])
    ]
    assert choose("per_1", "plan", group, spec).all_values == ["a", "b"]


def _one_entity(connection: duckdb.DuckDBPyConnection, values: list[Any]) -> None:
    """Insert one person entity whose member records carry ``values`` as open_tickets."""
    connection.execute(
        "INSERT INTO entities VALUES ('per_1', 'person', 1, ?, ?, 'active', NULL)",
        [SEEN[0], SEEN[0]],
    )
    for key, value in enumerate(values):
        connection.execute(
            "INSERT INTO source_records VALUES ('crm', ?, 1, 'h', NULL, ?, ?, ?, ?, NULL, 1)",
            [str(key), json.dumps({"open_tickets": value}), SEEN[0], SEEN[0], SEEN[0]],
        )
        connection.execute(
            "INSERT INTO entity_members VALUES ('per_1', 'crm', ?, ?)", [str(key), f"crm:{key}"]
        )


SUM_CASES = [
    ([1, 2], 3),
    (["99.99", 49.5], 149.49),
    ([" 7", "+3"], 10),
    # Floats are added in the order of source key, whatever order the rows come in.
    ([0.1, 0.2, 0.3], 0.6000000000000001),
    ([0.3, 0.2, 0.1], 0.6),
    (["n/a", 2.5], 2.5),
]


@pytest.mark.parametrize(("values", "expected"), SUM_CASES)
@pytest.mark.parametrize("scoped", [False, True])
def test_sum_rule_adds_exactly(
    tmp_path: Path, values: list[Any], expected: float, scoped: bool
) -> None:
    project = _project(tmp_path)
    with Store.open(tmp_path / "sum.duckdb") as store:
        store.migrate()
        _one_entity(store.connection, values)
        if scoped:
            merge_scoped(store.connection, project, 1, ["per_1"])
        else:
            merge_golden(store.connection, project, 1)
        row = store.connection.execute(
            "SELECT value FROM golden_values WHERE field = 'open_tickets'"
        ).fetchone()
    assert row is not None
    assert json.loads(row[0]) == expected
