"""Hard cases of incremental resolution: the stream ends where a batch run ends.

Each case streams the initial records, then the changes, through the
processor, and compares the entities with a batch run of the final records
that uses the stream's match model.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from accord.config.loader import load_project
from accord.governance.decisions import decide
from accord.pipeline import run
from accord.resolve.model import load_model, save_model
from accord.store.duckdb_store import Store
from accord.stream.metrics import Metrics
from accord.stream.processor import Processor
from stream.helpers import clusters, person, write_project
from stream.test_processor import send

GROUP_RULE = """\
matching:
  max_group_size: 3
  deterministic:
    - {name: plan, fields: [plan], guard: false}
"""


def _stream(folder: Path, extra: str, initial: list[dict[str, Any]]) -> Processor:
    loaded = load_project(write_project(folder, extra))
    store = Store.open(loaded.resolve(loaded.project.store.path))
    processor = Processor(loaded, store, Metrics(), batch_size=1000)
    send(processor, initial)
    processor.process_once()
    return processor


def _batch(folder: Path, extra: str, records: list[dict[str, Any]], processor: Processor) -> Store:
    loaded = load_project(write_project(folder, extra, records))
    store = Store.open(loaded.resolve(loaded.project.store.path))
    model = load_model(processor.store.connection)
    assert model is not None
    save_model(store.connection, model)
    run(loaded, store)
    return store


def _thin(number: int, email: str) -> dict[str, Any]:
    return person(number, first_name=None, last_name=None, email=email)


RENAMED = person(2, version=2, first_name="Ottilie", last_name="Brevik", email="ob@x.example")
NAMESAKES = [
    person(1, first_name="Quillon", last_name="Brevik", email="q.b@work.example"),
    person(2, first_name="Quillon", last_name="Brevik", email="qb@other.example"),
    _thin(3, "quillonbrevik@mailbox.org"),
    person(4),
    person(5),
]

KATE = person(1, first_name="Kate", last_name="Smith", email="jsmith@x.example")
UNNAMED_SMITH = person(2, first_name=None, last_name="Smith", email="jsmith@x.example")
RUBY = person(1, first_name="Ruby", last_name="Dixon", email="ruby.dixon@x.example")
KYLE = person(2, first_name="Kyle", last_name="Dixon", email="ruby.dixon@x.example")
UNNAMED_DIXON = person(3, first_name=None, last_name="Dixon", email="ruby.dixon@x.example")


@pytest.mark.parametrize(
    ("name", "extra", "initial", "changes", "final"),
    [
        (
            "email-only record joins the last namesake left",
            "",
            NAMESAKES,
            [{"op": "delete", "record": {"id": 2}}],
            [NAMESAKES[0], *NAMESAKES[2:]],
        ),
        (
            "email-only record joins the namesake left after a rename",
            "",
            NAMESAKES,
            [RENAMED],
            [NAMESAKES[0], RENAMED, *NAMESAKES[2:]],
        ),
        (
            "email of a record without given name spells another",
            "",
            [KATE, person(4), person(5)],
            [UNNAMED_SMITH],
            [KATE, UNNAMED_SMITH, person(4), person(5)],
        ),
        (
            "shared email spells one of two given names",
            "",
            [RUBY, person(4), person(5)],
            [KYLE],
            [RUBY, KYLE, person(4), person(5)],
        ),
        (
            "mailbox of one given name reaches a third record",
            "",
            [RUBY, KYLE, person(4), person(5)],
            [UNNAMED_DIXON],
            [RUBY, KYLE, UNNAMED_DIXON, person(4), person(5)],
        ),
        (
            "stitching group grows past the limit in one batch",
            GROUP_RULE,
            [person(n, plan="shared") for n in range(3)],
            [person(n, plan="shared") for n in (3, 4)],
            [person(n, plan="shared") for n in range(5)],
        ),
        (
            "stitching group shrinks under the limit",
            GROUP_RULE,
            [person(n, plan="shared") for n in range(5)],
            [{"op": "delete", "record": {"id": n}} for n in (3, 4)],
            [person(n, plan="shared") for n in range(3)],
        ),
    ],
)
def test_stream_matches_batch(
    tmp_path: Path,
    name: str,
    extra: str,
    initial: list[dict[str, Any]],
    changes: list[dict[str, Any]],
    final: list[dict[str, Any]],
) -> None:
    processor = _stream(tmp_path / "stream", extra, initial)
    send(processor, [person(99)])
    processor.process_once()
    assert processor.state is not None, name
    send(processor, changes)
    processor.process_once()
    expected = _batch(tmp_path / "batch", extra, [*final, person(99)], processor)
    assert clusters(processor.store) == clusters(expected), name


def test_decision_on_deleted_record_leaves_no_member(tmp_path: Path) -> None:
    processor = _stream(tmp_path / "stream", "", [person(1), person(2), person(3)])
    with processor.store.transaction() as connection:
        decide(connection, "crm:1", "crm:2", "must_link", datetime(2024, 1, 2))
    send(processor, [person(3, version=2)])
    processor.process_once()
    send(processor, [{"op": "delete", "record": {"id": 2}}])
    processor.process_once()
    members = processor.store.connection.execute(
        "SELECT record_id FROM entity_members WHERE record_id = 'crm:2'"
    ).fetchall()
    assert members == []
