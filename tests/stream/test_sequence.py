"""A micro-batch ends as its changes would, applied one at a time in sequence order."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from accord.config.loader import load_project
from accord.store.duckdb_store import Store
from accord.stream.changelog import commit_changes
from accord.stream.changes import parse_change
from accord.stream.metrics import Metrics
from accord.stream.processor import Processor

PROJECT = """\
name: sequence
extra_fields:
  seats: {type: integer, role: attribute}
sources:
  - name: crm
    kind: jsonl
    path: crm.jsonl
    primary_key: id
    cursor: updated_at
    deleted_flag: is_deleted
    fields:
      first_name: first_name
      last_name: last_name
      email: email
      seats: {from: seats, cast: integer}
"""

ANN = {"id": 1, "first_name": "Ann", "last_name": "Lee", "email": "ann@mailbox.org"}
BOB = {"id": 2, "first_name": "Bob", "last_name": "Lee", "email": "bob@mailbox.org"}


def _ann(cursor: int | None, first_name: str = "Ann", **extra: Any) -> dict[str, Any]:
    return {**ANN, "first_name": first_name, "updated_at": cursor, **extra}


def _invalid(cursor: int | None) -> dict[str, Any]:
    return _ann(cursor, "Annie", seats="many")


def _flagged(cursor: int | None, first_name: str = "Ann") -> dict[str, Any]:
    return _ann(cursor, first_name, is_deleted=True)


def _delete(cursor: int | None = None, key: int = 1) -> dict[str, Any]:
    record: dict[str, Any] = {"id": key}
    if cursor is not None:
        record["updated_at"] = cursor
    return {"op": "delete", "record": record}


def _run(folder: Path, batches: list[list[dict[str, Any]]]) -> Processor:
    folder.mkdir(parents=True)
    (folder / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    (folder / "crm.jsonl").write_text("", encoding="utf-8")
    loaded = load_project(folder / "accord.yaml")
    store = Store.open(loaded.resolve(loaded.project.store.path))
    processor = Processor(loaded, store, Metrics(), batch_size=100)
    source = loaded.project.source("crm")
    for payloads in batches:
        cursor = store.connection.cursor()
        commit_changes(cursor, [parse_change(source, payload, "test") for payload in payloads])
        cursor.close()
        processor.process_once()
    return processor


def _end_state(processor: Processor) -> dict[str, Any]:
    connection = processor.store.connection
    statuses = connection.execute("SELECT status FROM change_log ORDER BY seq").fetchall()
    records = connection.execute(
        "SELECT source_key, data->>'first_name', deleted_at IS NOT NULL FROM source_records "
        "ORDER BY source_key"
    ).fetchall()
    quarantine = connection.execute(
        "SELECT source_key, field, raw->>'updated_at' FROM quarantine ORDER BY source_key"
    ).fetchall()
    # Entities and golden values by their members, since entity IDs may be numbered differently.
    golden = connection.execute(
        """
        WITH members AS (
            SELECT entity_id, list(record_id ORDER BY record_id) AS records
            FROM entity_members JOIN entities USING (entity_id)
            WHERE status = 'active' GROUP BY entity_id)
        SELECT m.records, g.field, g.value FROM members m
        LEFT JOIN golden_values g USING (entity_id) ORDER BY 1, 2
        """
    ).fetchall()
    processor.store.close()
    return {
        "statuses": [row[0] for row in statuses],
        "records": records,
        "quarantine": quarantine,
        "golden": golden,
    }


SEQUENCES: list[tuple[str, list[dict[str, Any]]]] = [
    ("invalid then valid", [_invalid(9), _ann(8, "Anna")]),
    ("valid then invalid", [_ann(8, "Anna"), _invalid(9)]),
    ("invalid then delete", [_invalid(9), _delete()]),
    ("two invalid then delete", [_invalid(8), _invalid(9), _delete()]),
    ("invalid, valid, delete", [_invalid(8), _ann(9, "Anna"), _delete()]),
    ("delete then invalid", [_delete(7), _invalid(9)]),
    ("delete then older update", [_delete(9), _ann(8, "Anna")]),
    ("delete then newer update", [_delete(7), _ann(8, "Anna")]),
    ("delete without cursor then older", [_delete(), _ann(4, "Anna")]),
    ("update, delete, older update", [_ann(8, "Anna"), _delete(), _ann(7, "Ada")]),
    ("update without cursor then older", [_ann(None, "Anna"), _ann(3, "Ada")]),
    ("older update is stale", [_ann(4, "Anna")]),
    ("invalid, older valid, newer valid", [_invalid(9), _ann(6, "Anna"), _ann(7, "Ada")]),
    ("unknown key deleted then inserted", [_delete(key=3), {**BOB, "id": 3, "updated_at": 1}]),
    ("unknown key deleted then older", [_delete(9, key=3), {**BOB, "id": 3, "updated_at": 8}]),
    ("two records interleaved", [_invalid(9), {**BOB, "updated_at": 2}, _delete(), BOB]),
    ("hard delete, invalid, valid", [_delete(6), _invalid(7), _ann(8, "Anna")]),
    ("update then delete", [_ann(6, "Anna"), _delete()]),
    ("delete, newer delete, older update", [_delete(6), _delete(9), _ann(8, "Anna")]),
    ("update then flagged", [_ann(6, "Anna"), _flagged(7, "Ada")]),
    ("flagged, newer flagged, older update", [_flagged(6), _flagged(9), _ann(8, "Anna")]),
    ("flagged then older update", [_flagged(9), _ann(8, "Anna")]),
    ("flagged without cursor then older", [_flagged(None), _ann(4, "Anna")]),
    ("no cursor, delete, older update", [_ann(None, "Anna"), _delete(9), _ann(7, "Ada")]),
    (
        "new key inserted then flagged",
        [{**BOB, "id": 3, "updated_at": 6}, {**BOB, "id": 3, "updated_at": 7, "is_deleted": True}],
    ),
]


@pytest.mark.parametrize("changes", [s[1] for s in SEQUENCES], ids=[s[0] for s in SEQUENCES])
def test_batch_ends_as_one_at_a_time(tmp_path: Path, changes: list[dict[str, Any]]) -> None:
    # Two records let the first micro-batch train a model, so later ones resolve incrementally.
    first = [_ann(5), {**BOB, "updated_at": 5}]
    in_one = _end_state(_run(tmp_path / "one", [first, changes]))
    one_by_one = _end_state(_run(tmp_path / "each", [first, *[[change] for change in changes]]))
    assert in_one == one_by_one


@pytest.mark.parametrize(
    ("changes", "statuses", "quarantined_cursor"),
    [
        ([_invalid(9), _delete()], ["processed", "quarantined", "processed"], "9"),
        ([_delete(9), _ann(8, "Anna")], ["processed", "processed", "stale"], None),
        ([_invalid(9), _ann(8, "Anna")], ["processed", "quarantined", "processed"], None),
    ],
)
def test_batch_outcomes(
    tmp_path: Path,
    changes: list[dict[str, Any]],
    statuses: list[str],
    quarantined_cursor: str | None,
) -> None:
    state = _end_state(_run(tmp_path / "one", [[_ann(5)], changes]))
    assert state["statuses"] == statuses
    cursors = [row[2] for row in state["quarantine"]]
    assert cursors == ([quarantined_cursor] if quarantined_cursor else [])


def test_delete_cursor_outlives_its_batch(tmp_path: Path) -> None:
    state = _end_state(_run(tmp_path / "later", [[_ann(5)], [_delete(9)], [_ann(8, "Anna")]]))
    assert state["statuses"] == ["processed", "processed", "stale"]
    assert state["records"] == [("1", "Ann", True)]


def _random_change(rng: random.Random) -> dict[str, Any]:
    key = rng.choice([1, 1, 2])
    cursor = rng.choice([None, 3, 4, 5, 6, 7, 8])
    kind = rng.choice(["update", "update", "invalid", "delete", "flagged"])
    if kind == "delete":
        return _delete(cursor, key)
    base = ANN if key == 1 else BOB
    change = {**base, "first_name": rng.choice(["Ann", "Anna", "Bob", "Ada"]), "updated_at": cursor}
    if kind == "invalid":
        change["seats"] = "many"
    if kind == "flagged":
        change["is_deleted"] = True
    return change


@pytest.mark.parametrize("seed", range(8))
def test_random_sequences_end_as_one_at_a_time(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    first = [_ann(5), {**BOB, "updated_at": 5}]
    changes = [_random_change(rng) for _ in range(rng.randint(2, 6))]
    in_one = _end_state(_run(tmp_path / "one", [first, changes]))
    one_by_one = _end_state(_run(tmp_path / "each", [first, *[[change] for change in changes]]))
    assert in_one == one_by_one, changes
