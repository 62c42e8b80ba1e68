"""The batch run end to end on real files and a real DuckDB store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accord.config.loader import LoadedProject, load_project
from accord.errors import RunError, StoreError
from accord.ingest import process_rows
from accord.pipeline import RunSummary, run
from accord.store.duckdb_store import Store
from accord.store.indexes import LOOKUP_INDEXES, ensure_lookup_indexes
from accord.store.schema import MIGRATIONS, SCHEMA_VERSION

PROJECT = """\
name: pipeline-test
standardize:
  default_region: US
sources:
  - name: crm
    kind: csv
    path: crm.csv
    primary_key: id
    cursor: updated_at
    fields:
      first_name: first
      last_name: last
      email: email
      phone: phone
      lifecycle_stage:
        from: stage
        values: {Lead: lead, Customer: customer}
      updated_at: updated_at
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
survivorship:
  fields:
    subscription_status:
      rules: [source_priority, most_recent]
      sources: [billing]
"""

CRM = """\
id,first,last,email,phone,stage,updated_at
1,Ada,Lovelace,ada@analytical.org,+1 415 555 0100,Customer,2024-01-01T00:00:00
2,Alan,Turing,alan@analytical.org,(415) 555-0101,Lead,2024-01-02T00:00:00
3,Grace,Hopper,,,Lead,2024-01-03T00:00:00
4,Edsger,Dijkstra,edsger@analytical.org,,Prospect,2024-01-04T00:00:00
"""

BILLING = """\
cid,name,email,status
b1,"Lovelace, Ada",ADA@analytical.org,canceled
b2,Alan Turing,alan@analytical.org,active
"""


def make_project(folder: Path, crm: str = CRM, billing: str = BILLING) -> LoadedProject:
    (folder / "crm.csv").write_text(crm, encoding="utf-8")
    (folder / "billing.csv").write_text(billing, encoding="utf-8")
    (folder / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    return load_project(folder / "accord.yaml")


def run_once(loaded: LoadedProject, **options: Any) -> RunSummary:
    with Store.open(loaded.resolve(loaded.project.store.path)) as store:
        return run(loaded, store, **options)


def query(loaded: LoadedProject, sql: str) -> list[tuple[Any, ...]]:
    with Store.open(loaded.resolve(loaded.project.store.path), read_only=True) as store:
        return store.connection.execute(sql).fetchall()


def by_source(summary: RunSummary) -> dict[str, Any]:
    return {item.source: item for item in summary.sources}


def test_counts_add_up(tmp_path: Path) -> None:
    summary = run_once(make_project(tmp_path))
    crm = by_source(summary)["crm"]
    assert crm.read == 4
    assert crm.new == 2
    assert crm.quarantined == 2
    assert crm.read == crm.stored + crm.quarantined


def test_quarantine_names_rule_field_and_value(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    rows = query(loaded, "SELECT source_key, rule, field, value FROM quarantine ORDER BY 1")
    assert ("3", "one_of_present:email+phone", "email+phone", None) in rows
    assert ("4", "value_map", "lifecycle_stage", "Prospect") in rows


def test_rerun_on_same_input_changes_nothing(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    before = query(loaded, "SELECT * EXCLUDE (last_seen) FROM source_records ORDER BY ALL")
    entities = query(loaded, "SELECT * FROM entity_members ORDER BY ALL")
    golden = query(loaded, "SELECT * EXCLUDE (run_id) FROM golden_values ORDER BY ALL")
    summary = run_once(loaded, full_refresh=True)
    assert all(item.new == item.changed == item.deleted == 0 for item in summary.sources)
    assert query(loaded, "SELECT * EXCLUDE (last_seen) FROM source_records ORDER BY ALL") == before
    assert query(loaded, "SELECT * FROM entity_members ORDER BY ALL") == entities
    assert query(loaded, "SELECT * EXCLUDE (run_id) FROM golden_values ORDER BY ALL") == golden
    assert query(loaded, "SELECT count(*) FROM record_versions") == [(4,)]


def test_changed_row_adds_version(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    make_project(
        tmp_path,
        billing=BILLING.replace(
            "b2,Alan Turing,alan@analytical.org,active",
            "b2,Alan Turing,alan@analytical.org,past_due",
        ),
    )
    summary = run_once(loaded)
    assert by_source(summary)["billing"].changed == 1
    versions = query(
        loaded, "SELECT version FROM record_versions WHERE source_key = 'b2' ORDER BY 1"
    )
    assert versions == [(1,), (2,)]


def test_row_absent_from_full_read_marked_deleted(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    make_project(
        tmp_path, billing=BILLING.replace("b2,Alan Turing,alan@analytical.org,active\n", "")
    )
    summary = run_once(loaded)
    assert by_source(summary)["billing"].deleted == 1
    row = query(
        loaded, "SELECT deleted_at IS NOT NULL, version FROM source_records WHERE source_key = 'b2'"
    )
    assert row == [(True, 2)]
    history = query(
        loaded, "SELECT deleted FROM record_versions WHERE source_key = 'b2' ORDER BY version"
    )
    assert history == [(False,), (True,)]


def test_incremental_read_uses_cursor(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    changed = CRM.replace(
        "2,Alan,Turing,alan@analytical.org,(415) 555-0101,Lead,2024-01-02T00:00:00",
        "2,Alan,Turing,alan@analytical.org,(415) 555-0101,Customer,2024-02-01T00:00:00",
    )
    make_project(tmp_path, crm=changed)
    crm = by_source(run_once(loaded))["crm"]
    assert crm.incremental
    assert crm.read == 1
    assert crm.changed == 1
    assert query(loaded, "SELECT deleted_at FROM source_records WHERE source_key = '1'") == [
        (None,)
    ]


def test_subscription_status_from_billing_authority(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    rows = query(
        loaded,
        """SELECT g.rule, g.source, json_extract_string(g.value, '$')
                            FROM golden_values g JOIN entity_members m USING (entity_id)
                            WHERE m.record_id = 'crm:1' AND g.field = 'subscription_status'""",
    )
    assert rows == [("single_source", "billing", "canceled")]


def test_same_person_across_sources_is_one_entity(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    rows = query(
        loaded,
        """SELECT count(DISTINCT entity_id) FROM entity_members
           JOIN entities USING (entity_id)
           WHERE entity_type = 'person' AND record_id IN ('crm:1', 'billing:b1')""",
    )
    assert rows == [(1,)]


def test_error_inside_stage_keeps_previous_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    before = query(loaded, "SELECT * FROM record_versions ORDER BY ALL")
    make_project(tmp_path, billing=BILLING.replace("active", "past_due"))

    def explode(*args: Any, **kwargs: Any) -> int:
        raise ValueError("merge failed on purpose")

    monkeypatch.setattr("accord.resolve.stage.merge_golden", explode)
    with pytest.raises(RunError, match="merge failed on purpose"):
        run_once(loaded)
    assert query(loaded, "SELECT * FROM record_versions ORDER BY ALL") == before
    assert query(loaded, "SELECT status FROM runs ORDER BY run_id") == [("succeeded",), ("failed",)]


def exhaust(*args: Any) -> int:
    raise duckdb.OutOfMemoryException("could not allocate block of size 256.0 KiB")


def exhaust_then_clean_up(connection: duckdb.DuckDBPyConnection, *args: Any) -> int:
    """Abort the transaction, run out of memory, then fail in a clean-up statement."""
    with pytest.raises(duckdb.CatalogException):
        connection.execute("SELECT * FROM no_such_table")
    try:
        return exhaust()
    finally:
        connection.execute("SELECT 1")


@pytest.mark.parametrize("merge", [exhaust, exhaust_then_clean_up])
def test_out_of_memory_names_memory_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, merge: Callable[..., int]
) -> None:
    loaded = make_project(tmp_path)
    monkeypatch.setattr("accord.resolve.stage.merge_golden", merge)
    with pytest.raises(RunError) as raised:
        run_once(loaded)

    message = str(raised.value)
    assert "DuckDB ran out of memory under store.memory_limit (2GB)" in message
    assert "raise store.memory_limit in the project file" in message
    assert "could not allocate block" in message
    assert query(loaded, "SELECT status FROM runs ORDER BY run_id") == [("failed",)]


KILL_SCRIPT = """
import os, signal, sys
import accord.resolve.stage as stage
from accord.config.loader import load_project
from accord.pipeline import run
from accord.store.duckdb_store import Store

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

stage.merge_golden = die
loaded = load_project(sys.argv[1])
store = Store.open(loaded.resolve(loaded.project.store.path))
run(loaded, store)
"""


def test_killed_run_leaves_previous_state(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    run_once(loaded)
    before = query(loaded, "SELECT * FROM record_versions ORDER BY ALL")
    make_project(tmp_path, billing=BILLING.replace("active", "past_due"))
    script = tmp_path / "kill.py"
    script.write_text(textwrap.dedent(KILL_SCRIPT), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(loaded.path)],
        check=False,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL
    assert query(loaded, "SELECT * FROM record_versions ORDER BY ALL") == before
    summary = run_once(loaded)
    assert by_source(summary)["billing"].changed == 1
    statuses = query(loaded, "SELECT status FROM runs ORDER BY run_id")
    assert statuses == [("succeeded",), ("interrupted",), ("succeeded",)]


def test_old_schema_upgrades(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    connection = duckdb.connect(str(path))
    connection.execute("CREATE TABLE accord_meta (key VARCHAR, value VARCHAR)")
    connection.execute("INSERT INTO accord_meta VALUES ('schema_version', '1')")
    for statement in MIGRATIONS[0]:
        connection.execute(statement)
    connection.close()
    with Store.open(path) as store:
        assert store.schema_version() == SCHEMA_VERSION
        assert store.table_exists("golden_values")


def test_newer_schema_rejected(tmp_path: Path) -> None:
    path = tmp_path / "new.duckdb"
    with Store.open(path) as store:
        store.connection.execute("UPDATE accord_meta SET value = '999'")
    with pytest.raises(StoreError, match="upgrade Accord"):
        Store.open(path)


def test_locked_store_reports_other_process(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    Store.open(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True); "
            "time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None
        holder.stdout.readline()
        with pytest.raises(StoreError, match="in use by another"):
            Store.open(path)
    finally:
        os.kill(holder.pid, signal.SIGTERM)
        holder.wait()


def test_run_drops_worker_lookup_indexes(tmp_path: Path) -> None:
    loaded = make_project(tmp_path)
    with Store.open(loaded.resolve(loaded.project.store.path)) as store:
        ensure_lookup_indexes(store.connection)
    run_once(loaded)
    names = {row[0] for row in query(loaded, "SELECT index_name FROM duckdb_indexes()")}
    assert not names & set(LOOKUP_INDEXES)


PARQUET_PROJECT = """\
name: range-test
sources:
  - name: warehouse
    kind: parquet
    path: people.parquet
    primary_key: id
    fields:
      email: email
      birth_date: born
"""


def write_people(folder: Path, born: list[int]) -> LoadedProject:
    table = pa.table(
        {
            "id": ["p1", "p2"],
            "email": ["ann@example.org", "bob@example.org"],
            "born": pa.array(born, type=pa.date32()),
        }
    )
    pq.write_table(table, folder / "people.parquet")
    (folder / "accord.yaml").write_text(PARQUET_PROJECT, encoding="utf-8")
    return load_project(folder / "accord.yaml")


def test_date_beyond_year_9999_is_quarantined(tmp_path: Path) -> None:
    loaded = write_people(tmp_path, [7_000, 7_001])
    run_once(loaded)
    before = query(loaded, "SELECT source_key, version, data FROM source_records ORDER BY 1")

    summary = run_once(write_people(tmp_path, [3_000_000, 7_001]))

    warehouse = by_source(summary)["warehouse"]
    assert warehouse.quarantined == 1
    assert warehouse.deleted == 0
    after = query(loaded, "SELECT source_key, version, data FROM source_records ORDER BY 1")
    assert after == before
    rows = query(loaded, "SELECT source_key, rule, field, value, reason FROM quarantine")
    assert [row[:4] for row in rows] == [("p1", "out_of_range", "born", "+10183-09-21")]
    assert "column 'born'" in rows[0][4]


EXPRESSION_PROJECT = """\
name: expression-test
extra_fields:
  age: {type: integer}
sources:
  - name: crm
    kind: csv
    path: crm.csv
    primary_key: id
    fields:
      email: email
      age:
        expr: CAST(age AS INTEGER)
"""


def test_expression_failing_on_one_row_quarantines_it(tmp_path: Path) -> None:
    (tmp_path / "crm.csv").write_text(
        "id,email,age\n1,ann@example.org,41\n2,bob@example.org,forty-one\n3,cy@example.org,7\n",
        encoding="utf-8",
    )
    (tmp_path / "accord.yaml").write_text(EXPRESSION_PROJECT, encoding="utf-8")
    loaded = load_project(tmp_path / "accord.yaml")

    summary = run_once(loaded)

    crm = by_source(summary)["crm"]
    assert crm.new == 2
    assert crm.quarantined == 1
    rows = query(loaded, "SELECT source_key, rule, field, value, reason FROM quarantine")
    assert [row[:4] for row in rows] == [("2", "expression", "age", '{"age":"forty-one"}')]
    assert "CAST(age AS INTEGER)" in rows[0][4]
    stored = query(loaded, "SELECT source_key, data->>'age' FROM source_records ORDER BY 1")
    assert stored == [("1", "41"), ("3", "7")]


PARTS_CRM = """\
id,first,last,email,phone,stage,updated_at
1,Ada,Lovelace,ada@analytical.org,+1 415 555 0100,Customer,2024-01-01T00:00:00
2,Alan,Turing,alan@analytical.org,(415) 555-0101,Lead,2024-01-02T00:00:00
3,Grace,Hopper,,,Lead,2024-01-03T00:00:00
1,Ada,Byron,ada.b@analytical.org,,Lead,2024-01-04T00:00:00
4,Edsger,Dijkstra,edsger@analytical.org,,Prospect,2024-01-04T00:00:00
2,Alan,T.,,,Lead,2024-01-05T00:00:00
5,Barbara,Liskov,barbara@analytical.org,,Customer,2024-01-06T00:00:00
"""


def stored_outcome(loaded: LoadedProject) -> tuple[list[Any], list[Any], list[Any]]:
    records = query(loaded, "SELECT source, source_key, raw, data FROM source_records ORDER BY 2")
    quarantine = query(
        loaded,
        "SELECT source, source_key, location, rule, field, value, reason FROM quarantine "
        "ORDER BY 1, 3, 4",
    )
    golden = query(loaded, "SELECT entity_id, field, value FROM golden_values ORDER BY 1, 2")
    return records, quarantine, golden


@pytest.mark.parametrize("part_rows", [1, 2, 3])
def test_run_in_parts_matches_one_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, part_rows: int
) -> None:
    (tmp_path / "whole").mkdir()
    (tmp_path / "parts").mkdir()
    whole = make_project(tmp_path / "whole", crm=PARTS_CRM)
    run_once(whole)
    monkeypatch.setattr("accord.pipeline.PROCESS_ROWS", part_rows)
    parts = make_project(tmp_path / "parts", crm=PARTS_CRM)
    run_once(parts)

    records, quarantine, golden = stored_outcome(parts)
    assert records == stored_outcome(whole)[0]
    assert quarantine == stored_outcome(whole)[1]
    assert golden == stored_outcome(whole)[2]
    assert len(records) == 4
    assert len(quarantine) == 5


def test_duplicate_key_across_parts_quarantined(tmp_path: Path) -> None:
    source = make_project(tmp_path).project.source("billing")
    project = make_project(tmp_path).project
    first = pa.table({
        "cid": ["b1", "b2"],
        "name": ["Ada", "Alan"],
        "email": ["a@x.org", "b@x.org"],
        "status": ["active", "active"],
    })
    second = pa.table({
        "cid": ["b3", "b1"],
        "name": ["Grace", "Ada L."],
        "email": ["c@x.org", "d@x.org"],
        "status": ["active", "canceled"],
    })
    seen: dict[str, int] = {}

    process_rows(project, source, first, row_numbers=[0, 1], seen_keys=seen)
    batch = process_rows(project, source, second, row_numbers=[2, 3], seen_keys=seen)

    assert batch.accepted.column("source_key").to_pylist() == ["b3"]
    [entry] = batch.quarantine
    assert entry.rule == "duplicate_key"
    assert entry.location == "row 4"
    assert "first seen at row 1" in entry.reason
    assert seen == {"b1": 0, "b2": 1, "b3": 2}
