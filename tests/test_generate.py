"""Tests for the benchmark generator in bench/generate.py, at 10,000 records."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

import phonenumbers
import pyarrow.parquet as pq
import pytest
import yaml

from accord.config.models import Project

GENERATOR = Path(__file__).resolve().parents[1] / "bench" / "generate.py"
RECORDS = 10_000
SEED = 3
OUTPUT_FILES = (
    "crm.csv",
    "billing.csv",
    "support.jsonl",
    "analytics.parquet",
    "truth.parquet",
    "accord.yaml",
)

Row = dict[str, str]


def _load_generator() -> ModuleType:
    # Loaded by path because the installed distribution contains only the accord package.
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_generate"] = module
    spec.loader.exec_module(module)
    return module


generate = _load_generator().generate


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with one generated benchmark of 10,000 records."""
    out = tmp_path_factory.mktemp("bench")
    generate(RECORDS, out, SEED)
    return out


def read_csv(path: Path) -> list[Row]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def read_support(folder: Path) -> list[dict[str, object]]:
    with (folder / "support.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def flatten(row: dict[str, object], prefix: str = "") -> dict[str, object]:
    """Flatten nested objects to dotted column names, as Accord's JSON reader does."""
    flat: dict[str, object] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def entity_of(folder: Path) -> dict[tuple[str, str], str]:
    truth = pq.read_table(folder / "truth.parquet").to_pylist()
    return {(row["source"], row["source_key"]): row["entity"] for row in truth}


def crm_with_entities(folder: Path) -> list[Row]:
    entities = entity_of(folder)
    rows = read_csv(folder / "crm.csv")
    for row in rows:
        row["entity"] = entities["crm", row["contact_id"]]
    return rows


def groups_of_people(rows: list[Row], columns: tuple[str, ...]) -> list[list[Row]]:
    """Group rows on lower-cased ``columns`` and keep groups with several entities."""
    groups: dict[tuple[str, ...], list[Row]] = defaultdict(list)
    for row in rows:
        key = tuple(row[column].lower() for column in columns)
        if all(key):
            groups[key].append(row)
    return [group for group in groups.values() if len({row["entity"] for row in group}) > 1]


def test_generate_is_deterministic(tmp_path: Path) -> None:
    generate(RECORDS, tmp_path / "first", SEED)
    generate(RECORDS, tmp_path / "second", SEED)
    for name in OUTPUT_FILES:
        first = (tmp_path / "first" / name).read_bytes()
        assert first == (tmp_path / "second" / name).read_bytes(), name


def test_other_seed_changes_data(tmp_path: Path, bench_dir: Path) -> None:
    generate(RECORDS, tmp_path, SEED + 1)
    assert (tmp_path / "crm.csv").read_bytes() != (bench_dir / "crm.csv").read_bytes()


def test_record_count_is_exact(bench_dir: Path) -> None:
    crm = read_csv(bench_dir / "crm.csv")
    billing = read_csv(bench_dir / "billing.csv")
    support = read_support(bench_dir)
    analytics = pq.read_table(bench_dir / "analytics.parquet")
    assert len(crm) + len(billing) + len(support) + analytics.num_rows == RECORDS


def test_truth_covers_every_record_once(bench_dir: Path) -> None:
    keys = {
        "crm": [row["contact_id"] for row in read_csv(bench_dir / "crm.csv")],
        "billing": [row["customer_id"] for row in read_csv(bench_dir / "billing.csv")],
        "support": [str(flatten(row)["requester.id"]) for row in read_support(bench_dir)],
        "analytics": pq.read_table(bench_dir / "analytics.parquet")["user_id"].to_pylist(),
    }
    truth = pq.read_table(bench_dir / "truth.parquet").to_pylist()
    assert len(truth) == RECORDS
    pairs = Counter((row["source"], row["source_key"]) for row in truth)
    assert max(pairs.values()) == 1
    for source, source_keys in keys.items():
        assert len(source_keys) == len(set(source_keys)), source
        assert set(source_keys) == {key for name, key in pairs if name == source}, source


def test_people_span_one_to_four_sources(bench_dir: Path) -> None:
    sources_of: dict[str, set[str]] = defaultdict(set)
    for (source, _), entity in entity_of(bench_dir).items():
        sources_of[entity].add(source)
    spans = Counter(len(names) for names in sources_of.values())
    assert set(spans) == {1, 2, 3, 4}
    assert spans[2] + spans[3] + spans[4] > 2 * spans[1]


def test_households_share_phone_and_street(bench_dir: Path) -> None:
    households = groups_of_people(crm_with_entities(bench_dir), ("last_name", "street", "phone"))
    assert len(households) >= 50
    for group in households:
        emails = [row["email"] for row in group if row["email"]]
        assert len(set(emails)) == len(emails)


def test_twins_share_birth_date_and_street(bench_dir: Path) -> None:
    twins = groups_of_people(crm_with_entities(bench_dir), ("last_name", "street", "birth_date"))
    assert len(twins) >= 3
    for group in twins:
        first_names = {row["first_name"].lower() for row in group if row["first_name"]}
        assert len(first_names) > 1


def test_common_names_belong_to_many_people(bench_dir: Path) -> None:
    rows = crm_with_entities(bench_dir)
    people_by_name: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        people_by_name[row["first_name"].lower(), row["last_name"].lower()].add(row["entity"])
    shared = [name for name, entities in people_by_name.items() if all(name) and len(entities) >= 3]
    assert len(shared) >= 5


def test_canceled_billing_closed_won_in_crm(bench_dir: Path) -> None:
    entities = entity_of(bench_dir)
    canceled = {
        entities["billing", row["customer_id"]]
        for row in read_csv(bench_dir / "billing.csv")
        if row["status"] == "canceled"
    }
    closed_won = {
        row["entity"] for row in crm_with_entities(bench_dir) if row["lead_status"] == "Closed Won"
    }
    assert len(canceled & closed_won) >= 30


def test_accents_dropped_in_crm(bench_dir: Path) -> None:
    entities = entity_of(bench_dir)
    accented = {
        entities["billing", row["customer_id"]]
        for row in read_csv(bench_dir / "billing.csv")
        if not row["name"].isascii()
    }
    crm = [row for row in crm_with_entities(bench_dir) if row["entity"] in accented]
    assert any((row["first_name"] + row["last_name"]).isascii() for row in crm)
    assert any(not (row["first_name"] + row["last_name"]).isascii() for row in crm)


def test_sources_differ_in_format(bench_dir: Path) -> None:
    assert not (bench_dir / "crm.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (bench_dir / "billing.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert (bench_dir / "analytics.parquet").read_bytes()[:4] == b"PAR1"

    crm = read_csv(bench_dir / "crm.csv")
    billing = read_csv(bench_dir / "billing.csv")
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["birth_date"]) for r in crm if r["birth_date"])
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", row["created"]) for row in billing)
    assert any(int(row["created"][:2]) > 12 for row in billing)
    assert all(
        re.fullmatch(r"\(0\d\) \d{4} \d{4}|04\d\d \d{3} \d{3}", r["phone"])
        for r in crm
        if r["phone"]
    )
    assert all(r["phone"].startswith("+61 ") for r in billing if r["phone"])

    last_first = sum(", " in row["name"] for row in billing)
    assert 0.5 * len(billing) < last_first < 0.9 * len(billing)

    support = read_support(bench_dir)
    assert all(isinstance(row["requester"], dict) for row in support)
    assert any(isinstance(row["organization"], dict) for row in support)
    assert any(row["organization"] is None for row in support)


def test_phones_are_valid_au_numbers(bench_dir: Path) -> None:
    phones = [row["phone"] for row in read_csv(bench_dir / "crm.csv") if row["phone"]]
    phones += [row["phone"] for row in read_csv(bench_dir / "billing.csv") if row["phone"]]
    invalid = [p for p in phones if not phonenumbers.is_valid_number(phonenumbers.parse(p, "AU"))]
    assert invalid == []


def test_project_file_matches_data(bench_dir: Path) -> None:
    project = Project.model_validate(yaml.safe_load((bench_dir / "accord.yaml").read_text()))
    support_columns = set().union(*(flatten(row) for row in read_support(bench_dir)))
    columns = {
        "crm": set(read_csv(bench_dir / "crm.csv")[0]),
        "billing": set(read_csv(bench_dir / "billing.csv")[0]),
        "support": support_columns,
        "analytics": set(pq.read_schema(bench_dir / "analytics.parquet").names),
    }
    assert [source.name for source in project.sources] == list(columns)
    for source in project.sources:
        used = set(source.key_columns) | {source.cursor or source.key_columns[0]}
        for mapping in source.fields.values():
            used |= set(mapping.source_columns())
        assert used <= columns[source.name], source.name


@pytest.mark.parametrize("records", [9_999, 10_000_001])
def test_records_out_of_range_rejected(tmp_path: Path, records: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        generate(records, tmp_path, SEED)
