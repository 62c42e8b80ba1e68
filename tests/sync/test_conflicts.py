"""Conflicts between tool values and authoritative golden values, and the CLI commands."""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from accord.cli.main import app
from accord.sync.conflicts import find_conflicts, group_conflicts
from sync.projects import CrmProject

Make = Callable[..., CrmProject]


def drifted(make_project: Make) -> CrmProject:
    """Sync, then let the CRM change two statuses away from billing's."""
    project = make_project()
    project.run()
    project.sync()
    project.set_crm(1, "subscription_status", "trialing")
    project.set_crm(3, "subscription_status", "canceled")
    project.run()
    return project


@contextmanager
def inside(folder: Path) -> Iterator[None]:
    previous = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def test_conflicts_found_per_record(make_project: Make) -> None:
    project = drifted(make_project)
    with project.open_store() as store:
        found = find_conflicts(store.connection, project.loaded.project)
    assert [(c.field, c.tool, c.source_key, c.tool_value, c.golden_value) for c in found] == [
        ("subscription_status", "crm", "1", "trialing", "active"),
        ("subscription_status", "crm", "3", "canceled", "past_due"),
    ]


def test_conflicts_name_authority(make_project: Make) -> None:
    project = drifted(make_project)
    with project.open_store() as store:
        found = find_conflicts(store.connection, project.loaded.project)
    assert {(c.golden_source, c.rule) for c in found} == {("billing", "source_priority")}


def test_conflicts_grouped_with_examples(make_project: Make) -> None:
    project = drifted(make_project)
    with project.open_store() as store:
        groups = group_conflicts(find_conflicts(store.connection, project.loaded.project), 1)
    assert [(g.field, g.tool, g.count, len(g.examples)) for g in groups] == [
        ("subscription_status", "crm", 2, 1)
    ]


def test_no_conflict_after_sync_and_run(make_project: Make) -> None:
    project = drifted(make_project)
    report = project.sync()
    project.run()
    with project.open_store() as store:
        found = find_conflicts(store.connection, project.loaded.project)
    assert report.destinations[0].fixed == {"subscription_status": 2}
    assert found == []


def test_fixed_conflict_gone_before_next_read(make_project: Make) -> None:
    project = drifted(make_project)
    project.sync()
    with project.open_store() as store:
        found = find_conflicts(store.connection, project.loaded.project)
    assert found == []


def test_conflict_back_after_tool_changes_again(make_project: Make) -> None:
    project = drifted(make_project)
    project.sync()
    project.set_crm(1, "subscription_status", "paused")
    project.run()
    with project.open_store() as store:
        found = find_conflicts(store.connection, project.loaded.project)
    assert [(c.source_key, c.tool_value) for c in found] == [("1", "paused")]


def test_agreeing_values_are_no_conflict(make_project: Make) -> None:
    project = make_project()
    project.run()
    project.sync()
    project.run()
    with project.open_store() as store:
        assert find_conflicts(store.connection, project.loaded.project) == []


def test_cli_conflicts_export(make_project: Make) -> None:
    project = drifted(make_project)
    target = project.folder / "conflicts.csv"
    with inside(project.folder):
        result = CliRunner().invoke(app, ["conflicts", "--export", str(target)])
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert result.exit_code == 0
    assert len(rows) == 2
    assert rows[0]["golden_source"] == "billing"


def test_cli_conflicts_table(make_project: Make) -> None:
    project = drifted(make_project)
    with inside(project.folder):
        result = CliRunner().invoke(app, ["conflicts"])
    assert result.exit_code == 0
    assert "subscription_status" in result.output


def test_cli_sync_dry_run_then_sync(make_project: Make) -> None:
    project = make_project()
    project.run()
    with inside(project.folder):
        planned = CliRunner().invoke(app, ["sync", "--dry-run"])
        synced = CliRunner().invoke(app, ["sync", "crm"])
    assert planned.exit_code == 0
    assert "subscription_status=active" in planned.output
    assert synced.exit_code == 0
    assert project.crm_row(1)["subscription_status"] == "active"


def test_cli_sync_unknown_destination(make_project: Make) -> None:
    project = make_project()
    with inside(project.folder):
        result = CliRunner().invoke(app, ["sync", "nowhere"])
    assert result.exit_code == 2
