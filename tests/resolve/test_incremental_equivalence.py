"""Incremental resolution ends where a batch run on the same data ends.

A generated benchmark of 10,000 records is resolved in batch, then 1,000
random changes (edits, duplicate signups, deletions) go through the stream
processor in micro-batches of 1 to 40. The same final rows, written back
to files, are resolved by a fresh batch run with the same match model. Both
stores must contain the same entities, as sets of records, and the same
golden values. A batch run over the incremental store must change nothing.
The blocking cap is set low, so that blocks of common names pass it and
changes push some of them over it and back.
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow.parquet as pq
import pytest

from accord.config.loader import load_project
from accord.pipeline import run
from accord.progress import LogProgress
from accord.resolve.blocking_index import key_of
from accord.resolve.model import load_model, save_model
from accord.resolve.stage import after_ingest
from accord.store.duckdb_store import Store
from accord.stream.changelog import commit_changes
from accord.stream.changes import parse_change
from accord.stream.metrics import Metrics
from accord.stream.processor import Processor
from resolve.random_changes import SourceRows, random_change

pytestmark = pytest.mark.slow

GENERATOR = Path(__file__).resolve().parents[2] / "bench" / "generate.py"
CHANGES = 1_000
# Low enough that blocks of common family names pass it at 10,000 records.
MAX_BLOCK_PAIRS = 10


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_generate_for_tests", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _open(folder: Path) -> tuple[Any, Store]:
    loaded = load_project(folder / "accord.yaml")
    return loaded, Store.open(loaded.resolve(loaded.project.store.path))


def entities(store: Store, entity_type: str = "person") -> set[frozenset[str]]:
    rows = store.connection.execute(
        """SELECT list(m.record_id) FROM entity_members m JOIN entities e USING (entity_id)
           WHERE e.entity_type = ? AND e.status = 'active' GROUP BY m.entity_id""",
        [entity_type],
    ).fetchall()
    return {frozenset(row[0]) for row in rows}


Members = tuple[str, frozenset[str]]


def golden(store: Store) -> dict[Members, dict[str, str]]:
    members = {
        entity: (entity_type, frozenset(records))
        for entity, entity_type, records in store.connection.execute(
            """SELECT entity_id, any_value(e.entity_type), list(record_id)
               FROM entity_members JOIN entities e USING (entity_id) GROUP BY entity_id"""
        ).fetchall()
    }
    values: dict[Members, dict[str, str]] = {}
    for entity, name, value in store.connection.execute(
        "SELECT entity_id, field, value FROM golden_values"
    ).fetchall():
        values.setdefault(members[entity], {})[name] = value
    return values


def _stream(folder: Path, data: SourceRows, rng: random.Random) -> Processor:
    loaded, store = _open(folder)
    processor = Processor(loaded, store, Metrics(), batch_size=1000)
    # As the worker does: lookup indexes, then the state.
    processor.prepare()
    sent = 0
    while sent < CHANGES:
        size = min(rng.randint(1, 40), CHANGES - sent)
        items = [random_change(rng, data) for _ in range(size)]
        changes = [
            parse_change(loaded.project.source(source), item, "test") for source, item in items
        ]
        commit_changes(store.connection, changes)
        while processor.process_once():
            pass
        sent += size
    return processor


def _date_analytics_rows(project: Path) -> None:
    """Give analytics rows a source change time.

    Without one, the most-recent rule ranks analytics values by when Accord
    stored them, which differs between a stream and a batch load by design.
    """
    text = project.read_text(encoding="utf-8")
    mapping = "      last_seen_at:\n        from: last_seen_at\n        cast: timestamp\n"
    assert mapping in text
    dated = mapping + "      updated_at:\n        from: last_seen_at\n        cast: timestamp\n"
    capped = f"\nmatching:\n  max_block_pairs: {MAX_BLOCK_PAIRS}\n"
    project.write_text(text.replace(mapping, dated) + capped, encoding="utf-8")


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Processor, Store]:
    root = tmp_path_factory.mktemp("incremental")
    start = root / "start"
    _generator().generate(10_000, start, seed=5)
    _date_analytics_rows(start / "accord.yaml")
    loaded, store = _open(start)
    run(loaded, store)
    store.close()
    data = SourceRows.read(start)
    processor = _stream(start, data, random.Random(11))
    final = root / "final"
    data.write(final, pq.read_schema(start / "analytics.parquet"))
    shutil.copy(start / "accord.yaml", final / "accord.yaml")
    loaded, fresh = _open(final)
    model = load_model(processor.store.connection)
    assert model is not None
    save_model(fresh.connection, model)
    run(loaded, fresh)
    return processor, fresh


def test_incremental_path_was_taken(stores: tuple[Processor, Store]) -> None:
    processor, _ = stores
    assert processor.state is not None
    runs = processor.store.connection.execute(
        "SELECT count(*) FROM runs WHERE summary->>'kind' = 'stream'"
    ).fetchone()
    assert runs is not None and runs[0] > 20


def test_some_blocks_exceed_the_cap(stores: tuple[Processor, Store]) -> None:
    processor, _ = stores
    assert processor.state is not None
    blocking = processor.state.blocking
    oversized = [
        key
        for index, rule in enumerate(blocking.rules)
        for key in {key_of(record, rule.left) for record in processor.state.records.values()}
        if key is not None and blocking.pair_count(index, key) > MAX_BLOCK_PAIRS
    ]
    assert len(oversized) >= 10


def test_incremental_entities_equal_batch(stores: tuple[Processor, Store]) -> None:
    processor, fresh = stores
    incremental, batch = entities(processor.store), entities(fresh)
    only_incremental = sorted(sorted(e) for e in incremental - batch)[:5]
    only_batch = sorted(sorted(e) for e in batch - incremental)[:5]
    assert incremental == batch, f"incremental only: {only_incremental}; batch only: {only_batch}"


def test_incremental_organizations_equal_batch(stores: tuple[Processor, Store]) -> None:
    processor, fresh = stores
    incremental = entities(processor.store, "organization")
    batch = entities(fresh, "organization")
    assert incremental
    assert incremental == batch


def links(store: Store) -> set[tuple[frozenset[str], frozenset[str]]]:
    members = dict(
        store.connection.execute(
            "SELECT entity_id, list(record_id) FROM entity_members GROUP BY entity_id"
        ).fetchall()
    )
    rows = store.connection.execute("SELECT person_id, organization_id FROM entity_links")
    return {
        (frozenset(members[person]), frozenset(members[organization]))
        for person, organization in rows.fetchall()
    }


def test_incremental_links_equal_batch(stores: tuple[Processor, Store]) -> None:
    processor, fresh = stores
    incremental = links(processor.store)
    assert incremental
    assert incremental == links(fresh)


def test_incremental_golden_records_equal_batch(stores: tuple[Processor, Store]) -> None:
    processor, fresh = stores
    incremental, batch = golden(processor.store), golden(fresh)
    differing = [members for members in incremental if incremental[members] != batch.get(members)]
    assert not differing, f"{len(differing)} golden records differ, such as {differing[0]}"


def entity_ids(store: Store) -> dict[str, str]:
    return dict(
        store.connection.execute(
            """SELECT m.record_id, m.entity_id FROM entity_members m JOIN entities e
               USING (entity_id) WHERE e.entity_type = 'person'"""
        ).fetchall()
    )


def test_batch_run_after_incremental_changes_nothing(stores: tuple[Processor, Store]) -> None:
    processor, _ = stores
    before = entity_ids(processor.store)
    with processor.store.transaction() as transaction:
        transaction.execute(
            "INSERT INTO runs (run_id, started_at, status) "
            "SELECT max(run_id) + 1, now()::TIMESTAMP, 'running' FROM runs"
        )
        row = transaction.execute("SELECT max(run_id) FROM runs").fetchone()
        assert row is not None
        stats = after_ingest(processor.loaded, transaction, int(row[0]), LogProgress())
    assert entity_ids(processor.store) == before
    assert stats["entities created"] == 0
    assert stats["entities merged away"] == 0
    assert stats["golden values changed"] == 0
