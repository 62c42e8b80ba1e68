"""Upserts into PostgreSQL, MariaDB and SQLite tables through the same destination."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from accord.config.models import SqlDestination
from accord.sync.writers.base import Change
from accord.sync.writers.sql import SqlWriter
from sync.projects import BILLING, CrmProject, audience_rows, create_audience

Make = Callable[..., CrmProject]

AUDIENCE = """\
  - name: audience
    kind: sql
    url: URL
    table: audience
    mode: upsert
    fields:
      email: email
      plan: plan
"""


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database of each dialect."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audience.sqlite'}"
    fixture = "postgres_url" if request.param == "postgres" else "mariadb_url"
    return str(request.getfixturevalue(fixture))


def test_upsert_then_update(make_project: Make, database_url: str) -> None:
    create_audience(database_url)
    project = make_project(AUDIENCE.replace("URL", database_url))
    project.run()
    first = project.sync()
    project.write_billing([(*BILLING[0][:4], "growth"), *BILLING[1:]])
    project.run()
    second = project.sync()
    rows = audience_rows(database_url)
    assert first.destinations[0].inserts == 3
    assert second.destinations[0].updates == 1
    assert sorted(row["plan"] for row in rows) == ["growth", "pro", "starter"]


def test_insert_sent_twice_keeps_one_row(database_url: str, tmp_path: Path) -> None:
    create_audience(database_url)
    destination = SqlDestination.model_validate(
        {
            "name": "audience",
            "kind": "sql",
            "url": database_url,
            "table": "audience",
            "fields": {"email": "email", "plan": "plan"},
        }
    )
    change = Change(1, "per_1", "per_1", "insert", {"email": "a@b.org", "plan": "pro"}, [], "k1")
    writer = SqlWriter(destination, tmp_path)
    try:
        first = writer.write([change])
        second = writer.write([change])
    finally:
        writer.close()
    assert first[0].status == "sent"
    assert second[0].status == "sent"
    assert audience_rows(database_url) == [
        {"entity_id": "per_1", "email": "a@b.org", "plan": "pro"}
    ]


def test_bad_row_rejected_alone(database_url: str, tmp_path: Path) -> None:
    create_audience(database_url)
    destination = SqlDestination.model_validate(
        {
            "name": "audience",
            "kind": "sql",
            "url": database_url,
            "table": "audience",
            "fields": {"email": "email", "plan": "plan"},
        }
    )
    good = Change(1, "per_1", "per_1", "insert", {"email": "a@b.org", "plan": "pro"}, [], "k1")
    bad = Change(2, "per_2", "per_2", "insert", {"email": "c@d.org", "plan": "reject-me"}, [], "k2")
    writer = SqlWriter(destination, tmp_path)
    try:
        outcomes = writer.write([good, bad])
    finally:
        writer.close()
    assert [outcome.status for outcome in outcomes] == ["sent", "rejected"]
    assert [row["entity_id"] for row in audience_rows(database_url)] == ["per_1"]
