"""Rich output of sync reports and conflicts for the command line."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from accord.sync.conflicts import ConflictGroup
from accord.sync.report import DestinationReport, SyncReport


def _short(value: object, limit: int = 60) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def print_sync_report(console: Console, report: SyncReport) -> None:
    """Print one table of counts per destination, then the changed fields and examples."""
    title = "sync plan (dry run, nothing sent)" if report.dry_run else f"sync {report.sync_id}"
    table = Table(title=title)
    columns = ["destination", "kind", "mode", "insert", "update", "delete"]
    if not report.dry_run:
        columns += ["resumed", "sent", "rejected", "pending", "fixed"]
    for column in columns:
        table.add_column(column, justify="left" if column in columns[:3] else "right")
    for item in report.destinations:
        cells = [item.destination, item.kind, item.mode, item.inserts, item.updates, item.deletes]
        if not report.dry_run:
            cells += [
                item.resumed,
                item.sent,
                item.rejected,
                item.pending,
                sum(item.fixed.values()),
            ]
        table.add_row(*(str(cell) for cell in cells))
    console.print(table)
    for item in report.destinations:
        _print_details(console, item)


def _print_details(console: Console, item: DestinationReport) -> None:
    if item.error:
        console.print(f"[red]{item.destination}: {item.error}[/red]", highlight=False)
    if item.field_changes:
        fields = ", ".join(f"{change.field} ({change.count})" for change in item.field_changes)
        console.print(f"{item.destination}: fields that change: {fields}", highlight=False)
    for example in item.examples:
        changes = ", ".join(f"{k}={_short(v)}" for k, v in example["changes"].items())
        console.print(
            f"  {example['operation']} {example['key']}: {changes or '(no fields)'}",
            highlight=False,
            markup=False,
        )
    if item.fixed:
        fixed = ", ".join(f"{field} ({count})" for field, count in sorted(item.fixed.items()))
        examples = ", ".join(f"{e['record_key']}:{e['field']}" for e in item.fixed_examples)
        console.print(
            f"{item.destination}: conflicts fixed: {fixed}; for example {examples}",
            highlight=False,
            markup=False,
        )


def print_conflicts(console: Console, groups: list[ConflictGroup]) -> None:
    """Print conflict counts by field and tool, each with a few examples."""
    table = Table(title="conflicts with authoritative golden values")
    for column in ("field", "tool", "count", "examples (key: tool value -> golden value)"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for group in groups:
        examples = "; ".join(
            f"{c.source_key}: {_short(c.tool_value, 30)} -> {_short(c.golden_value or '', 30)} "
            f"({c.golden_source})"
            for c in group.examples
        )
        table.add_row(group.field, group.tool, str(group.count), examples)
    console.print(table)
