"""Prior estimate: the share of matches that the strict prior rules find."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pytest

from accord.resolve.comparisons import Record, build_comparisons
from accord.resolve.model import (
    MIN_PRIOR_RULE_RECALL,
    PriorEvidence,
    build_settings,
    prior_evidence,
    rule_recall,
)

NAME_AND_BIRTH = [["last_name_key", "birth_date"], ["first_name_key", "birth_date"]]
FULL_NAME_AND_PLACE = [
    ["last_name_key", "first_name_key", "postal_code_key"],
    ["last_name_key", "first_name_key", "street_key"],
]


def settings_with(m: dict[tuple[str, str], float]) -> dict[str, Any]:
    """Return settings whose listed levels have the given m and whose else level has the rest."""
    comparisons = build_comparisons(["name", "address", "birth_date"])
    settings = build_settings(comparisons, [])
    for item in settings["comparisons"]:
        levels = item["comparison_levels"]
        for level in levels:
            level["m_probability"] = m.get((item["output_column_name"], level["label_for_charts"]))
        assigned = sum(level["m_probability"] or 0.0 for level in levels)
        levels[-1]["m_probability"] = 1.0 - assigned
    return settings


EXACT_NAMES = {("first_name", "exact"): 1.0, ("last_name", "exact"): 1.0}
ALL_PRESENT = {"first_name": 1.0, "last_name": 1.0, "birth_date": 1.0, "address": 1.0}

RECALL_CASES = [
    (
        "every field agrees",
        NAME_AND_BIRTH,
        {**EXACT_NAMES, ("birth_date", "exact"): 1.0},
        ALL_PRESENT,
        1.0,
    ),
    (
        "half the birth dates differ",
        NAME_AND_BIRTH,
        {**EXACT_NAMES, ("birth_date", "exact"): 0.5},
        ALL_PRESENT,
        0.5,
    ),
    (
        "either name part may carry the error",
        NAME_AND_BIRTH,
        {("first_name", "exact"): 0.5, ("last_name", "exact"): 0.5, ("birth_date", "exact"): 0.5},
        ALL_PRESENT,
        0.5 * (1 - 0.5 * 0.5),
    ),
    (
        "birth date missing on a tenth of records",
        NAME_AND_BIRTH,
        {**EXACT_NAMES, ("birth_date", "exact"): 1.0},
        {**ALL_PRESENT, "birth_date": 0.9},
        0.81,
    ),
    (
        "same street with one postcode missing counts for the street rule",
        FULL_NAME_AND_PLACE,
        {**EXACT_NAMES, ("address", "same street and postcode"): 0.6},
        ALL_PRESENT,
        0.6,
    ),
    (
        "postcode rule covers a street typo",
        FULL_NAME_AND_PLACE,
        {
            **EXACT_NAMES,
            ("address", "same street and postcode"): 0.6,
            ("address", "similar street, same postcode"): 0.3,
        },
        ALL_PRESENT,
        0.9,
    ),
    (
        "same city alone satisfies no rule",
        FULL_NAME_AND_PLACE,
        {**EXACT_NAMES, ("address", "same city"): 1.0},
        ALL_PRESENT,
        0.0,
    ),
]


@pytest.mark.parametrize(
    ("case", "rules", "m", "presence", "expected"),
    RECALL_CASES,
    ids=[case[0] for case in RECALL_CASES],
)
def test_rule_recall(
    case: str,
    rules: list[list[str]],
    m: dict[tuple[str, str], float],
    presence: dict[str, float],
    expected: float,
) -> None:
    comparisons = build_comparisons(["name", "address", "birth_date"])
    recall = rule_recall(comparisons, settings_with(m), rules, presence)
    assert recall == pytest.approx(expected), case


def test_prior_divides_found_pairs_by_recall() -> None:
    comparisons = build_comparisons(["name", "address", "birth_date"])
    settings = settings_with({**EXACT_NAMES, ("birth_date", "exact"): 0.5})
    evidence = PriorEvidence(found=90, records=1000, rules=NAME_AND_BIRTH, presence=ALL_PRESENT)
    assert evidence.prior(comparisons, settings) == pytest.approx(90 / 0.5 / (1000 * 999 / 2))


def test_prior_recall_has_a_floor() -> None:
    comparisons = build_comparisons(["name", "address", "birth_date"])
    settings = settings_with({("birth_date", "exact"): 0.01})
    evidence = PriorEvidence(found=90, records=1000, rules=NAME_AND_BIRTH, presence=ALL_PRESENT)
    expected = 90 / MIN_PRIOR_RULE_RECALL / (1000 * 999 / 2)
    assert evidence.prior(comparisons, settings) == pytest.approx(expected)


def test_prior_without_found_pairs() -> None:
    comparisons = build_comparisons(["name", "birth_date"])
    evidence = PriorEvidence(found=0, records=400, rules=NAME_AND_BIRTH, presence={})
    assert evidence.prior(comparisons, settings_with({})) == pytest.approx(1 / 400)


def record_table(records: list[Record]) -> pa.Table:
    columns = ["first_name_key", "last_name_key", "birth_date"]
    data = {"record_id": [f"crm:{i}" for i in range(len(records))]}
    data.update({column: [record.get(column) for record in records] for column in columns})
    return pa.table(data)


def test_prior_evidence_counts_pairs_and_presence() -> None:
    records: list[Record] = [
        {"first_name_key": "anna", "last_name_key": "koch", "birth_date": "1970-01-02"},
        {"first_name_key": "anne", "last_name_key": "koch", "birth_date": "1970-01-02"},
        {"first_name_key": "anna", "last_name_key": "kohl", "birth_date": "1970-01-02"},
        {"first_name_key": "bernd", "last_name_key": "braun", "birth_date": None},
    ]
    available = {"first_name_key", "last_name_key", "birth_date"}
    evidence = prior_evidence(
        record_table(records), available, build_comparisons(["name", "birth_date"])
    )
    # Pairs 0-1 (family name and birth date) and 0-2 (given name and birth date).
    assert evidence.found == 2
    assert evidence.records == 4
    assert evidence.presence["birth_date"] == pytest.approx(0.75)
    assert evidence.presence["first_name"] == pytest.approx(1.0)


PRESENCE_CASES = [
    ("name present", "first_name", {"first_name_key": "anna"}, True),
    ("name missing", "first_name", {"first_name_key": None}, False),
    (
        "city only",
        "address",
        {"street_key": None, "postal_code_key": None, "city_key": "koeln"},
        True,
    ),
    (
        "no location",
        "address",
        {"street_key": None, "postal_code_key": None, "city_key": None},
        False,
    ),
]


@pytest.mark.parametrize(
    ("case", "name", "record", "expected"), PRESENCE_CASES, ids=[c[0] for c in PRESENCE_CASES]
)
def test_presence_sql_matches_null_level(
    case: str, name: str, record: Record, expected: bool
) -> None:
    comparison = next(c for c in build_comparisons(["name", "address"]) if c.name == name)
    columns = sorted({"first_name_key", "last_name_key", *record})
    values = [record.get(column) for column in columns]
    select = ", ".join(f"CAST(? AS VARCHAR) AS {column}" for column in columns)
    connection = duckdb.connect()
    try:
        connection.execute(f"CREATE TABLE one AS SELECT {select}", values)
        row = connection.execute(f"SELECT {comparison.presence_sql()} FROM one").fetchone()
    finally:
        connection.close()
    assert row is not None
    assert bool(row[0]) is expected, case
    assert (not comparison.levels[0].test(record, record)) is expected, case
