"""Pair scoring in DuckDB gives the pairs, levels and probabilities of Splink's predict."""

from __future__ import annotations

import random
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from accord.config.models import MatchingConfig
from accord.resolve.blocking_index import BlockingIndex
from accord.resolve.comparisons import INPUT_COLUMNS, VOCABULARY, build_comparisons
from accord.resolve.inputs import INPUT_TABLE, add_nickname_sets
from accord.resolve.model import MatchModel, blocking_rules, build_settings
from accord.resolve.prediction import predict
from resolve.splink_reference import splink_predict

GIVEN = ["anna", "anne", "bob", "robert", "clara", "dieter", "emma", "jan", "lena", "tom"]
FAMILY = ["meyer", "meier", "schulz", "koch", "braun", "lee", "ng", "schmidt"]
CITIES = ["berlin", "bonn", "köln"]


def _person(rng: random.Random, index: int) -> dict[str, Any]:
    given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    return {
        "record_id": f"s:{index:04d}",
        "first_name_key": given,
        "last_name_key": family,
        "email_key": f"{given}.{family}{rng.randrange(5)}@example.org",
        "phone_key": f"4930{rng.randrange(1000, 1100)}",
        "street_key": f"{rng.randrange(1, 9)} hauptstr",
        "postal_code_key": f"1011{rng.randrange(5)}",
        "city_key": rng.choice(CITIES),
        "birth_date": f"19{rng.randrange(50, 53)}-0{rng.randrange(1, 4)}-1{rng.randrange(3)}",
        "company_name_key": rng.choice([None, "acme", "acme gmbh", "initech"]),
    }


def _vary(record: dict[str, Any], rng: random.Random, index: int) -> dict[str, Any]:
    """Return a copy of ``record`` with one field blanked, swapped or mistyped."""
    copy = {**record, "record_id": f"s:{index:04d}"}
    change = rng.randrange(5)
    if change == 0:
        given, family = copy["first_name_key"], copy["last_name_key"]
        copy["first_name_key"], copy["last_name_key"] = family, given
    elif change == 1:
        copy["email_key"] = None
    elif change == 2:
        copy["birth_date"] = copy["birth_date"][:-1] + "9"
    elif change == 3:
        # A login email only: the record has no name, so the email-name rules pair it.
        copy["first_name_key"] = copy["last_name_key"] = None
    else:
        copy["last_name_key"] = copy["last_name_key"] + "e"
    return copy


def _input_table(records: list[dict[str, Any]]) -> pa.Table:
    """Return the resolution input of ``records``, with the derived keys built in SQL."""
    columns = {
        name: pa.array([r.get(name) for r in records], pa.string())
        for name in ("record_id", *INPUT_COLUMNS)
    }
    connection = duckdb.connect()
    try:
        connection.register("raw", pa.table(columns))
        connection.execute(
            f"""CREATE TEMP TABLE {INPUT_TABLE} AS SELECT * REPLACE (
                    first_name_key AS first_name_nick_key,
                    email_key LIKE 'info%' AS email_is_role,
                    split_part(email_key, '@', 1) AS email_user_key,
                    regexp_replace(split_part(email_key, '@', 1), '[^a-z]', '', 'g')
                        AS email_local_key,
                    CASE WHEN first_name_key IS NULL AND last_name_key IS NULL THEN
                        regexp_replace(split_part(email_key, '@', 1), '[^a-z]', '', 'g')
                    END AS nameless_email_key,
                    first_name_key || last_name_key AS name_full_key,
                    left(first_name_key, 1) || last_name_key AS name_initial_key,
                    last_name_key || first_name_key AS name_reversed_key,
                    left(birth_date, 4) AS birth_year)
                FROM raw"""
        )
        add_nickname_sets(connection)
        return connection.sql(f"SELECT * FROM {INPUT_TABLE}").to_arrow_table()
    finally:
        connection.close()


def _records(seed: int, count: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    originals: list[dict[str, Any]] = []
    while len(records) < count:
        if originals and rng.random() < 0.4:
            records.append(_vary(rng.choice(originals), rng, len(records)))
        else:
            originals.append(_person(rng, len(records)))
            records.append(originals[-1])
    rng.shuffle(records)
    return records


def _model(table: pa.Table) -> MatchModel:
    names = list(VOCABULARY)
    available = {c for c in table.column_names if table.column(c).null_count < table.num_rows}
    rules = blocking_rules(MatchingConfig(), available, table)
    return MatchModel(names, build_settings(build_comparisons(names), rules))


def _rows(table: pa.Table) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["record_id_l"], row["record_id_r"]): row for row in table.to_pylist()}


@pytest.mark.parametrize(("seed", "threshold"), [(1, 0.0), (2, 0.0), (3, 0.5), (4, 0.95)])
def test_scores_equal_splink(seed: int, threshold: float) -> None:
    table = _input_table(_records(seed, 400))
    model = _model(table)
    ours = _rows(predict(table, model, threshold))
    theirs = _rows(splink_predict(table, model, threshold))

    assert ours.keys() == theirs.keys()
    assert len(ours) > 100
    gammas = [f"gamma_{c.name}" for c in model.comparisons()]
    for pair, row in ours.items():
        expected = theirs[pair]
        assert row["match_weight"] == pytest.approx(expected["match_weight"], abs=1e-9), pair
        assert row["match_probability"] == pytest.approx(expected["match_probability"], abs=1e-12)
        assert [row[g] for g in gammas] == [expected[g] for g in gammas], pair


def test_asymmetric_rule_pairs_in_record_id_order() -> None:
    """A nameless email record pairs with the named record whichever ID sorts first."""
    named = {"first_name_key": "anna", "last_name_key": "lee", "email_key": "a@x.org"}
    nameless = {"email_key": "annalee@y.org"}
    records = [
        {"record_id": "a:1", **nameless},
        {"record_id": "b:1", **named},
        {"record_id": "c:1", **named, "email_key": "b@x.org"},
        {"record_id": "d:1", **nameless, "email_key": "annalee@z.org"},
    ]
    table = _input_table(records)
    model = _model(table)
    ours = set(_rows(predict(table, model, 0.0)))

    assert ours == set(_rows(splink_predict(table, model, 0.0)))
    assert {("a:1", "b:1"), ("a:1", "c:1"), ("b:1", "d:1"), ("c:1", "d:1")} <= ours


def test_no_pairs_gives_empty_table() -> None:
    table = _input_table(
        [
            {"record_id": "a:1", "first_name_key": "anna", "last_name_key": "lee"},
            {"record_id": "a:2", "first_name_key": "bob", "last_name_key": "ng"},
        ]
    )
    scored = predict(table, _model(table), 0.0)

    assert scored.num_rows == 0
    assert {"record_id_l", "record_id_r", "match_probability"} <= set(scored.column_names)


@pytest.mark.parametrize("max_pairs", [1, 4, 25, 200])
def test_capped_blocks_pair_as_the_blocking_index(max_pairs: int) -> None:
    """Batch scoring and the in-memory index leave out the same oversized blocks."""
    table = _input_table(_records(5, 400))
    model = _model(table)
    capped = set(_rows(predict(table, model, 0.0, max_pairs)))
    every = set(_rows(predict(table, model, 0.0)))
    index = BlockingIndex(model.prediction_rules(), max_pairs)
    records = {row["record_id"]: row for row in table.to_pylist()}
    for record_id, record in records.items():
        index.add(record_id, record)
    indexed = {
        (a, b) for a, record in records.items() for b in index.candidates(a, record) if a < b
    }

    assert capped == indexed
    assert 0 < len(capped) < len(every)


def test_block_over_the_cap_joins_no_pairs() -> None:
    """Five people named Anna Lee share a block of ten pairs; a cap of nine drops it."""
    people = [
        {"record_id": f"a:{n}", "first_name_key": "anna", "last_name_key": "lee"} for n in range(5)
    ]
    pair = [
        {"record_id": f"b:{n}", "first_name_key": "bob", "last_name_key": "ng"} for n in range(2)
    ]
    table = _input_table(people + pair)
    model = _model(table)

    assert len(predict(table, model, 0.0, max_block_pairs=10)) == 11
    assert set(_rows(predict(table, model, 0.0, max_block_pairs=9))) == {("b:0", "b:1")}


@pytest.mark.parametrize(
    ("part_rows", "max_pairs"), [(1, None), (37, None), (150, 25), (10**6, 25)]
)
def test_blocking_in_parts_gives_same_pairs(
    monkeypatch: pytest.MonkeyPatch, part_rows: int, max_pairs: int | None
) -> None:
    table = _input_table(_records(5, 400))
    model = _model(table)
    whole = predict(table, model, 0.0, max_pairs)
    monkeypatch.setattr("accord.resolve.prediction.BLOCK_PART_ROWS", part_rows)
    parts = predict(table, model, 0.0, max_pairs)

    assert sorted(_rows(parts)) == sorted(_rows(whole))
    assert parts.num_rows == whole.num_rows > 0
    assert sorted(parts.column("match_weight").to_pylist()) == sorted(
        whole.column("match_weight").to_pylist()
    )
