"""The accord command line, run as a user runs it."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from accord.cli.main import OneLineFormatter

ACCORD = shutil.which("accord") or str(Path(sys.executable).parent / "accord")

CRM = """\
id,first,last,email,phone,stage
1,Ada,Lovelace,ada@analytical.org,+1 415 555 0100,Customer
2,Alan,Turing,alan@analytical.org,(415) 555-0101,Lead
3,Grace,Hopper,,,Lead
"""
BILLING = """\
cid,name,email,status
b1,"Lovelace, Ada",ADA@analytical.org,canceled
"""
PROJECT = """\
name: cli-test
sources:
  - name: crm
    kind: csv
    path: crm.csv
    primary_key: id
    fields:
      first_name: first
      last_name: last
      email: email
      phone: phone
      lifecycle_stage:
        from: stage
        values: {Lead: lead, Customer: customer}
  - name: billing
    kind: csv
    path: billing.csv
    primary_key: cid
    fields:
      full_name: name
      email: email
      subscription_status: status
quality:
  - rule: one_of_present
    fields: [email, phone]
"""


def accord(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [ACCORD, "-p", str(folder / "accord.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            "PATH": str(Path(sys.executable).parent),
            "COLUMNS": "200",
            "HOME": str(folder),
            # Lets a checkout other than the installed one test its own code.
            "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
        },
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "crm.csv").write_text(CRM, encoding="utf-8")
    (folder / "billing.csv").write_text(BILLING, encoding="utf-8")
    (folder / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    result = accord(folder, "run")
    assert result.returncode == 0, result.stderr
    return folder


def test_run_prints_summary_table(project: Path) -> None:
    result = accord(project, "run")
    assert result.returncode == 0
    assert "quarantined" in result.stdout
    assert "total" in result.stdout


def test_validate_valid_project(project: Path) -> None:
    result = accord(project, "validate")
    assert result.returncode == 0
    assert "is valid" in result.stdout


def test_invalid_project_exits_2_with_location(tmp_path: Path) -> None:
    (tmp_path / "accord.yaml").write_text("sources:\n  - name: x\n    kind: xml\n")
    result = accord(tmp_path, "validate")
    assert result.returncode == 2
    assert "accord.yaml:3" in result.stderr
    assert "unknown source kind 'xml'" in result.stderr


def test_unknown_option_exits_2(project: Path) -> None:
    result = accord(project, "run", "--no-such-option")
    assert result.returncode == 2


def test_failed_run_exits_1(tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text("id,first\n1,Ada\n", encoding="utf-8")
    (tmp_path / "accord.yaml").write_text(
        "sources:\n  - name: crm\n    kind: csv\n    path: crm.csv\n    primary_key: id\n"
        "    fields:\n      first_name: given\n"
    )
    result = accord(tmp_path, "run")
    assert result.returncode == 1
    assert "'given'" in result.stderr


def test_show_by_email_prints_golden_record(project: Path) -> None:
    result = accord(project, "show", "ada@analytical.org")
    assert result.returncode == 0
    assert "golden record" in result.stdout
    assert "subscription_status" in result.stdout
    assert "billing:b1" in result.stdout


def test_show_unknown_exits_1(project: Path) -> None:
    result = accord(project, "show", "nobody@nowhere.test")
    assert result.returncode == 1
    assert "no customer found" in result.stderr


def test_search_finds_record(project: Path) -> None:
    result = accord(project, "search", "turing")
    assert result.returncode == 0
    assert "Alan" in result.stdout


def test_stats_lists_sources(project: Path) -> None:
    result = accord(project, "stats")
    assert result.returncode == 0
    assert "crm" in result.stdout
    assert "billing" in result.stdout


def test_quarantine_lists_and_exports(project: Path) -> None:
    listed = accord(project, "quarantine")
    assert listed.returncode == 0
    assert "one_of_present" in listed.stdout
    target = project / "quarantine.csv"
    exported = accord(project, "quarantine", "--export", str(target))
    assert exported.returncode == 0
    assert "one_of_present" in target.read_text()


@pytest.mark.parametrize("file_format", ["csv", "parquet", "jsonl"])
def test_export_formats(project: Path, file_format: str) -> None:
    target = project / f"golden.{file_format}"
    result = accord(project, "export", str(target), "--format", file_format)
    assert result.returncode == 0
    assert target.stat().st_size > 0


def test_export_jsonl_has_one_row_per_entity(project: Path) -> None:
    target = project / "golden-check.jsonl"
    accord(project, "export", str(target), "-f", "jsonl")
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    persons = [row for row in rows if row["entity_type"] == "person"]
    assert len(persons) == 2


@pytest.mark.parametrize(
    "command",
    [
        ["export"],
        ["export", "-f", "parquet"],
        ["quarantine", "--export"],
        ["conflicts", "--export"],
    ],
)
@pytest.mark.parametrize(
    ("target", "phrase"),
    [
        (".", "is a folder; give the path of a file to write inside it"),
        ("missing/deeper/out.csv", "folder {project}/missing/deeper does not exist"),
        ("b[/foo][bold]/out.csv", "folder {project}/b[/foo][bold] does not exist"),
        ("crm.csv/out.csv", "{project}/crm.csv is not a folder"),
    ],
)
def test_export_bad_path_exits_2(
    project: Path, command: list[str], target: str, phrase: str
) -> None:
    path = project / target
    result = accord(project, *command, str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert phrase.format(project=project) in result.stderr
    assert not (project / "missing").exists()


def test_export_unknown_format_exits_2(project: Path) -> None:
    result = accord(project, "export", str(project / "x.xml"), "-f", "xml")
    assert result.returncode == 2


def test_explain_shows_levels_and_probability(project: Path) -> None:
    result = accord(project, "explain", "crm:1", "billing:b1")
    assert result.returncode == 0
    assert "match probability" in result.stdout
    assert "email" in result.stdout
    assert "deterministic link by rule 'email'" in result.stdout


def test_explain_unknown_record_exits_1(project: Path) -> None:
    result = accord(project, "explain", "crm:1", "crm:999")
    assert result.returncode == 1
    assert "crm:999" in result.stderr


def test_review_accept_and_reject(project: Path) -> None:
    assert accord(project, "review").returncode == 0
    rejected = accord(project, "review", "reject", "crm:1", "billing:b1")
    assert rejected.returncode == 0
    assert accord(project, "run").returncode == 0
    shown = accord(project, "explain", "crm:1", "billing:b1")
    assert "manual decision: cannot_link" in shown.stdout
    assert "different entities" in shown.stdout
    accepted = accord(project, "review", "accept", "crm:1", "billing:b1")
    assert accepted.returncode == 0
    assert accord(project, "run").returncode == 0
    shown = accord(project, "explain", "crm:1", "billing:b1")
    assert "the same entity" in shown.stdout


def test_review_unknown_record_exits_2(project: Path) -> None:
    result = accord(project, "review", "accept", "crm:1", "crm:nope")
    assert result.returncode == 2


def test_train_prints_weights(project: Path) -> None:
    result = accord(project, "train")
    assert result.returncode == 0
    assert "match weight" in result.stdout


def test_init_writes_valid_project(tmp_path: Path) -> None:
    folder = tmp_path / "new"
    result = subprocess.run(
        [ACCORD, "init", str(folder)], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0
    assert accord(folder, "validate").returncode == 0
    assert accord(folder, "run").returncode == 0
    again = subprocess.run(
        [ACCORD, "init", str(folder)], capture_output=True, text=True, check=False, timeout=60
    )
    assert again.returncode == 2


def test_quiet_hides_progress(project: Path) -> None:
    result = subprocess.run(
        [ACCORD, "-q", "-p", str(project / "accord.yaml"), "run"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0
    assert "extract crm" not in result.stderr


def test_installed_command_maps_errors_to_exit_codes() -> None:
    # run_cli prints an AccordError as one line; the bare Typer app would show a traceback.
    scripts = importlib.metadata.entry_points(group="console_scripts")
    assert scripts["accord"].value == "accord.cli.main:run_cli"


def test_serve_on_busy_port_names_the_port(project: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = accord(project, "serve", "--host", "127.0.0.1", "--port", str(port))

    assert result.returncode == 1
    assert "cannot start the worker" in result.stderr
    assert "Address already in use" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("key a\n2030-01-01 INFO forged", "key a\\n2030-01-01 INFO forged"),
        ("carriage\rreturn", "carriage\\rreturn"),
        ("tab\there", "tab\\there"),
        ("colour \x1b[31mred", "colour \\x1b[31mred"),
        ("c1 \x9b31m", "c1 \\x9b31m"),
        ("plain ünïcödé", "plain ünïcödé"),
    ],
)
def test_service_log_line_escapes_controls(message: str, expected: str) -> None:
    formatter = OneLineFormatter("%(message)s")
    record = logging.LogRecord("accord.test", logging.INFO, __file__, 1, "%s", (message,), None)
    assert formatter.format(record) == expected


def test_service_log_line_keeps_traceback_on_one_line() -> None:
    formatter = OneLineFormatter("%(levelname)s %(message)s")
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.LogRecord(
            "accord.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = formatter.format(record)
    assert "\n" not in line
    assert line.startswith("ERROR failed\\nTraceback (most recent call last):")
    assert line.endswith("ValueError: bad\\nvalue")


def test_values_with_brackets_print_verbatim(tmp_path: Path) -> None:
    crm = CRM.replace("2,Alan,Turing,", "2,[/x]Alan,[bold]Turing[/bold],").replace(
        "3,Grace,Hopper,,,Lead", "3,[red]Grace,Hopper,,,[/y]"
    )
    (tmp_path / "crm.csv").write_text(crm, encoding="utf-8")
    (tmp_path / "billing.csv").write_text(BILLING, encoding="utf-8")
    (tmp_path / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    assert accord(tmp_path, "run").returncode == 0

    for command in (["show", "alan@analytical.org"], ["search", "alan"], ["quarantine"]):
        result = accord(tmp_path, *command)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr
    assert "[bold]Turing[/bold]" in accord(tmp_path, "search", "alan").stdout
