"""Bad and hostile input never crashes a run or loses stored data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accord.config.loader import load_project
from accord.pipeline import run
from accord.store.duckdb_store import Store

PROJECT = """\
name: hostile
sources:
  - name: desk
    kind: jsonl
    path: desk.jsonl
    primary_key: id
    fields:
      email: requester.email
      phone: requester.phone
      full_name: requester.name
"""


def run_desk(folder: Path, lines: list[str]) -> tuple[int, int, list[tuple[object, ...]]]:
    (folder / "desk.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    loaded = load_project(folder / "accord.yaml")
    with Store.open(folder / "accord.duckdb") as store:
        summary = run(loaded, store)
        quarantined = store.connection.execute(
            "SELECT location, reason FROM quarantine ORDER BY location"
        ).fetchall()
    item = summary.sources[0]
    return item.stored, item.quarantined, quarantined


def test_field_absent_from_every_json_record_reads_as_null(tmp_path: Path) -> None:
    lines = [
        json.dumps({"id": i, "requester": {"email": f"p{i}@desk-mail.org", "name": "Pat Lee"}})
        for i in range(3)
    ]
    stored, quarantined, _ = run_desk(tmp_path, lines)
    assert stored == 3
    assert quarantined == 0


def test_deeply_nested_json_line_is_quarantined(tmp_path: Path) -> None:
    deep = '{"id": 9, "x": ' + "[" * 5000 + "]" * 5000 + "}"
    good = json.dumps({"id": 1, "requester": {"email": "a@desk-mail.org", "name": "Ana Ruiz"}})
    stored, quarantined, rows = run_desk(tmp_path, [good, deep])
    assert stored == 1
    assert quarantined == 1
    assert rows[0][0] == "line 2"
    assert "nested too deeply" in str(rows[0][1])


def test_starter_sample_keeps_its_emails(tmp_path: Path) -> None:
    from accord.config.starter import STARTER_DATA, STARTER_PROJECT

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "customers.csv").write_text(STARTER_DATA, encoding="utf-8")
    (tmp_path / "accord.yaml").write_text(STARTER_PROJECT, encoding="utf-8")
    loaded = load_project(tmp_path / "accord.yaml")
    with Store.open(loaded.resolve("accord.duckdb")) as store:
        summary = run(loaded, store)
        emails = store.connection.execute(
            "SELECT data->>'email' FROM source_records ORDER BY source_key"
        ).fetchall()
    assert summary.sources[0].warnings == {}
    assert all(email is not None for (email,) in emails)


@pytest.mark.parametrize(("kind", "text"), [("jsonl", ""), ("jsonl", "\n\n"), ("json", "[]")])
def test_source_without_records_runs(tmp_path: Path, kind: str, text: str) -> None:
    project = PROJECT.replace("kind: jsonl", f"kind: {kind}").replace("desk.jsonl", f"desk.{kind}")
    (tmp_path / f"desk.{kind}").write_text(text, encoding="utf-8")
    (tmp_path / "accord.yaml").write_text(project, encoding="utf-8")
    loaded = load_project(tmp_path / "accord.yaml")
    with Store.open(tmp_path / "accord.duckdb") as store:
        summary = run(loaded, store)
    assert summary.sources[0].stored == 0
    assert summary.sources[0].quarantined == 0
