"""Time the sync change set of many golden records against the last sync.

Usage::

    python -m bench.bench_sync_diff --records 1000000 --changed 0.01

The script fills a fresh DuckDB store with ``--records`` golden records
(email, phone, plan and subscription status) and records all of them as
sent to an entity-keyed destination. Then it changes the plan of a
``--changed`` share of them and times the two set-based statements that
find the changes: the desired records with one hash each, and the plan
against the sync state. It prints one markdown table row:

    | records | changed | changes found | seconds | machine |
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from accord.config.models import FileDestination, Project
from accord.store.duckdb_store import Store
from accord.sync.desired import DESIRED, build_desired
from accord.sync.plan import PLAN, build_plan
from bench.arguments import positive_int, report_file, share
from bench.datasets import REPO_ROOT
from bench.report import section_heading, write_section

FIELDS = {
    "email": "'\"user' || i || '@example.org\"'",
    "phone": "'\"+1415' || lpad(CAST(i % 10000000 AS VARCHAR), 7, '0') || '\"'",
    "plan": "CASE i % 3 WHEN 0 THEN '\"free\"' WHEN 1 THEN '\"pro\"' ELSE '\"growth\"' END",
    "subscription_status": "CASE i % 4 WHEN 0 THEN '\"canceled\"' ELSE '\"active\"' END",
}


def destination() -> FileDestination:
    """Return the entity-keyed destination that the benchmark diffs against."""
    return FileDestination.model_validate(
        {
            "name": "bench",
            "kind": "parquet",
            "path": "bench.parquet",
            "fields": {name: name for name in FIELDS},
        }
    )


def fill(store: Store, records: int) -> None:
    """Insert ``records`` active person entities with four golden values each."""
    connection = store.connection
    connection.execute(
        """
        INSERT INTO entities
        SELECT 'per_' || lpad(CAST(i AS VARCHAR), 10, '0'), 'person', i, now(), now(),
               'active', NULL
        FROM range(?) AS t(i)
        """,
        [records],
    )
    for field, value in FIELDS.items():
        connection.execute(
            f"""
            INSERT INTO golden_values
            SELECT 'per_' || lpad(CAST(i AS VARCHAR), 10, '0'), ?, CAST({value} AS JSON),
                   'most_recent', 'billing', CAST(i AS VARCHAR), 1, now(), NULL, NULL, 1
            FROM range(?) AS t(i)
            """,
            [field, records],
        )


def record_last_sync(store: Store, project: Project) -> None:
    """Store every desired record as sent, as a completed sync would."""
    connection = store.connection
    build_desired(connection, project, destination())
    connection.execute(
        f"""
        INSERT INTO sync_state
        SELECT 'bench', record_key, entity_id, record, payload_hash, now(), 1 FROM {DESIRED}
        """
    )


def change_plans(store: Store, share: float) -> int:
    """Change the plan of every n-th entity and return how many changed."""
    step = max(1, round(1 / share)) if share > 0 else 0
    if not step:
        return 0
    store.connection.execute(
        """
        UPDATE golden_values SET value = '"enterprise"'
        WHERE field = 'plan' AND CAST(source_key AS BIGINT) % ? = 0
        """,
        [step],
    )
    row = store.connection.execute(
        "SELECT count(*) FROM golden_values WHERE value = '\"enterprise\"'"
    ).fetchone()
    return int(row[0]) if row else 0


def time_change_set(store: Store, project: Project) -> tuple[int, float]:
    """Return the number of planned changes and the seconds the diff took."""
    connection = store.connection
    started = time.perf_counter()
    build_desired(connection, project, destination())
    build_plan(connection, project, destination())
    elapsed = time.perf_counter() - started
    row = connection.execute(
        f"SELECT count(*) FROM {PLAN} WHERE operation IN ('insert', 'update', 'delete')"
    ).fetchone()
    return (int(row[0]) if row else 0), elapsed


def main() -> None:
    """Parse the arguments, run the benchmark and print its markdown row."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=positive_int, default=1_000_000, help="golden records")
    parser.add_argument(
        "--changed", type=share, default=0.01, help="share of records whose plan changes"
    )
    parser.add_argument(
        "--out", type=report_file, default=REPO_ROOT / "docs" / "benchmarks.md", help="report file"
    )
    arguments = parser.parse_args()
    project = Project.model_validate({"sources": []})
    with (
        tempfile.TemporaryDirectory() as folder,
        Store.open(Path(folder) / "bench.duckdb") as store,
    ):
        fill(store, arguments.records)
        record_last_sync(store, project)
        changed = change_plans(store, arguments.changed)
        found, seconds = time_change_set(store, project)
    rows = [
        "| records | changed | changes found | seconds |",
        "| ---: | ---: | ---: | ---: |",
        f"| {arguments.records:,} | {changed:,} | {found:,} | {seconds:.2f} |",
    ]
    print("\n".join(rows))
    heading = section_heading(
        "bench.bench_sync_diff",
        ["--records", str(arguments.records), "--changed", str(arguments.changed)],
    )
    write_section(arguments.out, "sync-diff", [*heading, *rows])
    print(f"wrote the sync-diff section of {arguments.out}")


if __name__ == "__main__":
    main()
