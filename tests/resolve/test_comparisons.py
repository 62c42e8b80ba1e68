"""Comparison levels: the Python and SQL forms pick the expected level on hard cases."""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from accord.config.models import MatchingConfig
from accord.resolve.comparisons import Comparison, Record, address, birth_date
from accord.resolve.model import blocking_rules, choose_comparisons


def sql_gamma(comparison: Comparison, left: Record, right: Record) -> int:
    """Return the gamma value that the comparison's Splink SQL gives the pair."""
    columns = comparison.columns
    values: list[Any] = [left.get(c) for c in columns] + [right.get(c) for c in columns]
    names = [f"{c}_l" for c in columns] + [f"{c}_r" for c in columns]
    select = ", ".join(f"CAST(? AS VARCHAR) AS {name}" for name in names)
    connection = duckdb.connect()
    try:
        connection.execute(f"CREATE TABLE pair AS SELECT {select}", values)
        result = connection.execute(f"SELECT {comparison.gamma_sql()} FROM pair").fetchone()
    finally:
        connection.close()
    assert result is not None
    return int(result[0])


def check_level(
    comparison: Comparison, left: Record, right: Record, expected: str, case: str
) -> None:
    """Assert that the Python form picks ``expected`` and the SQL form the same gamma."""
    index = comparison.level_of(left, right)
    assert comparison.levels[index].label == expected, case
    assert sql_gamma(comparison, left, right) == comparison.gamma(index), case


def location(street: str | None, postcode: str | None, city: str | None) -> Record:
    return {"street_key": street, "postal_code_key": postcode, "city_key": city}


ADDRESS_CASES = [
    (
        "same street and postcode",
        location("12 oak st", "94704", "berkeley"),
        location("12 oak st", "94704", None),
        "same street and postcode",
    ),
    (
        "birth place and postcode, no street",
        location(None, "M126BN", "manchester"),
        location(None, "M126BN", "manchester"),
        "same postcode and city",
    ),
    (
        "postcode only on both sides",
        location(None, "M126BN", None),
        location(None, "M126BN", "manchester"),
        "same postcode",
    ),
    (
        "postcode typo in the same town",
        location(None, "M336WE", "jay"),
        location(None, "M336WR", "jay"),
        "postcode one edit apart, same city",
    ),
    (
        "neighbouring postcode elsewhere",
        location(None, "M336WE", "jay"),
        location(None, "M336WR", "leeds"),
        "postcode one edit apart",
    ),
    (
        "same postcode sector",
        location(None, "NE180NG", None),
        location(None, "NE180LH", None),
        "postcode two edits apart",
    ),
    (
        "five-digit codes two edits apart",
        location(None, "94601", "oakland"),
        location(None, "98101", "portland"),
        "else",
    ),
    (
        "city only",
        location(None, None, "leeds"),
        location(None, "LS179NS", "leeds"),
        "same city",
    ),
    (
        "different streets and postcodes",
        location("3 elm st", "94601", "oakland"),
        location("9 pine st", "98101", "seattle"),
        "else",
    ),
    (
        "no location on one side",
        location(None, None, None),
        location("9 pine st", "98101", "seattle"),
        "null",
    ),
]


@pytest.mark.parametrize(
    ("case", "left", "right", "expected"), ADDRESS_CASES, ids=[c[0] for c in ADDRESS_CASES]
)
def test_address_level(case: str, left: Record, right: Record, expected: str) -> None:
    check_level(address(), left, right, expected, case)


@pytest.mark.parametrize(
    ("case", "left", "right", "expected"), ADDRESS_CASES, ids=[c[0] for c in ADDRESS_CASES]
)
def test_address_level_agrees_on_keys(
    case: str, left: Record, right: Record, expected: str
) -> None:
    comparison = address()
    level = comparison.levels[comparison.level_of(left, right)]
    for column in level.agrees:
        assert left.get(column) is not None, case
        assert left.get(column) == right.get(column), case


def born(date: str | None) -> Record:
    return {"birth_date": date}


BIRTH_DATE_CASES = [
    ("same date", born("1964-11-17"), born("1964-11-17"), "exact"),
    ("day and month swapped", born("1964-03-11"), born("1964-11-03"), "day and month swapped"),
    ("one digit replaced", born("1926-08-22"), born("1926-08-21"), "one typo"),
    ("adjacent digits swapped", born("1964-11-71"), born("1964-11-17"), "one typo"),
    ("year digits swapped", born("1985-10-14"), born("9185-10-14"), "one typo"),
    ("wrong year", born("1992-10-24"), born("1987-10-24"), "one part differs"),
    ("wrong month", born("1944-09-03"), born("1944-11-03"), "one part differs"),
    ("wrong day", born("1965-02-09"), born("1965-02-20"), "one part differs"),
    ("same year only", born("1941-04-27"), born("1941-09-13"), "same year"),
    ("same birthday, other year", born("1930-05-07"), born("1962-05-07"), "one part differs"),
    ("nothing in common", born("1953-01-02"), born("1978-12-30"), "else"),
    ("partial date against full", born("1964-11"), born("1964-11-17"), "same year"),
    ("no date on one side", born(None), born("1964-11-17"), "null"),
]


@pytest.mark.parametrize(
    ("case", "left", "right", "expected"), BIRTH_DATE_CASES, ids=[c[0] for c in BIRTH_DATE_CASES]
)
def test_birth_date_level(case: str, left: Record, right: Record, expected: str) -> None:
    check_level(birth_date(), left, right, expected, case)


def _typo_variant(rng: random.Random, text: str) -> str:
    """Return ``text`` with up to two random edits: insert, delete, replace or swap.

    The result is never empty, because the resolution input has no empty dates.
    """
    alphabet = "0129-é"
    chars = list(text)
    for _ in range(rng.randint(0, 2)):
        position = rng.randrange(len(chars) + 1)
        edit = rng.choice(["insert", "delete", "replace", "swap"])
        if edit == "insert":
            chars.insert(position, rng.choice(alphabet))
        elif len(chars) > 1 and edit == "delete":
            del chars[min(position, len(chars) - 1)]
        elif chars and edit == "replace":
            chars[min(position, len(chars) - 1)] = rng.choice(alphabet)
        elif len(chars) > 1:
            index = min(position, len(chars) - 2)
            chars[index], chars[index + 1] = chars[index + 1], chars[index]
    return "".join(chars)


def test_one_typo_sql_matches_python() -> None:
    rng = random.Random(7)
    pairs = []
    for _ in range(3000):
        text = "".join(rng.choice("0129-é") for _ in range(rng.randint(1, 8)))
        pairs.append((text, _typo_variant(rng, text)))
    level = next(level for level in birth_date().levels if level.label == "one typo")
    connection = duckdb.connect()
    try:
        connection.register(
            "pairs",
            pa.table(
                {
                    "birth_date_l": [left for left, _ in pairs],
                    "birth_date_r": [right for _, right in pairs],
                }
            ),
        )
        rows = connection.execute(
            f"SELECT birth_date_l, birth_date_r, {level.sql} FROM pairs"
        ).fetchall()
    finally:
        connection.close()
    in_sql = {(left, right): typo for left, right, typo in rows}
    in_python = {(left, right): level.test(born(left), born(right)) for left, right in pairs}
    assert in_sql == in_python
    assert 0 < sum(in_python.values()) < len(in_python)


def test_address_used_without_street() -> None:
    available = {"first_name_key", "last_name_key", "birth_date", "postal_code_key", "city_key"}
    assert "address" in choose_comparisons(MatchingConfig(), available)


def test_birth_place_sets_get_location_blocking() -> None:
    available = {"first_name_key", "last_name_key", "birth_date", "postal_code_key", "city_key"}
    rules = blocking_rules(MatchingConfig(), available)
    assert "l.birth_date = r.birth_date AND l.postal_code_key = r.postal_code_key" in rules
    assert "l.last_name_key = r.last_name_key AND l.city_key = r.city_key" in rules
    assert not any("street_key" in rule for rule in rules)


def test_name_and_birth_year_blocking() -> None:
    available = {"first_name_key", "last_name_key", "birth_date", "birth_year"}
    rules = blocking_rules(MatchingConfig(), available)
    assert "l.last_name_key = r.last_name_key AND l.birth_year = r.birth_year" in rules
    assert "l.first_name_key = r.first_name_key AND l.birth_year = r.birth_year" in rules


def birth_dates(values: list[str]) -> pa.Table:
    return pa.table(
        {
            "record_id": [f"crm:{i}" for i in range(len(values))],
            "birth_date": values,
        }
    )


# (case, birth dates of the records, whether the birth-date rule is used)
WEAK_RULE_CASES = [
    ("distinct dates", [f"1970-01-{day:02d}" for day in range(1, 21)], True),
    ("pairs within the limit", ["1970-01-01"] * 10 + ["1980-02-02"] * 10, True),
    ("one date for every record", ["1970-01-01"] * 20, False),
]


@pytest.mark.parametrize(
    ("case", "values", "used"), WEAK_RULE_CASES, ids=[c[0] for c in WEAK_RULE_CASES]
)
def test_birth_date_rule_within_pair_limit(case: str, values: list[str], used: bool) -> None:
    available = {"first_name_key", "last_name_key", "birth_date"}
    rules = blocking_rules(MatchingConfig(), available, birth_dates(values))
    assert ("l.birth_date = r.birth_date" in rules) is used, case


def test_birth_date_rule_needs_the_table() -> None:
    available = {"first_name_key", "last_name_key", "birth_date"}
    assert "l.birth_date = r.birth_date" not in blocking_rules(MatchingConfig(), available)
