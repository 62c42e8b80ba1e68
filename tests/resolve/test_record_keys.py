"""In-process comparison keys equal those the SQL resolution input derives."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from accord.resolve.inputs import input_rows
from accord.resolve.organizations import _keys_query
from accord.resolve.record_keys import company_keys, input_row
from accord.store.duckdb_store import Store

NOW = datetime(2026, 1, 2, 3, 4, 5)
EXTRA = ["crm_id", "email_is_role"]

# Standardized records, each a case the two paths could disagree on.
CASES: list[dict[str, Any]] = [
    {},
    {"first_name_key": "jane", "last_name_key": "doe", "email_key": "jane.doe42@example.com"},
    {"first_name_key": "", "last_name_key": "", "email_key": "jdoe@example.com"},
    {"first_name_key": None, "last_name_key": "doe", "email_key": "@example.com"},
    {"email_key": "", "email_is_role": True, "city": "  Springfield  "},
    {"email_key": "info@acme.com", "email_is_role": "true", "city": "\tTab City "},
    {"email_key": "a.b.c@d@e", "email_is_role": False, "city": ""},
    {"birth_date_key": "1949-00-13", "birth_date": "1949-01-13", "crm_id": "C-1"},
    {"birth_date_key": "", "birth_date": "1990-12-31", "crm_id": ""},
    {"birth_date": "19", "first_name_key": "x", "last_name_key": "y"},
    {"first_name_key": "ann", "phone_key": "+14155550100", "street_key": "1 main st"},
    {"postal_code_key": "94105", "company_name_key": "acme", "company_domain": "acme.com"},
    {"company_domain": "gmail.com", "company_is_freemail": True},
    {"company_domain": "gmail.com", "company_is_freemail": "false"},
    {"company_name_key": "", "company_domain": ""},
    {"company_name_key": "initech", "company_is_freemail": True},
    {"first_name_nick_key": "bob", "first_name_key": "robert", "last_name_key": "o'neil"},
    {"email_key": "JANE@EXAMPLE.COM", "first_name_key": "Jane"},
    {"email_key": "zoë.müller@example.de", "first_name_key": "zoë", "city": "München"},
    {"first_name_key": "émile", "last_name_key": "zola", "birth_date": "١٩٤٩-٠١-٠٢"},
    {"city": "İstanbul", "email_key": "x@y"},
    {"email_key": 12, "city": 3.5, "email_is_role": "yes", "company_is_freemail": 1},
    {"first_name_key": ["a"], "company_name_key": {"a": 1}, "company_domain": 7},
]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "store.duckdb")
    rows = [
        ["crm", str(number), 1, "hash", "{}", json.dumps(data), NOW, NOW, NOW, None, 1]
        for number, data in enumerate(CASES)
    ]
    opened.connection.executemany(
        "INSERT INTO source_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    yield opened
    opened.close()


def _sql_rows(store: Store) -> dict[str, dict[str, Any]]:
    ids = [f"crm:{number}" for number in range(len(CASES))]
    rows = input_rows(store.connection, ["crm"], EXTRA, ids)
    for row in rows:
        del row["first_name_nick_keys"]
    return {row["record_id"]: row for row in rows}


def test_input_row_equals_sql_row(store: Store) -> None:
    expected = _sql_rows(store)
    computed = 0
    for number, data in enumerate(CASES):
        row = input_row("crm", str(number), data, EXTRA)
        if row is None:
            continue
        computed += 1
        assert row == expected[f"crm:{number}"], data
        assert list(row) == list(expected[f"crm:{number}"])
    assert computed >= len(CASES) - 6


@pytest.mark.parametrize(
    "data",
    [
        {"email_key": 12},
        {"city": "München"},
        {"first_name_key": "émile", "last_name_key": "zola"},
        {"email_is_role": "yes"},
        {"first_name_key": ["a"]},
    ],
)
def test_input_row_falls_back_to_sql(data: dict[str, Any]) -> None:
    assert input_row("crm", "1", data, []) is None


def test_company_keys_equal_sql_keys(store: Store) -> None:
    rows = store.connection.execute(_keys_query()).fetchall()
    expected = {record: [(name, domain)] for record, name, domain in rows}
    computed = 0
    for number, data in enumerate(CASES):
        keys = company_keys(data)
        if keys is None:
            continue
        computed += 1
        assert keys == expected.get(f"crm:{number}", []), data
    assert computed >= len(CASES) - 2


def _random_text(rng: random.Random) -> str | None:
    alphabet = ["a", "b", "z", " ", "@", ".", "-", "'", "0", "9", "é", "\t", "", "İ"]
    if rng.random() < 0.2:
        return None
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6)))


def test_random_records_match_sql(tmp_path: Path) -> None:
    rng = random.Random(5)
    fields = [
        "first_name_key",
        "last_name_key",
        "email_key",
        "city",
        "birth_date",
        "birth_date_key",
        "phone_key",
        "company_name_key",
        "company_domain",
        "crm_id",
    ]
    records = []
    for _ in range(400):
        data: dict[str, Any] = {name: _random_text(rng) for name in fields if rng.random() < 0.8}
        data["email_is_role"] = rng.choice([True, False, None, "true", "false"])
        data["company_is_freemail"] = rng.choice([True, False, None])
        records.append(data)
    with Store.open(tmp_path / "store.duckdb") as store:
        store.connection.executemany(
            "INSERT INTO source_records VALUES ('crm', ?, 1, 'h', '{}', ?, ?, ?, ?, NULL, 1)",
            [[str(n), json.dumps(data), NOW, NOW, NOW] for n, data in enumerate(records)],
        )
        ids = [f"crm:{number}" for number in range(len(records))]
        expected = {
            row["record_id"]: row for row in input_rows(store.connection, ["crm"], EXTRA, ids)
        }
        keys = store.connection.execute(_keys_query()).fetchall()
    expected_keys = {record: [(name, domain)] for record, name, domain in keys}
    computed = 0
    for number, data in enumerate(records):
        row = input_row("crm", str(number), data, EXTRA)
        if row is not None:
            computed += 1
            row["first_name_nick_keys"] = expected[f"crm:{number}"]["first_name_nick_keys"]
            assert row == expected[f"crm:{number}"], data
        company = company_keys(data)
        assert company is not None
        assert company == expected_keys.get(f"crm:{number}", []), data
    assert computed > 50
