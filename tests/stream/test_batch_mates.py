"""A change reads the same whatever other changes share its micro-batch, and as a batch run does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from accord.config.loader import load_project
from accord.pipeline import run
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


def _processor(folder: Path, project: str = PROJECT) -> Processor:
    folder.mkdir(parents=True)
    (folder / "accord.yaml").write_text(project, encoding="utf-8")
    (folder / "crm.jsonl").write_text("", encoding="utf-8")
    loaded = load_project(folder / "accord.yaml")
    store = Store.open(loaded.resolve(loaded.project.store.path))
    return Processor(loaded, store, Metrics(), batch_size=100)


def _outcome(folder: Path, payloads: list[dict[str, Any]]) -> tuple[str, Any, Any]:
    """Apply ``payloads`` as one micro-batch; return Ann's status and her seats and tier as JSON."""
    processor = _run(folder, [payloads])
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
        ({"tier": [1, "a"]}, {"tier": ["x"]}),
        ({"tier": ["x"]}, {"tier": [1, "a"]}),
        ({"tier": ["x"]}, {"tier": [[1], {"a": 2}]}),
        ({"tier": "gold"}, {"tier": [1, "a"]}),
        ({"tier": []}, {"tier": [True]}),
        ({"seats": 5}, {"seats": [5]}),
        ({"seats": [5]}, {"seats": ["5"]}),
        ({"tier": {"level": "gold"}}, {"tier": "gold"}),
    ],
)
def test_change_reads_as_alone(tmp_path: Path, ann: dict[str, Any], bob: dict[str, Any]) -> None:
    alone = _outcome(tmp_path / "alone", [{**ANN, **ann}])
    with_mate = _outcome(tmp_path / "mate", [{**ANN, **ann}, {**BOB, **bob}])
    assert with_mate == alone


def test_type_groups_split_only_conflicts() -> None:
    payloads: list[dict[str, Any]] = [
        {"a": 1, "b": "x"},
        {"a": 2},
        {"a": "3"},
        {"a": None, "b": "y"},
        {"a": True},
        {"a": 2**63},
        {"a": 2**64},
        {"b": ["z"]},
        {"b": [1, "z"]},
        {"a": [{"c": 1}], "b": []},
        {"c": {"d": 1}},
        {"c.d": "1"},
    ]
    groups = type_groups(list(range(len(payloads))), payloads)
    assert groups == [[0, 1, 3, 7, 8, 10], [2, 9, 11], [4], [5, 6]]


@pytest.mark.parametrize("seats", [2**63, 2**64, "18446744073709551616"])
def test_integer_cast_out_of_range_quarantined(tmp_path: Path, seats: Any) -> None:
    status, stored_seats, _ = _outcome(tmp_path / "wide", [{**ANN, "seats": seats}])
    assert status == "quarantined"
    assert stored_seats is None


def _run(folder: Path, batches: list[list[dict[str, Any]]], project: str = PROJECT) -> Processor:
    """Apply each list of ``batches`` as one micro-batch, in order."""
    processor = _processor(folder, project)
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


def _stream_result(
    folder: Path, payloads: list[dict[str, Any]], project: str = PROJECT
) -> tuple[Any, ...]:
    """Apply ``payloads`` as one micro-batch and return Ann's status, data and quarantine."""
    processor = _run(folder, [payloads], project)
    connection = processor.store.connection
    status = connection.execute("SELECT status FROM change_log WHERE source_key = '1'").fetchall()
    result = (status[0][0], *_stored(processor.store))
    processor.store.close()
    return result


def _batch_result(
    folder: Path, records: list[dict[str, Any]], project: str = PROJECT
) -> tuple[Any, ...]:
    """Run the batch pipeline on a JSON Lines file of ``records``.

    Returns the same triple as ``_stream_result``, for Ann.
    """
    processor = _processor(folder, project)
    lines = "".join(json.dumps(record) + "\n" for record in records)
    (folder / "crm.jsonl").write_text(lines, encoding="utf-8")
    run(processor.loaded, processor.store)
    data, quarantine = _stored(processor.store)
    processor.store.close()
    return ("quarantined" if quarantine else "processed", data, quarantine)


def _stored(store: Store) -> tuple[Any, list[tuple[Any, ...]]]:
    connection = store.connection
    data = connection.execute("SELECT data FROM source_records WHERE source_key = '1'").fetchall()
    quarantine = connection.execute(
        "SELECT rule, field, value, reason FROM quarantine WHERE source_key = '1' ORDER BY field"
    ).fetchall()
    return (json.loads(data[0][0]) if data else None), quarantine


@pytest.mark.parametrize(
    "ann",
    [
        {"first_name": ["Ann", "Bo"]},
        {"first_name": []},
        {"last_name": [None]},
        {"email": []},
        {"email": ["ann.lee@mailbox.org"]},
        {"tier": [1, "a"]},
        {"tier": ["x"]},
        {"tier": [{"level": "gold"}, "é"]},
        {"tier": {"level": ["gold"]}},
        {"tier": {}},
        {"seats": [5]},
        {"seats": []},
        {"seats": 2**63},
    ],
)
def test_change_reads_as_batch_run(tmp_path: Path, ann: dict[str, Any]) -> None:
    record = {**ANN, **ann}
    batch = _batch_result(tmp_path / "batch", [record])
    alone = _stream_result(tmp_path / "alone", [record])
    with_mates = _stream_result(
        tmp_path / "mates",
        [record, {**BOB, "first_name": ["Bob"], "tier": "gold", "seats": 3}],
    )
    assert alone == batch
    assert with_mates == batch


@pytest.mark.parametrize(
    ("expression", "kind", "value"),
    [
        ("string_split(first_name, ' ')", "a list", '["Ann", "Bo"]'),
        ("{'given': first_name}", "a struct", '{"given": "Ann Bo"}'),
        ("map(['given'], [first_name])", "a map", '[["given", "Ann Bo"]]'),
    ],
)
def test_expression_list_quarantined(
    tmp_path: Path, expression: str, kind: str, value: str
) -> None:
    project = PROJECT.replace("first_name: first_name", f'first_name: {{expr: "{expression}"}}')
    record = {**ANN, "first_name": "Ann Bo"}
    batch = _batch_result(tmp_path / "batch", [record], project)
    stream = _stream_result(tmp_path / "stream", [record, BOB], project)
    status, data, quarantine = batch
    assert status == "quarantined"
    assert data is None
    assert [entry[:3] for entry in quarantine] == [("value_type", "first_name", value)]
    reason = quarantine[0][3]
    assert f"the mapping of 'first_name' gives {kind}" in reason
    assert "Change the mapping to return text or a number" in reason
    assert stream == batch


@pytest.mark.parametrize(
    ("ann", "bob"),
    [
        ({"tier": 5}, {"tier": "gold"}),
        ({"tier": "gold"}, {"tier": 5}),
        ({"tier": 5}, {"tier": 5.5}),
        ({"tier": True}, {"tier": "yes"}),
        ({"tier": 2**63}, {"tier": 5}),
        ({"tier": ["x"]}, {"tier": 5}),
        ({"seats": 5}, {"seats": "many"}),
        ({"seats": "5"}, {"seats": 5}),
        ({"seats": True}, {"seats": 5}),
    ],
)
def test_mixed_column_reads_as_serve(
    tmp_path: Path, ann: dict[str, Any], bob: dict[str, Any]
) -> None:
    record = {**ANN, **ann}
    batch_before = _batch_result(tmp_path / "before", [record, {**BOB, **bob}])
    batch_after = _batch_result(tmp_path / "after", [{**BOB, **bob}, record])
    stream = _stream_result(tmp_path / "stream", [record])
    assert _exact(batch_before) == _exact(stream)
    assert _exact(batch_after) == _exact(stream)


def _exact(result: tuple[Any, ...]) -> tuple[Any, ...]:
    """Return a result with its data as JSON text, where 5 and 5.0 differ."""
    status, data, quarantine = result
    return status, json.dumps(data, sort_keys=True), quarantine
