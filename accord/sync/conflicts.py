"""Conflicts: a tool's current value differs from a golden value chosen by an authority.

A golden value is chosen by an authority when its field's survivorship
starts with ``source_priority`` and the value came from the first source
listed, or when ``source_priority`` is the rule that chose it. A member
record of another source (a tool) whose standardized value of that field
is present and differs is a conflict. Sync fixes a conflict by writing the
golden value to a destination keyed by that tool's records.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb

from accord.config.models import Project
from accord.export import check_output_file
from accord.sync.sqltext import literal

CONFLICT_COLUMNS = (
    "entity_id",
    "field",
    "tool",
    "source_key",
    "tool_value",
    "golden_value",
    "golden_source",
    "rule",
)


@dataclass(frozen=True)
class Conflict:
    """One tool record whose value of one field differs from the authoritative golden value."""

    entity_id: str
    field: str
    tool: str
    source_key: str
    tool_value: str
    golden_value: str | None
    golden_source: str
    rule: str


@dataclass
class ConflictGroup:
    """Conflicts of one field in one tool: their count and a few examples."""

    field: str
    tool: str
    count: int = 0
    examples: list[Conflict] = dataclasses.field(default_factory=list)


def authority_pairs(project: Project) -> list[tuple[str, str]]:
    """Return (field, source) for each field whose survivorship puts that source first."""
    pairs = []
    for name, spec in project.survivorship.fields.items():
        if spec.rules[0] == "source_priority" and spec.sources:
            pairs.append((name, spec.sources[0]))
    return pairs


def _pairs_table(pairs: list[tuple[str, str]], first: str, second: str) -> str:
    if not pairs:
        return f"SELECT NULL::VARCHAR AS {first}, NULL::VARCHAR AS {second} WHERE FALSE"
    values = ", ".join(f"({literal(a)}, {literal(b)})" for a, b in pairs)
    return f"SELECT * FROM (VALUES {values}) AS t({first}, {second})"


def conflicts_sql(project: Project) -> str:
    """Return a SELECT of every conflict, with the columns of :data:`CONFLICT_COLUMNS`.

    A conflict that a sync fixed after the tool's record was last read is
    left out: the store still has the old value until the next read, but
    the tool has the golden value.
    """
    authority = _pairs_table(authority_pairs(project), "field", "source")
    keyed = [(d.name, d.key.source) for d in project.destinations if d.key.source is not None]
    writers = _pairs_table(keyed, "destination", "source")
    return f"""
        WITH authority AS ({authority}),
        writers AS ({writers}),
        fixed AS (
            SELECT w.source AS tool, o.record_key, f.field, max(o.sent_at) AS sent_at
            FROM sync_outbox o
            JOIN writers w ON w.destination = o.destination,
                 unnest(CAST(o.fixes AS VARCHAR[])) AS f(field)
            WHERE o.status = 'sent'
            GROUP BY ALL),
        authoritative AS (
            SELECT g.entity_id, g.field, g.value, g.source, g.rule
            FROM golden_values g
            WHERE g.source IS NOT NULL AND (
                g.rule = 'source_priority'
                OR EXISTS (SELECT 1 FROM authority a
                           WHERE a.field = g.field AND a.source = g.source))),
        observed AS (
            SELECT a.entity_id, a.field, m.source AS tool, m.source_key,
                   json_extract_string(r.data, '$."' || a.field || '"') AS tool_value,
                   json_extract_string(a.value, '$') AS golden_value,
                   a.source AS golden_source, a.rule, r.changed_at
            FROM authoritative a
            JOIN entity_members m ON m.entity_id = a.entity_id AND m.source <> a.source
            JOIN source_records r ON r.source = m.source AND r.source_key = m.source_key
            WHERE r.deleted_at IS NULL)
        SELECT entity_id, field, tool, source_key, tool_value, golden_value, golden_source, rule
        FROM observed o
        WHERE tool_value IS NOT NULL AND tool_value <> ''
          AND tool_value IS DISTINCT FROM golden_value
          AND NOT EXISTS (
              SELECT 1 FROM fixed x
              WHERE x.tool = o.tool AND x.record_key = o.source_key AND x.field = o.field
                AND x.sent_at > o.changed_at)
    """


def find_conflicts(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    field: str | None = None,
    tool: str | None = None,
) -> list[Conflict]:
    """Return the conflicts, optionally of one field or one tool, by field, tool and key."""
    conditions = []
    params: list[str] = []
    if field is not None:
        conditions.append("field = ?")
        params.append(field)
    if tool is not None:
        conditions.append("tool = ?")
        params.append(tool)
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    rows = connection.execute(
        f"SELECT * FROM ({conflicts_sql(project)}) {where} ORDER BY field, tool, source_key",
        params,
    ).fetchall()
    return [Conflict(*row) for row in rows]


def group_conflicts(conflicts: list[Conflict], examples: int = 3) -> list[ConflictGroup]:
    """Group conflicts by field and tool, keeping up to ``examples`` of each, largest first."""
    groups: dict[tuple[str, str], ConflictGroup] = defaultdict(lambda: ConflictGroup("", ""))
    for conflict in conflicts:
        key = (conflict.field, conflict.tool)
        group = groups[key]
        if group.count == 0:
            groups[key] = group = ConflictGroup(conflict.field, conflict.tool)
        group.count += 1
        if len(group.examples) < examples:
            group.examples.append(conflict)
    return sorted(groups.values(), key=lambda g: (-g.count, g.field, g.tool))


def export_conflicts(conflicts: list[Conflict], path: Path) -> int:
    """Write ``conflicts`` to a UTF-8 CSV file with a header and return how many were written.

    Raises:
        OutputPathError: if ``path`` cannot take a file; see :func:`check_output_file`.
    """
    check_output_file(path)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CONFLICT_COLUMNS)
        for conflict in conflicts:
            writer.writerow([getattr(conflict, name) for name in CONFLICT_COLUMNS])
    return len(conflicts)
