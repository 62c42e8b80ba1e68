"""File destinations: CSV, JSON Lines and Parquet, replaced atomically."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from sync.projects import CrmProject

Make = Callable[..., CrmProject]

FILE = """\
  - name: export
    kind: KIND
    path: out/customers.KIND
    filter: subscription_status IN ('active', 'past_due')
    fields:
      email: email
      plan: plan
      subscription_status: status
"""


def read_rows(path: Path, kind: str) -> list[dict[str, Any]]:
    if kind == "csv":
        with path.open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
    if kind == "jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_file_holds_every_record(make_project: Make, kind: str) -> None:
    project = make_project(FILE.replace("KIND", kind))
    project.run()
    project.sync()
    rows = read_rows(project.folder / "out" / f"customers.{kind}", kind)
    assert len(rows) == 3
    assert list(rows[0]) == ["entity_id", "email", "plan", "status"]
    assert sorted(row["status"] for row in rows) == ["active", "active", "past_due"]


@pytest.mark.parametrize("kind", ["csv", "jsonl", "parquet"])
def test_file_reflects_change_and_removal(make_project: Make, kind: str) -> None:
    project = make_project(
        FILE.replace("KIND", kind).replace("export\n", "export\n    mode: mirror\n")
    )
    project.run()
    project.sync()
    project.set_billing_status("b2", "canceled")
    project.set_billing_status("b3", "active")
    project.run()
    report = project.sync()
    rows = read_rows(project.folder / "out" / f"customers.{kind}", kind)
    assert report.destinations[0].deletes == 1
    assert report.destinations[0].updates == 1
    assert sorted(row["email"] for row in rows) == ["ada@analytical.org", "grace@cobol.org"]


def test_unchanged_file_not_rewritten(make_project: Make) -> None:
    project = make_project(FILE.replace("KIND", "csv"))
    project.run()
    project.sync()
    path = project.folder / "out" / "customers.csv"
    before = path.stat().st_mtime_ns
    project.run()
    report = project.sync()
    assert report.sent == 0
    assert path.stat().st_mtime_ns == before


def test_no_temporary_file_left(make_project: Make) -> None:
    project = make_project(FILE.replace("KIND", "parquet"))
    project.run()
    project.sync()
    assert [p.name for p in (project.folder / "out").iterdir()] == ["customers.parquet"]


def test_empty_suppression_list_still_writes_file(make_project: Make) -> None:
    destination = (
        "  - name: mail\n    kind: csv\n    path: out/suppressed.csv\n"
        "    suppression_list: onboarding\n    fields: {email: email}\n"
    )
    project = make_project(destination)
    project.run()
    project.sync()
    text = (project.folder / "out" / "suppressed.csv").read_text(encoding="utf-8")
    assert text.splitlines() == ["entity_id,email"]
