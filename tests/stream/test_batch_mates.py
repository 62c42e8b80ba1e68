"""A change reads the same whatever other changes share its micro-batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from accord.config.loader import load_project
from accord.store.duckdb_store import Store
from accord.stream.changelog import commit_changes
from accord.stream.changes import parse_change
from accord.stream.metrics import Metrics
from accord.stream.processor import Processor
from accord.stream.rows import type_groups

PROJECT = """\
name: batch-mates
extra_fields:
  seats: {type: integer, role: attribute}
  tier: {type: string, role: attribute}
sources:
  - name: crm
    kind: jsonl
    path: crm.jsonl
    primary_key: id
    fields:
      first_name: first_name
      last_name: last_name
      email: email
      seats: {from: seats, cast: integer}
      tier: tier
"""

ANN = {"id": 1, "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@mailbox.org"}
BOB = {"id": 2, "first_name": "Bob", "last_name": "Lee", "email": "bob.lee@mailbox.org"}


def _processor(folder: Path) -> Processor:
    folder.mkdir(parents=True)
    (folder / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    (folder / "crm.jsonl").write_text("", encoding="utf-8")
    loaded = load_project(folder / "accord.yaml")
    store = Store.open(loaded.resolve(loaded.project.store.path))
    return Processor(loaded, store, Metrics(), batch_size=100)


def _outcome(folder: Path, payloads: list[dict[str, Any]]) -> tuple[str, Any, Any]:
    """Apply ``payloads`` as one micro-batch; return Ann's status and her seats and tier as JSON."""
    processor = _processor(folder)
    source = processor.loaded.project.source("crm")
    cursor = processor.store.connection.cursor()
    commit_changes(cursor, [parse_change(source, payload, "test") for payload in payloads])
    cursor.close()
    processor.process_once()
    connection = processor.store.connection
    status = connection.execute("SELECT status FROM change_log WHERE source_key = '1'").fetchall()
    stored = connection.execute(
        "SELECT data->'seats', data->'tier' FROM source_records WHERE source_key = '1'"
    ).fetchall()
    seats, tier = stored[0] if stored else (None, None)
    processor.store.close()
    return status[0][0], seats, tier


@pytest.mark.parametrize(
    ("ann", "bob"),
    [
        ({"seats": True}, {"seats": 5}),
        ({"seats": 5}, {"seats": "5"}),
        ({"seats": 5}, {"seats": 5.5}),
        ({"tier": 5}, {"tier": 5.5}),
        ({"tier": True}, {"tier": "gold"}),
        ({"tier": "gold"}, {"tier": ["gold"]}),
        ({"tier": 5}, {"tier": 2**63}),
        ({"tier": 5}, {"tier": -(2**63) - 1}),
        ({"seats": 5}, {"seats": 2**64}),
    ],
)
def test_change_reads_as_alone(tmp_path: Path, ann: dict[str, Any], bob: dict[str, Any]) -> None:
    alone = _outcome(tmp_path / "alone", [{**ANN, **ann}])
    with_mate = _outcome(tmp_path / "mate", [{**ANN, **ann}, {**BOB, **bob}])
    assert with_mate == alone


def test_type_groups_split_only_conflicts() -> None:
    payloads = [
        {"a": 1, "b": "x"},
        {"a": 2},
        {"a": "3"},
        {"a": None, "b": "y"},
        {"a": True},
        {"a": 2**63},
        {"a": 2**64},
    ]
    groups = type_groups(list(range(len(payloads))), payloads)
    assert groups == [[0, 1, 3], [2], [4], [5, 6]]


@pytest.mark.parametrize("seats", [2**63, 2**64, "18446744073709551616"])
def test_integer_cast_out_of_range_quarantined(tmp_path: Path, seats: Any) -> None:
    status, stored_seats, _ = _outcome(tmp_path / "wide", [{**ANN, "seats": seats}])
    assert status == "quarantined"
    assert stored_seats is None


def _run(folder: Path, batches: list[list[dict[str, Any]]]) -> Processor:
    processor = _processor(folder)
    source = processor.loaded.project.source("crm")
    for payloads in batches:
        cursor = processor.store.connection.cursor()
        commit_changes(cursor, [parse_change(source, payload, "test") for payload in payloads])
        cursor.close()
        processor.process_once()
    return processor


def _stored_first_name(processor: Processor) -> str | None:
    rows = processor.store.connection.execute(
        "SELECT data->>'first_name' FROM source_records "
        "WHERE source_key = '1' AND deleted_at IS NULL"
    ).fetchall()
    return rows[0][0] if rows else None


def _statuses(processor: Processor) -> list[str]:
    rows = processor.store.connection.execute(
        "SELECT status FROM change_log ORDER BY seq"
    ).fetchall()
    return [row[0] for row in rows]


RENAMED = {**ANN, "first_name": "Anna"}
INVALID = {**ANN, "first_name": "Annie", "seats": "many"}
DELETE = {"op": "delete", "record": {"id": 1}}


@pytest.mark.parametrize(
    ("later", "first_name", "statuses"),
    [
        ([RENAMED, INVALID], "Anna", ["processed", "processed", "quarantined"]),
        ([DELETE, INVALID], None, ["processed", "processed", "quarantined"]),
        ([RENAMED, DELETE], None, ["processed", "processed", "processed"]),
        ([INVALID, RENAMED], "Anna", ["processed", "quarantined", "processed"]),
        ([INVALID], "Ann", ["processed", "quarantined"]),
    ],
)
def test_invalid_latest_change_keeps_earlier_one(
    tmp_path: Path, later: list[dict[str, Any]], first_name: str | None, statuses: list[str]
) -> None:
    in_one = _run(tmp_path / "one", [[ANN], later])
    one_by_one = _run(tmp_path / "each", [[ANN], *[[change] for change in later]])
    assert _stored_first_name(in_one) == first_name
    assert _stored_first_name(one_by_one) == first_name
    assert _statuses(in_one) == statuses
