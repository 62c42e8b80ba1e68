"""The in-memory blocking index pairs exactly the records a Splink dedupe join pairs."""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from accord.resolve.blocking_index import BlockingIndex, parse_rule


@pytest.mark.parametrize(
    ("sql", "left", "right"),
    [
        ("l.email_key = r.email_key", ("email_key",), ("email_key",)),
        ('l."email_key" = r."email_key"', ("email_key",), ("email_key",)),
        ("r.nameless_email_key = l.name_full_key", ("name_full_key",), ("nameless_email_key",)),
        (
            "l.first_name_key = r.last_name_key AND l.last_name_key = r.first_name_key",
            ("first_name_key", "last_name_key"),
            ("last_name_key", "first_name_key"),
        ),
        (
            "l.last_name_key = r.last_name_key and l.birth_date = r.birth_date",
            ("last_name_key", "birth_date"),
            ("last_name_key", "birth_date"),
        ),
    ],
)
def test_parse_rule(sql: str, left: tuple[str, ...], right: tuple[str, ...]) -> None:
    rule = parse_rule(sql)
    assert (rule.left, rule.right) == (left, right)


@pytest.mark.parametrize(
    "sql",
    [
        "l.a = r.a OR l.b = r.b",
        "l.a = l.b",
        "levenshtein(l.a, r.a) < 2",
        "substr(l.a, 1, 3) = substr(r.a, 1, 3)",
    ],
)
def test_parse_rule_rejects_other_sql(sql: str) -> None:
    with pytest.raises(ValueError, match=r"l\.column = r\.column"):
        parse_rule(sql)


RULES = [
    "l.email_key = r.email_key",
    "l.first_name_key = r.last_name_key AND l.last_name_key = r.first_name_key",
    "l.nameless_email_key = r.name_full_key",
    "r.nameless_email_key = l.name_full_key",
]
RECORDS: list[dict[str, Any]] = [
    {"email_key": "a@x.org", "first_name_key": "ann", "last_name_key": "lee"},
    {"email_key": "a@x.org", "first_name_key": "lee", "last_name_key": "ann"},
    {"email_key": None, "first_name_key": "lee", "last_name_key": "ann"},
    {"email_key": "b@x.org", "first_name_key": None, "last_name_key": None},
    {"email_key": None, "first_name_key": "ann", "last_name_key": None},
]
NAMELESS = ["annlee", None, "leeann", "annlee", None]
FULL = ["annlee", "leeann", "leeann", None, None]


def _records() -> dict[str, dict[str, Any]]:
    out = {}
    for index, record in enumerate(RECORDS):
        out[f"r{index}"] = {
            **record,
            "nameless_email_key": NAMELESS[index],
            "name_full_key": FULL[index],
        }
    return out


def _splink_pairs(records: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    rows = [{"record_id": key, **value} for key, value in records.items()]
    connection = duckdb.connect()
    connection.register("input", pa.Table.from_pylist(rows))
    pairs: set[tuple[str, str]] = set()
    for rule in RULES:
        found = connection.execute(
            f"SELECT l.record_id, r.record_id FROM input l JOIN input r "
            f"ON l.record_id < r.record_id AND {rule}"
        ).fetchall()
        pairs |= {(a, b) for a, b in found}
    return pairs


def test_candidates_match_the_dedupe_join() -> None:
    records = _records()
    index = BlockingIndex(RULES)
    for key, record in records.items():
        index.add(key, record)
    found = {
        tuple(sorted((key, other)))
        for key, record in records.items()
        for other in index.candidates(key, record)
    }
    assert found == _splink_pairs(records)
    assert found  # the table above has pairs under every rule kind


def test_removed_record_is_no_candidate() -> None:
    records = _records()
    index = BlockingIndex(RULES)
    for key, record in records.items():
        index.add(key, record)
    index.remove("r1", records["r1"])
    for key, record in records.items():
        if key != "r1":
            assert "r1" not in index.candidates(key, record)
    index.add("r1", records["r1"])
    assert "r1" in index.candidates("r0", records["r0"])


CAPPED_RULES = [
    "l.last_name_key = r.last_name_key",
    "l.nameless_email_key = r.name_full_key",
    "r.nameless_email_key = l.name_full_key",
]


def _small_record(rng: random.Random) -> dict[str, Any]:
    """Return a record drawn from so few names that blocks grow past small caps."""
    first, last = rng.choice(["ann", "bo"]), rng.choice(["lee", "ng", "ito"])
    if rng.random() < 0.3:
        return {"last_name_key": None, "nameless_email_key": first + last, "name_full_key": None}
    return {"last_name_key": last, "nameless_email_key": None, "name_full_key": first + last}


def _all_pairs(index: BlockingIndex, records: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (min(a, b), max(a, b)) for a, record in records.items() for b in index.candidates(a, record)
    }


@pytest.mark.parametrize("seed", range(6))
def test_crossed_blocks_cover_changed_pairs(seed: int) -> None:
    """Pairs of two unchanged records appear or vanish only inside the blocks returned."""
    rng = random.Random(seed)
    index = BlockingIndex(CAPPED_RULES, max_pairs=6)
    records = {f"r{n:02d}": _small_record(rng) for n in range(14)}
    for key, record in records.items():
        index.add(key, record)
    crossings = 0
    for _ in range(40):
        before = _all_pairs(index, records)
        changed = rng.sample([*sorted(records), "new1", "new2"], 2)
        previous = {key: records.get(key) for key in changed}
        for key in changed:
            if key in records:
                index.remove(key, records.pop(key))
            if rng.random() < 0.8:
                records[key] = _small_record(rng)
                index.add(key, records[key])
        current = {key: records.get(key) for key in changed}
        crossed = index.crossed_blocks(previous, current)
        after = _all_pairs(index, records)
        for a, b in before ^ after:
            if a not in changed and b not in changed:
                assert {a, b} <= crossed, (a, b)
        crossings += bool(crossed)
    assert crossings  # the cap was crossed, so the check above was exercised


def test_crossed_blocks_without_a_cap_is_empty() -> None:
    index = BlockingIndex(CAPPED_RULES)
    index.add("r1", {"last_name_key": "lee"})
    assert index.crossed_blocks({"r1": None}, {"r1": {"last_name_key": "lee"}}) == set()
