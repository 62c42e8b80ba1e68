"""The processor: change log to store, stale changes, deletions and quarantine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from accord.pipeline import run
from accord.resolve.stage import after_ingest
from accord.store.duckdb_store import Store
from accord.stream.changelog import commit_changes
from accord.stream.changes import parse_change
from accord.stream.metrics import Metrics
from accord.stream.processor import Processor
from stream.helpers import (
    batch_store,
    clusters,
    live_records,
    load,
    person,
    statuses,
    write_project,
)


@pytest.fixture
def worker_parts(tmp_path: Path) -> tuple[Processor, Store]:
    loaded = load(write_project(tmp_path / "stream").parent)
    store = Store.open(loaded.resolve(loaded.project.store.path))
    processor = Processor(loaded, store, Metrics(), batch_size=1000)
    return processor, store


def send(processor: Processor, items: list[Any]) -> None:
    source = processor.loaded.project.source("crm")
    changes = [parse_change(source, item, "test") for item in items]
    cursor = processor.store.connection.cursor()
    try:
        commit_changes(cursor, changes)
    finally:
        cursor.close()


def test_processor_writes_changes(worker_parts: tuple[Processor, Store]) -> None:
    processor, store = worker_parts
    send(processor, [person(1), person(2)])
    assert processor.process_once() == 2
    assert sorted(live_records(store)) == ["1", "2"]
    assert set(statuses(store).values()) == {"processed"}


def test_processor_skips_stale_change(worker_parts: tuple[Processor, Store]) -> None:
    processor, store = worker_parts
    send(processor, [person(1, version=5)])
    processor.process_once()
    send(processor, [person(1, version=3)])
    processor.process_once()
    assert live_records(store)["1"]["plan"] == "plan-5"
    assert statuses(store)[2] == "stale"


def test_processor_skips_stale_in_batch(worker_parts: tuple[Processor, Store]) -> None:
    processor, store = worker_parts
    send(processor, [person(1, version=5), person(1, version=3)])
    processor.process_once()
    assert live_records(store)["1"]["plan"] == "plan-5"
    assert statuses(store) == {1: "processed", 2: "stale"}


def test_processor_applies_delete(worker_parts: tuple[Processor, Store]) -> None:
    processor, store = worker_parts
    send(processor, [person(1), person(2)])
    processor.process_once()
    send(processor, [{"op": "delete", "record": {"id": 2}}])
    processor.process_once()
    assert sorted(live_records(store)) == ["1"]
    assert clusters(store) == {frozenset({"crm:1"})}


def test_processor_quarantines_invalid(worker_parts: tuple[Processor, Store]) -> None:
    processor, store = worker_parts
    send(processor, [person(1, email=None), person(2)])
    processor.process_once()
    assert statuses(store) == {1: "quarantined", 2: "processed"}
    row = store.connection.execute("SELECT source_key FROM quarantine").fetchall()
    assert row == [("1",)]


STRICT_EMAIL = """\
standardize:
  fields:
    email: {standardizer: email, on_invalid: quarantine}
"""


def test_quarantine_log_leaves_out_value(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    loaded = load(write_project(tmp_path / "stream", STRICT_EMAIL).parent)
    store = Store.open(loaded.resolve(loaded.project.store.path))
    processor = Processor(loaded, store, Metrics(), batch_size=1000)
    send(processor, [person(1, email="ann.private.example.org")])
    with caplog.at_level("WARNING", logger="accord.stream.processor"):
        processor.process_once()

    assert statuses(store) == {1: "quarantined"}
    reason = store.connection.execute("SELECT reason FROM quarantine").fetchall()[0][0]
    assert "ann.private.example.org" in reason
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1
    assert "key 1 quarantined by rule" in messages[0]
    assert "ann.private" not in messages[0]


def test_processor_matches_batch_run(worker_parts: tuple[Processor, Store], tmp_path: Path) -> None:
    processor, store = worker_parts
    final = [person(n, version=2) for n in range(12)]
    duplicate = person(20, version=1, id=20, email=final[3]["email"])
    send(processor, [person(n) for n in range(12)])
    processor.process_once()
    send(processor, [*final, duplicate])
    processor.process_once()
    expected = batch_store(tmp_path / "batch", [*final, duplicate])
    assert live_records(store) == live_records(expected)
    assert clusters(store) == clusters(expected)


def test_failed_prepare_defers_state_load(
    worker_parts: tuple[Processor, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    processor, store = worker_parts

    def broken(*args: Any) -> None:
        raise OSError("disk unavailable")

    with monkeypatch.context() as patch:
        patch.setattr("accord.stream.processor.load_state", broken)
        processor.prepare()
    assert processor.ready
    assert processor.state is None
    assert _threads(store) == processor.loaded.project.stream.query_threads
    send(processor, [person(1)])
    assert processor.process_once() == 1
    assert sorted(live_records(store)) == ["1"]


def _threads(store: Store) -> int:
    row = store.connection.execute("SELECT current_setting('threads')").fetchone()
    assert row is not None
    return int(row[0])


def test_micro_batches_use_query_threads(
    worker_parts: tuple[Processor, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    processor, store = worker_parts
    store.connection.execute("SET threads = 2")
    processor.prepare()
    assert _threads(store) == processor.loaded.project.stream.query_threads == 1
    seen: list[int] = []
    batch_resolution = after_ingest

    def recording(*args: Any) -> dict[str, object]:
        seen.append(_threads(store))
        return batch_resolution(*args)

    # No model is stored yet, so the first micro-batch resolves in batch and trains one.
    monkeypatch.setattr("accord.stream.processor.after_ingest", recording)
    send(processor, [person(1)])
    processor.process_once()
    assert seen == [2]
    assert _threads(store) == 1


@pytest.mark.parametrize(
    ("file_version", "stored_plan", "stale"),
    [
        # Newer than the batch cursor but older than the worker's version.
        (2, "plan-3", 1),
        # Newer than both.
        (4, "plan-4", 0),
    ],
)
def test_batch_run_skips_stale_rows(
    worker_parts: tuple[Processor, Store], file_version: int, stored_plan: str, stale: int
) -> None:
    processor, store = worker_parts
    folder = processor.loaded.path.parent
    write_project(folder, records=[person(1, version=1)])
    run(processor.loaded, store)
    send(processor, [person(1, version=3)])
    processor.process_once()
    write_project(folder, records=[person(1, version=file_version)])
    summary = run(processor.loaded, store)
    assert live_records(store)["1"]["plan"] == stored_plan
    assert summary.sources[0].stale == stale


def test_delete_of_unknown_key_logged(
    worker_parts: tuple[Processor, Store], caplog: pytest.LogCaptureFixture
) -> None:
    processor, store = worker_parts
    send(processor, [person(1)])
    processor.process_once()
    caplog.set_level("INFO", logger="accord.stream.processor")
    deletes = [{"op": "delete", "record": {"id": key}} for key in (1, 77)]
    send(processor, deletes)
    processor.process_once()
    assert "1 deletes of source crm found no live record" in caplog.text
    assert "first keys: 77" in caplog.text
    assert live_records(store) == {}


@pytest.mark.parametrize("field", ["phone", "plan", "first_name"])
def test_integer_beyond_64_bits_never_fails(
    worker_parts: tuple[Processor, Store], field: str
) -> None:
    processor, store = worker_parts
    send(processor, [person(1, **{field: 10**30}), person(2)])
    processor.process_once()
    found = statuses(store)
    assert found[2] == "processed"
    assert found[1] in {"processed", "quarantined"}


def masked(error: Exception) -> duckdb.TransactionException:
    """Return the error a clean-up statement raises after ``error`` aborted the transaction."""
    abort = duckdb.TransactionException("Current transaction is aborted (please ROLLBACK)")
    abort.__context__ = error
    return abort


@pytest.mark.parametrize(
    "error",
    [
        duckdb.IOException("could not write file: No space left on device"),
        duckdb.OutOfMemoryException("could not allocate block"),
        OSError(28, "No space left on device"),
        masked(duckdb.OutOfMemoryException("could not allocate block")),
    ],
)
def test_disk_or_memory_error_keeps_change_pending(
    worker_parts: tuple[Processor, Store], monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    processor, store = worker_parts
    send(processor, [person(1)])

    def fail(pending: list[Any]) -> None:
        raise error

    with monkeypatch.context() as patch:
        patch.setattr(processor, "_apply_batch", fail)
        with pytest.raises(type(error)):
            processor.process_once()
    assert set(statuses(store).values()) == {"pending"}

    assert processor.process_once() == 1
    assert set(statuses(store).values()) == {"processed"}


def test_change_error_marks_change_failed(
    worker_parts: tuple[Processor, Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    processor, store = worker_parts
    send(processor, [person(1)])

    def fail(pending: list[Any]) -> None:
        raise ValueError("bad value")

    monkeypatch.setattr(processor, "_apply_batch", fail)
    assert processor.process_once() == 1
    assert set(statuses(store).values()) == {"failed"}


def test_logged_email_key_masked(
    worker_parts: tuple[Processor, Store], caplog: pytest.LogCaptureFixture
) -> None:
    processor, _ = worker_parts
    caplog.set_level("INFO", logger="accord.stream.processor")
    send(processor, [{"op": "delete", "record": {"id": "ann.private@example.org"}}])
    processor.process_once()

    assert "first keys: a***@example.org" in caplog.text
    assert "ann.private" not in caplog.text


def test_logged_conversion_error_masks_value(
    worker_parts: tuple[Processor, Store],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    processor, store = worker_parts
    send(processor, [person(1)])

    def fail(pending: list[Any]) -> None:
        raise duckdb.ConversionException(
            "Conversion Error: Could not convert string 'Ann Private' to INT32"
        )

    monkeypatch.setattr(processor, "_apply_batch", fail)
    with caplog.at_level("ERROR", logger="accord.stream.processor"):
        processor.process_once()

    assert "Could not convert string '***' to INT32" in caplog.text
    assert "Ann Private" not in caplog.text
    error = store.connection.execute("SELECT error FROM change_log").fetchall()[0][0]
    assert "Ann Private" in error
