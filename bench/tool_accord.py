"""Run Accord on a prepared dataset: write a project file, run the pipeline, read entities.

Each public dataset gets an ``accord.yaml`` that maps its columns to Accord's
canonical fields the way a user would write it. Generated data uses the
project file that ``bench.generate`` writes. The algorithm runs with its
defaults: nothing here tunes matching.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml

from accord.config.loader import load_project
from accord.pipeline import run
from accord.store.duckdb_store import Store
from bench.datasets import DATASETS, GENERATED, source_path
from bench.timing import ToolRun

BIRTH_DATE = {"cast": "date", "on_cast_error": "null"}

FEBRL_FIELDS: dict[str, Any] = {
    "first_name": "given_name",
    "last_name": "surname",
    "street": {"concat": ["street_number", "address_1"], "separator": " "},
    "unit": "address_2",
    "city": "suburb",
    "postal_code": "postcode",
    "region": "state",
    "country": {"constant": "AU"},
    "birth_date": {"from": "date_of_birth", **BIRTH_DATE},
    "soc_sec_id": "soc_sec_id",
}
# A field named <system>_id with role external_id stitches records that share it.
FEBRL_EXTRA = {"soc_sec_id": {"type": "string", "role": "external_id"}}

# RLdata keeps year, month and day in separate columns. RLdata10000 has
# impossible dates such as month 0, which the birth-date standardizer
# rejects and keeps only as a matching key.
RLDATA_BIRTH = """"by" || '-' || "bm" || '-' || "bd" """

# The public sets list single people without households, and their duplicates
# often carry a replaced given name (FEBRL and RLdata substitute names on
# purpose), so the given-name guard that keeps household members apart is
# switched off for them, as a user of such data would.
NO_HOUSEHOLDS: dict[str, list[str]] = {"distinguishing": []}

# Per public dataset: phone region, extra fields and the field mapping of every source.
PROJECTS: dict[str, dict[str, Any]] = {
    "febrl3": {"region": "AU", "extra": FEBRL_EXTRA, "fields": FEBRL_FIELDS},
    "febrl4": {"region": "AU", "extra": FEBRL_EXTRA, "fields": FEBRL_FIELDS},
    "fake_1000": {
        "region": "GB",
        "fields": {
            "first_name": "first_name",
            "last_name": "surname",
            "birth_date": {"from": "dob", **BIRTH_DATE},
            "city": "city",
            "email": "email",
        },
    },
    "historical_50k": {
        "region": "GB",
        # The birth-date standardizer rejects years before 1900 by default, which
        # would drop every birth date of these historical figures.
        "standardize": {"birth_date": {"standardizer": "date", "kind": "event"}},
        "fields": {
            "first_name": "first_name",
            "last_name": "surname",
            "birth_date": {"from": "dob", **BIRTH_DATE},
            "postal_code": "postcode_fake",
            "city": "birth_place",
        },
    },
    "rldata500": {
        "region": "DE",
        "fields": {
            "first_name": "fname_c1",
            "last_name": "lname_c1",
            "birth_date": {"expr": RLDATA_BIRTH},
        },
    },
}
PROJECTS["rldata10000"] = PROJECTS["rldata500"]


def public_project(dataset: str, folder: Path, store: Path) -> dict[str, Any]:
    """Return the project file contents for a prepared public dataset."""
    spec = PROJECTS[dataset]
    sources = [
        {
            "name": source.name,
            "kind": "parquet",
            "path": str(source_path(folder, source.name)),
            "primary_key": source.key,
            "fields": spec["fields"],
        }
        for source in DATASETS[dataset].sources
    ]
    return {
        "version": 1,
        "name": f"bench-{dataset}",
        "store": {"kind": "duckdb", "path": str(store)},
        "extra_fields": spec.get("extra", {}),
        "standardize": {"default_region": spec["region"], "fields": spec.get("standardize", {})},
        "matching": NO_HOUSEHOLDS,
        "sources": sources,
    }


def generated_project(folder: Path, store: Path) -> dict[str, Any]:
    """Return the generator's project file with absolute paths and the store in ``store``."""
    project: dict[str, Any] = yaml.safe_load((folder / "accord.yaml").read_text("utf-8"))
    for source in project["sources"]:
        source["path"] = str(folder / source["path"])
    project["store"] = {"kind": "duckdb", "path": str(store)}
    return project


class PhaseProgress:
    """Pipeline progress hook that sums wall time per stage (extract, process, store, ...)."""

    def __init__(self, result: ToolRun) -> None:
        self.result = result
        self.started: dict[str, float] = {}

    def begin(self, task: str, total: int | None) -> None:
        self.started[task] = time.perf_counter()

    def advance(self, task: str, amount: int) -> None:
        return None

    def end(self, task: str) -> None:
        elapsed = time.perf_counter() - self.started.pop(task)
        stage = task.split()[0]
        self.result.phases[stage] = self.result.phases.get(stage, 0.0) + elapsed


def read_entities(store: Store) -> dict[str, str]:
    """Return the person entity of every resolved record."""
    rows = store.connection.execute(
        """SELECT m.record_id, m.entity_id FROM entity_members m
           JOIN entities e USING (entity_id) WHERE e.entity_type = 'person'"""
    ).fetchall()
    return {record_id: entity_id for record_id, entity_id in rows}


def run_accord(
    dataset: str, folder: Path, workdir: Path, matching: dict[str, Any] | None = None
) -> ToolRun:
    """Run the Accord pipeline once on a prepared dataset and return its clusters.

    ``matching`` overrides settings of the project's ``matching`` section.
    """
    store_path = workdir / "accord.duckdb"
    if dataset == GENERATED:
        project = generated_project(folder, store_path)
    else:
        project = public_project(dataset, folder, store_path)
    if matching:
        project["matching"] = {**(project.get("matching") or {}), **matching}
    project_file = workdir / "accord.yaml"
    project_file.write_text(yaml.safe_dump(project, sort_keys=False), "utf-8")

    result = ToolRun()
    start = time.perf_counter()
    loaded = load_project(project_file)
    with Store.open(store_path) as store:
        summary = run(loaded, store, progress=PhaseProgress(result))
    # Closing the store writes the committed run from DuckDB's log into the store file.
    total = time.perf_counter() - start
    # Opening, validating, committing and closing the store.
    result.phases["other"] = max(0.0, total - sum(result.phases.values()))
    with Store.open(store_path, read_only=True) as store:
        result.predicted.update(read_entities(store))
    quarantined = sum(source.quarantined for source in summary.sources)
    if quarantined:
        result.notes.append(f"{quarantined} records quarantined")
    for source in summary.sources:
        for warning, count in source.warnings.items():
            result.notes.append(f"{source.source}: {count} invalid {warning} values set to null")
    return result
