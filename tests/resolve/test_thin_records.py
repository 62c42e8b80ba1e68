"""Lone thin records join the only customer with their full name, and no other."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from accord.resolve.inputs import INPUT_TABLE
from accord.resolve.thin_records import unique_candidate_links

# record, full name key, phone key; thin records have no phone, street or birth date.
RECORDS = [
    ("support:1", "evelynmiller", None),
    ("crm:1", "evelynmiller", "+13055550111"),
    ("crm:2", "evelynmiller", "+12065550177"),
    ("crm:3", "evelynmiller", "+12065550178"),
    ("crm:4", "brunohale", "+12065550190"),
    ("support:2", "brunohale", None),
]


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    records = pa.table(
        {
            "record_id": [record for record, _, _ in RECORDS],
            "name_full_key": [name for _, name, _ in RECORDS],
            "phone_key": [phone for _, _, phone in RECORDS],
            "street_key": pa.array([None] * len(RECORDS), pa.string()),
            "birth_date": pa.array([None] * len(RECORDS), pa.string()),
        }
    )
    connection.register("records", records)
    connection.execute(f"CREATE TABLE {INPUT_TABLE} AS SELECT * FROM records")
    yield connection
    connection.close()


def review(*pairs: tuple[str, str]) -> list[tuple[str, str, float, object]]:
    return [(a, b, 0.9, None) for a, b in pairs]


CASES = [
    (
        "one namesake customer",
        {"crm:2": "crm:1", "crm:3": "crm:1"},
        review(("crm:1", "support:1")),
        [("support:1", "crm:1")],
    ),
    (
        "namesake outside the review pairs",
        {"crm:3": "crm:3"},
        review(("crm:1", "support:1")),
        [],
    ),
    (
        "two namesake customers in review pairs",
        {"crm:3": "crm:3"},
        review(("crm:1", "support:1"), ("crm:3", "support:1")),
        [],
    ),
    (
        "review pair with another name",
        {"crm:2": "crm:1", "crm:3": "crm:1"},
        review(("crm:4", "support:1")),
        [],
    ),
    (
        "lone record on either side of the pair",
        {"crm:2": "crm:1", "crm:3": "crm:1"},
        review(("support:2", "crm:4")),
        [("support:2", "crm:4")],
    ),
]


@pytest.mark.parametrize(
    ("case", "clusters", "pairs", "expected"), CASES, ids=[case[0] for case in CASES]
)
def test_unique_candidate_links(
    connection: duckdb.DuckDBPyConnection,
    case: str,
    clusters: dict[str, str],
    pairs: list[tuple[str, str, float, object]],
    expected: list[tuple[str, str]],
) -> None:
    labels = {record: record for record, _, _ in RECORDS} | clusters
    assert unique_candidate_links(connection, labels, pairs) == expected, case
