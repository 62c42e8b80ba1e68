"""Rich tables and exports for the CLI."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from accord.export import check_output_file
from accord.pipeline import RunSummary
from accord.store.duckdb_store import Store
from accord.store.queries import RecordView, latest_runs, quarantine_rows, source_stats

_NAME_FIELDS = ("full_name", "first_name", "last_name", "email", "phone", "company_name")


def run_summary(console: Console, summary: RunSummary) -> None:
    """Print the per-source counts of a run."""
    table = Table(title=f"run {summary.run_id}")
    for column in (
        "source",
        "read",
        "new",
        "changed",
        "unchanged",
        "deleted",
        "stale",
        "quarantined",
        "stored",
    ):
        table.add_column(column, justify="left" if column == "source" else "right")
    totals = [0] * 8
    for item in summary.sources:
        values = [
            item.read,
            item.new,
            item.changed,
            item.unchanged,
            item.deleted,
            item.stale,
            item.quarantined,
            item.stored,
        ]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        table.add_row(item.source, *(str(v) for v in values))
    table.add_row("total", *(str(v) for v in totals), style="bold")
    console.print(table)
    for item in summary.sources:
        if item.warnings:
            counts = ", ".join(f"{field} {count}" for field, count in sorted(item.warnings.items()))
            console.print(f"{item.source}: invalid values stored as null: {counts}")
    for key, value in summary.extra.items():
        console.print(f"{key}: {value}")


def _short(data: dict[str, Any]) -> str:
    name = data.get("full_name") or " ".join(
        str(data[k]) for k in ("first_name", "last_name") if data.get(k)
    )
    parts = [name, data.get("email"), data.get("phone")]
    return " | ".join(str(p) for p in parts if p)


def record_list(console: Console, records: list[RecordView]) -> None:
    """Print records one per line."""
    table = Table()
    for column in ("source", "key", "summary"):
        table.add_column(column)
    for record in records:
        table.add_row(record.source, record.source_key, _short(record.data))
    console.print(table)


def records(console: Console, found: list[RecordView]) -> None:
    """Print every canonical value of each record."""
    for record in found:
        state = "deleted" if record.deleted else "live"
        table = Table(
            title=f"{record.source}:{record.source_key} (version {record.version}, {state})"
        )
        table.add_column("field")
        table.add_column("value")
        for name, value in sorted(record.data.items()):
            if value is not None:
                table.add_row(name, str(value))
        console.print(table)


def customer(console: Console, store: Store, key: str) -> bool:
    """Print an entity and its golden record; return False when the store has no entities."""
    if not store.table_exists("entities"):
        return False
    from accord.cli.entity_view import print_entity

    return print_entity(console, store, key)


def stats(console: Console, store: Store) -> None:
    """Print per-source counts and the latest runs."""
    table = Table(title="sources")
    for column in ("source", "live", "deleted", "versions", "quarantined"):
        table.add_column(column, justify="left" if column == "source" else "right")
    for row in source_stats(store.connection):
        table.add_row(
            *(str(row[k]) for k in ("source", "live", "deleted", "versions", "quarantined"))
        )
    console.print(table)
    runs = Table(title="latest runs")
    for column in ("run_id", "started_at", "finished_at", "status"):
        runs.add_column(column)
    for run in latest_runs(store.connection):
        runs.add_row(*(str(run[k]) for k in ("run_id", "started_at", "finished_at", "status")))
    console.print(runs)


def quarantine_table(console: Console, rows: list[dict[str, Any]]) -> None:
    """Print quarantine entries."""
    if not rows:
        console.print("quarantine is empty")
        return
    table = Table(title="quarantine")
    for column in ("source", "source_key", "location", "rule", "field", "value", "reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            *(
                str(row[k]) if row[k] is not None else ""
                for k in ("source", "source_key", "location", "rule", "field", "value", "reason")
            )
        )
    console.print(table)


def export_quarantine(store: Store, path: Path, source: str | None) -> int:
    """Write every quarantine entry to a CSV file and return how many were written.

    Raises:
        OutputPathError: if ``path`` cannot take a file; see :func:`check_output_file`.
    """
    check_output_file(path)
    rows = quarantine_rows(store.connection, source)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(
            handle,
            fieldnames=[
                "run_id",
                "source",
                "source_key",
                "location",
                "rule",
                "field",
                "value",
                "reason",
            ],
        )
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def export_records(store: Store, path: Path, file_format: str) -> int:
    """Export golden records when they exist, else current source records."""
    from accord.export import export_table

    return export_table(store, path, file_format)


def truth_scores(console: Console, store: Store, truth: Path) -> None:
    """Print pairwise and B-cubed scores of the current entities against ground truth."""
    from accord.truth import score_store

    scores = score_store(store, truth)
    table = Table(title=f"accuracy against {truth.name}")
    table.add_column("measure")
    table.add_column("precision", justify="right")
    table.add_column("recall", justify="right")
    table.add_column("F1", justify="right")
    table.add_row(
        "pairwise",
        f"{scores.pair_precision:.4f}",
        f"{scores.pair_recall:.4f}",
        f"{scores.pair_f1:.4f}",
    )
    table.add_row(
        "B-cubed",
        f"{scores.bcubed_precision:.4f}",
        f"{scores.bcubed_recall:.4f}",
        f"{scores.bcubed_f1:.4f}",
    )
    console.print(table)
    console.print(
        f"{scores.records} records scored: {scores.predicted_clusters} entities found, "
        f"{scores.true_clusters} true customers"
    )
