"""Tests for the demo data builder in examples/build_demo.py."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sqlite3
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import ModuleType

import phonenumbers
import pyarrow.parquet as pq
import pytest
import yaml

from accord.config.models import FieldMapping, Project

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
DATA_FILES = ("crm.sqlite", "billing.csv", "support.jsonl", "analytics.parquet", "truth.csv")
MAX_BUILD_SECONDS = 10.0


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_demo", EXAMPLES / "build_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_demo"] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder with one build of the demo data."""
    out = tmp_path_factory.mktemp("demo")
    builder.build(out)
    return out


def crm_rows(folder: Path) -> list[dict[str, str | None]]:
    connection = sqlite3.connect(folder / "crm.sqlite")
    connection.row_factory = sqlite3.Row
    try:
        return [dict(row) for row in connection.execute("SELECT * FROM contacts")]
    finally:
        connection.close()


def billing_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "billing.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def support_rows(folder: Path) -> list[dict[str, object]]:
    with (folder / "support.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def flatten(row: dict[str, object], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in row.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def source_keys(folder: Path) -> dict[str, list[str]]:
    return {
        "crm": [str(row["contact_id"]) for row in crm_rows(folder)],
        "billing": [row["customer_id"] for row in billing_rows(folder)],
        "support": [str(flatten(row)["requester.id"]) for row in support_rows(folder)],
        "analytics": pq.read_table(folder / "analytics.parquet")["user_id"].to_pylist(),
    }


def truth_rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "truth.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def entity_of(folder: Path) -> dict[tuple[str, str], str]:
    return {(row["source"], row["source_key"]): row["entity"] for row in truth_rows(folder)}


def test_build_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    started = time.perf_counter()
    builder.build(first)
    elapsed = time.perf_counter() - started
    builder.build(second)
    for name in DATA_FILES:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert elapsed < MAX_BUILD_SECONDS


def test_committed_truth_matches_build(demo_dir: Path) -> None:
    committed = (EXAMPLES / "demo" / "truth.csv").read_bytes()
    assert committed == (demo_dir / "truth.csv").read_bytes()


def test_truth_covers_every_record_once(demo_dir: Path) -> None:
    truth = truth_rows(demo_dir)
    pairs = Counter((row["source"], row["source_key"]) for row in truth)
    assert max(pairs.values()) == 1
    for source, keys in source_keys(demo_dir).items():
        assert len(keys) == len(set(keys)), f"duplicate keys in {source}"
        in_truth = {key for name, key in pairs if name == source}
        assert set(keys) == in_truth, source


def test_record_and_customer_counts(demo_dir: Path) -> None:
    keys = source_keys(demo_dir)
    total = sum(len(values) for values in keys.values())
    entities = {row["entity"] for row in truth_rows(demo_dir)}
    assert 3000 <= total <= 5000
    assert 1000 <= len(entities) <= 2000


def test_customers_span_several_sources(demo_dir: Path) -> None:
    sources_of: dict[str, set[str]] = defaultdict(set)
    for row in truth_rows(demo_dir):
        sources_of[row["entity"]].add(row["source"])
    single = [entity for entity, names in sources_of.items() if len(names) < 2]
    # Only the records that carry no identity at all stand alone.
    assert len(single) == 4
    assert max(len(names) for names in sources_of.values()) == 4


def test_canceled_billing_closed_won_in_crm(demo_dir: Path) -> None:
    entities = entity_of(demo_dir)
    canceled = {
        entities["billing", row["customer_id"]]
        for row in billing_rows(demo_dir)
        if row["status"] == "canceled"
    }
    closed_won = {
        entities["crm", str(row["contact_id"])]
        for row in crm_rows(demo_dir)
        if row["lead_status"] == "Closed Won"
    }
    assert len(canceled & closed_won) >= 30


def test_households_share_surname_street_phone(demo_dir: Path) -> None:
    entities = entity_of(demo_dir)
    groups: dict[tuple[str, str, str], list[dict[str, str | None]]] = defaultdict(list)
    for row in crm_rows(demo_dir):
        if row["last_name"] and row["street"] and row["phone"]:
            key = (row["last_name"].lower(), row["street"].lower(), row["phone"])
            groups[key].append(row)
    households = 0
    for rows in groups.values():
        members = {entities["crm", str(row["contact_id"])] for row in rows}
        if len(members) < 2:
            continue
        households += 1
        assert len({str(row["first_name"]).lower() for row in rows}) == len(rows)
        emails = [row["email"] for row in rows if row["email"]]
        assert len(set(emails)) == len(emails)
    assert households >= 20


def test_billing_csv_starts_with_bom(demo_dir: Path) -> None:
    raw = (demo_dir / "billing.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfcustomer_id,")


def test_billing_names_and_dates_vary(demo_dir: Path) -> None:
    rows = billing_rows(demo_dir)
    assert any(", " in row["name"] for row in rows)
    assert any(row["name"] and ", " not in row["name"] for row in rows)
    assert all(re.fullmatch(r"\d{2}/\d{2}/\d{4}", row["created"]) for row in rows)
    assert any(int(row["created"][:2]) > 12 for row in rows)
    assert any("+" in row["email"].split("@")[0] for row in rows)
    assert any(row["email"].isupper() for row in rows)


def test_phones_are_valid_au_numbers(demo_dir: Path) -> None:
    phones = [str(row["phone"]) for row in crm_rows(demo_dir) if row["phone"]]
    phones += [row["phone"] for row in billing_rows(demo_dir) if row["phone"]]
    phones += [
        str(flatten(row)["requester.phone"])
        for row in support_rows(demo_dir)
        if flatten(row)["requester.phone"]
    ]
    invalid = [p for p in phones if not phonenumbers.is_valid_number(phonenumbers.parse(p, "AU"))]
    assert invalid == []
    assert any(p.startswith("(0") for p in phones)
    assert any(p.startswith("+61 ") for p in phones)


def test_invalid_records_exist(demo_dir: Path) -> None:
    crm = crm_rows(demo_dir)
    empty = [r for r in crm if not (r["first_name"] or r["last_name"] or r["email"] or r["phone"])]
    assert len(empty) == 3
    emails = [str(r["email"]) for r in crm if r["email"]]
    emails += [r["email"] for r in billing_rows(demo_dir)]
    assert "not-an-email" in emails
    analytics_emails = pq.read_table(demo_dir / "analytics.parquet")["email"].to_pylist()
    assert "test" in analytics_emails


def test_project_file_matches_data(demo_dir: Path) -> None:
    data = yaml.safe_load((EXAMPLES / "demo" / "accord.yaml").read_text(encoding="utf-8"))
    project = Project.model_validate(data)
    columns = {
        "crm": set(crm_rows(demo_dir)[0]),
        "billing": set(billing_rows(demo_dir)[0]),
        "support": set().union(*(flatten(row) for row in support_rows(demo_dir))),
        "analytics": set(pq.read_schema(demo_dir / "analytics.parquet").names),
    }
    assert [source.name for source in project.sources] == list(columns)
    assert project.standardize.default_region == "AU"
    for source in project.sources:
        used = set(source.key_columns) | {source.cursor or source.key_columns[0]}
        for mapping in source.fields.values():
            used |= set(FieldMapping.source_columns(mapping))
        assert used <= columns[source.name], source.name


def test_value_maps_cover_source_values(demo_dir: Path) -> None:
    project = Project.model_validate(
        yaml.safe_load((EXAMPLES / "demo" / "accord.yaml").read_text(encoding="utf-8"))
    )
    lead_map = project.source("crm").fields["lifecycle_stage"].values or {}
    status_map = project.source("billing").fields["subscription_status"].values or {}
    plan_map = project.source("analytics").fields["plan"].values or {}
    assert {row["lead_status"] for row in crm_rows(demo_dir)} <= set(lead_map)
    assert {row["status"] for row in billing_rows(demo_dir)} <= set(status_map)
    plans = pq.read_table(demo_dir / "analytics.parquet")["plan"].to_pylist()
    assert set(plans) <= set(plan_map)
