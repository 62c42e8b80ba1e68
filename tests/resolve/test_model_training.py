"""Match model training on people described only by name and birth date."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pyarrow as pa

from accord.config.models import MatchingConfig
from accord.resolve.comparisons import INPUT_COLUMNS, build_comparisons
from accord.resolve.model import MatchModel, blocking_rules, build_settings, train

FIRST_NAMES = [stem + ending for stem in ("anna", "bernd", "clara", "dieter") for ending in "aeio"]
LAST_NAMES = [stem + ending for stem in ("meyer", "schulz", "koch", "braun") for ending in "nrst"]
COMPARISONS = ["name", "birth_date"]


def typo(text: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(text))
    return text[:position] + rng.choice("xqz") + text[position + 1 :]


def people(originals: int, seed: int) -> list[dict[str, str]]:
    """Return originals plus one duplicate of every third, each with one error in one field."""
    rng = random.Random(seed)
    records = []
    for index in range(originals):
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(25_000))
        records.append(
            {
                "first_name_key": rng.choice(FIRST_NAMES),
                "last_name_key": rng.choice(LAST_NAMES),
                "birth_date": born.isoformat(),
            }
        )
        if index % 3:
            continue
        duplicate = dict(records[-1])
        field = ("first_name_key", "last_name_key", "birth_date")[index // 3 % 3]
        if field == "birth_date":
            duplicate[field] = (born + timedelta(days=rng.choice((1, 2, 3)))).isoformat()
        else:
            duplicate[field] = typo(duplicate[field], rng)
        records.append(duplicate)
    return records


def input_table(records: list[dict[str, str]]) -> pa.Table:
    columns: dict[str, pa.Array] = {
        "record_id": pa.array([f"crm:{i:05d}" for i in range(len(records))], pa.string())
    }
    for column in INPUT_COLUMNS:
        values = [record.get(column) for record in records]
        if column == "first_name_nick_key":
            values = [record["first_name_key"] for record in records]
        kind = pa.bool_() if column == "email_is_role" else pa.string()
        columns[column] = pa.array(values, kind)
    columns["first_name_nick_keys"] = pa.array(
        [[record["first_name_key"]] for record in records], pa.list_(pa.string())
    )
    return pa.table(columns)


def trained_model() -> MatchModel:
    table = input_table(people(3000, seed=5))
    available = {"first_name_key", "first_name_nick_key", "last_name_key", "birth_date"}
    config = MatchingConfig()
    settings = build_settings(build_comparisons(COMPARISONS), blocking_rules(config, available))
    return train(table, COMPARISONS, settings, config, available, datetime(2024, 1, 1))


def level_weight(model: MatchModel, comparison: str, label: str) -> float:
    names = [c.name for c in model.comparisons()]
    levels = model.parameters()[names.index(comparison)]
    labels = [level[0] for level in levels]
    return model.level_weights()[names.index(comparison)][labels.index(label)]


def test_names_trained_without_other_identifiers() -> None:
    model = trained_model()
    defaults = {c.name: c.levels[1].m for c in build_comparisons(COMPARISONS)}
    for index, comparison in enumerate(model.comparisons()):
        exact_m = model.parameters()[index][1][1]
        assert exact_m != defaults[comparison.name], comparison.name


def test_exact_birth_date_outweighs_typo() -> None:
    model = trained_model()
    exact = level_weight(model, "birth_date", "exact")
    assert exact > level_weight(model, "birth_date", "one typo")
