"""The demo project end to end: four sources resolved into golden records."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from accord.config.loader import load_project
from accord.pipeline import RunSummary, run
from accord.store.duckdb_store import Store
from accord.truth import score_store

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from accord.resolve.model import MatchModel

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_demo_run", EXAMPLES / "build_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_demo_run"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RunSummary]:
    """A built and run copy of the demo project."""
    folder = tmp_path_factory.mktemp("demo")
    shutil.copy(EXAMPLES / "demo" / "accord.yaml", folder / "accord.yaml")
    shutil.copy(EXAMPLES / "demo" / "truth.csv", folder / "truth.csv")
    _load_builder().build(folder / "data")
    loaded = load_project(folder / "accord.yaml")
    # The CRM URL is relative to the folder accord runs in, as in the README.
    previous = Path.cwd()
    try:
        import os

        os.chdir(folder)
        with Store.open(folder / "accord.duckdb") as store:
            summary = run(loaded, store)
    finally:
        os.chdir(previous)
    return folder, summary


def query(folder: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with Store.open(folder / "accord.duckdb", read_only=True) as store:
        return store.connection.execute(sql, params or []).fetchall()


def test_demo_accuracy_against_truth(demo: tuple[Path, RunSummary]) -> None:
    folder, _ = demo
    with Store.open(folder / "accord.duckdb", read_only=True) as store:
        scores = score_store(store, folder / "truth.csv")
    assert scores.pair_precision > 0.98
    assert scores.pair_recall > 0.98


def test_demo_counts_add_up(demo: tuple[Path, RunSummary]) -> None:
    _, summary = demo
    for item in summary.sources:
        assert item.read == item.stored + item.quarantined, item.source
    assert summary.extra["records resolved"] == sum(item.stored for item in summary.sources)
    assert summary.extra["entities"] < summary.extra["records resolved"]


def test_canceled_in_billing_wins_over_crm(demo: tuple[Path, RunSummary]) -> None:
    folder, _ = demo
    rows = query(
        folder,
        """SELECT g.source, json_extract_string(g.value, '$'), c.data->>'lifecycle_stage'
           FROM source_records b
           JOIN entity_members mb ON mb.source = 'billing' AND mb.source_key = b.source_key
           JOIN entity_members mc ON mc.entity_id = mb.entity_id AND mc.source = 'crm'
           JOIN source_records c ON c.source = 'crm' AND c.source_key = mc.source_key
           JOIN golden_values g ON g.entity_id = mb.entity_id AND g.field = 'subscription_status'
           WHERE b.source = 'billing' AND b.data->>'subscription_status' = 'canceled'
             AND c.data->>'lifecycle_stage' = 'customer'
             AND (SELECT count(*) FROM entity_members o
                  WHERE o.entity_id = mb.entity_id AND o.source = 'billing') = 1""",
    )
    assert len(rows) >= 30
    assert {row[0] for row in rows} == {"billing"}
    assert {row[1] for row in rows} == {"canceled"}


def test_households_stay_apart(demo: tuple[Path, RunSummary]) -> None:
    folder, _ = demo
    records = query(
        folder,
        """SELECT r.source || ':' || r.source_key, r.data->>'last_name_key', r.data->>'phone_key',
                  r.data->>'first_name_key'
           FROM source_records r WHERE r.data->>'phone_key' IS NOT NULL
             AND r.data->>'last_name_key' IS NOT NULL""",
    )
    truth = {
        f"{s}:{k}": e
        for s, k, e in (
            line.split(",") for line in (folder / "truth.csv").read_text().splitlines()[1:]
        )
    }
    entity = dict(
        query(
            folder,
            """SELECT record_id, entity_id FROM entity_members
                                   JOIN entities USING (entity_id)
                                   WHERE entity_type = 'person'""",
        )
    )
    by_home: dict[tuple[str, str], set[str]] = defaultdict(set)
    for record, last, phone, _ in records:
        by_home[(last, phone)].add(record)
    households = [members for members in by_home.values() if len({truth[m] for m in members}) > 1]
    assert len(households) >= 20
    merged = [
        members
        for members in households
        if len({entity[m] for m in members}) < len({truth[m] for m in members})
    ]
    assert merged == []


def test_golden_values_carry_lineage(demo: tuple[Path, RunSummary]) -> None:
    folder, _ = demo
    missing = query(
        folder,
        """SELECT count(*) FROM golden_values
           WHERE rule NOT IN ('sum', 'max', 'min', 'count', 'union')
             AND (source IS NULL OR source_key IS NULL OR version IS NULL)""",
    )
    assert missing == [(0,)]
    contributors = query(
        folder, "SELECT contributors FROM golden_values WHERE rule = 'sum' LIMIT 1"
    )
    assert json.loads(contributors[0][0])


def test_rerun_changes_nothing(demo: tuple[Path, RunSummary]) -> None:
    folder, _ = demo
    before = query(folder, "SELECT entity_id, record_id FROM entity_members ORDER BY ALL")
    import os

    previous = Path.cwd()
    try:
        os.chdir(folder)
        with Store.open(folder / "accord.duckdb") as store:
            summary = run(load_project(folder / "accord.yaml"), store)
    finally:
        os.chdir(previous)
    assert summary.extra["entities created"] == 0
    assert summary.extra["golden values changed"] == 0
    assert query(folder, "SELECT entity_id, record_id FROM entity_members ORDER BY ALL") == before


def _model_and_input(connection: duckdb.DuckDBPyConnection) -> tuple[MatchModel, pa.Table]:
    """Return the demo's stored match model and its resolution input as an Arrow table."""
    from accord.resolve.inputs import INPUT_TABLE, build_input
    from accord.resolve.model import load_model

    model = load_model(connection)
    assert model is not None
    build_input(connection, ["crm", "billing", "support", "analytics"], ["billing_id"])
    connection.complete()
    return model, connection.sql(f"SELECT * FROM {INPUT_TABLE}").to_arrow_table()


def test_python_levels_agree_with_splink_sql(demo: tuple[Path, RunSummary]) -> None:
    from accord.resolve.inputs import fetch_records
    from accord.resolve.prediction import predict

    folder, _ = demo
    with Store.open(folder / "accord.duckdb") as store:
        connection = store.connection
        model, table = _model_and_input(connection)
        scored = predict(table, model, 0.0).to_pylist()
        sample = scored[:: max(1, len(scored) // 1500)]
        records = fetch_records(
            connection,
            sorted({r["record_id_l"] for r in sample} | {r["record_id_r"] for r in sample}),
        )
    comparisons = model.comparisons()
    mismatches = []
    for row in sample:
        left, right = records[row["record_id_l"]], records[row["record_id_r"]]
        for comparison in comparisons:
            python_gamma = comparison.gamma(comparison.level_of(left, right))
            if python_gamma != row[f"gamma_{comparison.name}"]:
                mismatches.append((comparison.name, row["record_id_l"], row["record_id_r"]))
    assert len(sample) > 500
    assert mismatches == []


def test_explained_probability_equals_splink(demo: tuple[Path, RunSummary]) -> None:
    from accord.resolve.inputs import INPUT_TABLE, build_input, fetch_records, term_frequency
    from accord.resolve.model import load_model
    from accord.resolve.prediction import predict
    from accord.resolve.scoring import score_pair

    folder, _ = demo
    persons = ["crm", "billing", "support", "analytics"]
    with Store.open(folder / "accord.duckdb") as store:
        connection = store.connection
        model = load_model(connection)
        assert model is not None
        build_input(connection, persons, ["billing_id"])
        connection.complete()
        table = connection.sql(f"SELECT * FROM {INPUT_TABLE}").to_arrow_table()
        scored = predict(table, model, 0.0).to_pylist()
        sample = scored[:: max(1, len(scored) // 100)]
        records = fetch_records(
            connection,
            sorted({r["record_id_l"] for r in sample} | {r["record_id_r"] for r in sample}),
        )
        differences = []
        for row in sample:
            score = score_pair(
                model,
                records[row["record_id_l"]],
                records[row["record_id_r"]],
                lambda column, value: term_frequency(connection, column, value, persons),
            )
            if abs(score.match_weight - row["match_weight"]) > 1e-6:
                differences.append(
                    (
                        row["record_id_l"],
                        row["record_id_r"],
                        score.match_weight,
                        row["match_weight"],
                    )
                )
    assert differences == []


def test_prediction_equals_splink(demo: tuple[Path, RunSummary]) -> None:
    from accord.resolve.prediction import predict

    # Loaded by path: with importlib imports, the tests' resolve package is
    # importable by name only once pytest has collected it.
    path = Path(__file__).parent / "resolve" / "splink_reference.py"
    spec = importlib.util.spec_from_file_location("splink_reference_demo", path)
    assert spec is not None and spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    splink_predict = reference.splink_predict

    folder, _ = demo
    with Store.open(folder / "accord.duckdb") as store:
        model, table = _model_and_input(store.connection)
    ours = {(r["record_id_l"], r["record_id_r"]): r for r in predict(table, model, 0.0).to_pylist()}
    theirs = {
        (r["record_id_l"], r["record_id_r"]): r
        for r in splink_predict(table, model, 0.0).to_pylist()
    }

    assert ours.keys() == theirs.keys()
    differences = [
        pair
        for pair, row in ours.items()
        if abs(row["match_weight"] - theirs[pair]["match_weight"]) > 1e-9
    ]
    assert differences == []


@pytest.mark.parametrize("part_records", [1_000, 3_000, 10_000_000])
def test_golden_values_same_in_parts(
    demo: tuple[Path, RunSummary], monkeypatch: pytest.MonkeyPatch, part_records: int
) -> None:
    """A full merge split into parts by entity gives the values of a one-part merge."""
    from accord.merge import survivorship

    folder, _ = demo
    loaded = load_project(folder / "accord.yaml")
    monkeypatch.setattr(survivorship, "PART_RECORDS", part_records)
    values = "SELECT * EXCLUDE (run_id) FROM golden_values ORDER BY ALL"
    with Store.open(folder / "accord.duckdb") as store:
        connection = store.connection
        before = connection.execute(values).fetchall()
        connection.execute("BEGIN")
        try:
            changed = survivorship.merge_golden(connection, loaded.project, run_id=999)
            after = connection.execute(values).fetchall()
        finally:
            connection.execute("ROLLBACK")

    assert len(before) > 100
    assert after == before
    assert changed == 0


def test_input_rows_equal_scoped_input(demo: tuple[Path, RunSummary]) -> None:
    from accord.resolve.inputs import INPUT_TABLE, build_input, input_rows

    folder, _ = demo
    persons = ["crm", "billing", "support", "analytics"]
    with Store.open(folder / "accord.duckdb") as store:
        connection = store.connection
        live_ids = [row[0] for row in query_ids(connection)]
        record_ids = [*live_ids[::7], "crm:no-such-record"]
        build_input(connection, persons, ["billing_id"], record_ids=record_ids)
        connection.complete()
        expected = connection.sql(f"SELECT * FROM {INPUT_TABLE}").to_arrow_table().to_pylist()
        rows = input_rows(connection, persons, ["billing_id"], record_ids)
    by_id = {row["record_id"]: row for row in rows}
    assert len(expected) > 100
    assert sorted(by_id) == [row["record_id"] for row in expected]
    assert any(row["first_name_nick_keys"] for row in expected)
    for row in expected:
        assert by_id[row["record_id"]] == row


def query_ids(connection: Any) -> list[tuple[Any, ...]]:
    return connection.execute(
        "SELECT source || ':' || source_key FROM source_records "
        "WHERE deleted_at IS NULL ORDER BY ALL"
    ).fetchall()
