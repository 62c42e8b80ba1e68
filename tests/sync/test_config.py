"""Project-file checks of destinations and triggers."""

from __future__ import annotations

from pathlib import Path

import pytest

from accord.config.loader import load_project
from accord.errors import ConfigError

BASE = """\
sources:
  - name: crm
    kind: csv
    path: people.csv
    primary_key: id
    fields:
      email: email
"""

SQL = """\
destinations:
  - name: crm
    kind: sql
    url: sqlite:///crm.sqlite
    table: contacts
    key: {source: crm, column: id}
    fields: {email: email}
"""
SUPPRESSION = """\
destinations:
  - name: mail
    kind: csv
    path: out/suppressed.csv
    suppression_list: onboarding
    fields: {nickname: nick}
"""


def problems(folder: Path, text: str) -> list[str]:
    (folder / "people.csv").write_text("id,email\n1,a@b.org\n", encoding="utf-8")
    path = folder / "accord.yaml"
    path.write_text(BASE + text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_project(path)
    return [str(problem) for problem in caught.value.problems]


def test_valid_destinations_and_triggers_load(tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("id,email\n1,a@b.org\n", encoding="utf-8")
    trigger = (
        "triggers:\n  - name: t\n    when: {field: email}\n"
        "    actions: [{type: sync, destinations: [crm]}]\n"
    )
    (tmp_path / "accord.yaml").write_text(BASE + SQL + trigger, encoding="utf-8")
    loaded = load_project(tmp_path / "accord.yaml")
    assert loaded.project.destinations[0].key.source == "crm"
    assert loaded.project.triggers[0].actions[0].type == "sync"


@pytest.mark.parametrize(
    ("text", "key_path", "phrase"),
    [
        (
            SQL.replace("{email: email}", "{emial: email}"),
            "destinations[0].fields.emial",
            "did you mean 'email'",
        ),
        (
            SQL.replace("source: crm", "source: crn"),
            "destinations[0].key.source",
            "unknown source 'crn'",
        ),
        (
            SQL.replace("{email: email}", "{email: id}"),
            "destinations[0].fields.email",
            "is the key column",
        ),
        (
            SQL.replace("{email: email}", "{email: e, phone: e}"),
            "destinations[0].fields.phone",
            "also written from 'email'",
        ),
        (
            SQL.replace("mode", "x").replace("table: contacts", "table: contacts\n    mode: sync"),
            "destinations[0].mode",
            "'update', 'upsert', 'insert' or 'mirror'",
        ),
        (SQL.replace("name: crm", "name: CRM"), "destinations[0].name", "not a valid destination"),
        (
            SQL + SQL.replace("destinations:\n", ""),
            "destinations[1].name",
            "duplicate destination name",
        ),
        (
            SQL.replace(
                "key: {source: crm, column: id}", "suppression_list: x\n    key: {source: crm}"
            ),
            "destinations[0]",
            "keyed by entity ID",
        ),
        (SUPPRESSION, "destinations[0].fields.nickname", "unknown suppression list field"),
    ],
)
def test_destination_problem_reported(
    tmp_path: Path, text: str, key_path: str, phrase: str
) -> None:
    found = problems(tmp_path, text)
    assert any(key_path in problem and phrase in problem for problem in found), found


REST = """\
destinations:
  - name: api
    kind: rest_api
    base_url: http://127.0.0.1:1/
    path: contacts
    fields: {email: email}
"""


def test_rest_path_needs_key(tmp_path: Path) -> None:
    found = problems(tmp_path, REST)
    assert any("must contain '{key}'" in problem for problem in found), found


@pytest.mark.parametrize(
    ("when", "actions", "phrase"),
    [
        ("{event: changed}", "[{type: suppress, list: x}]", "needs 'field'"),
        ("{event: created, field: email}", "[{type: suppress, list: x}]", "takes no 'field'"),
        ("{field: emial}", "[{type: suppress, list: x}]", "did you mean 'email'"),
        ("{field: email}", "[{type: sync, destinations: [nowhere]}]", "unknown destination"),
        ("{field: email}", "[]", "at least 1 item"),
        ("{field: email}", "[{type: fax}]", "fax"),
    ],
)
def test_trigger_problem_reported(tmp_path: Path, when: str, actions: str, phrase: str) -> None:
    text = f"triggers:\n  - name: t\n    when: {when}\n    actions: {actions}\n"
    found = problems(tmp_path, text)
    assert any(phrase in problem for problem in found), found
