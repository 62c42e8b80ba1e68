"""Checks that need the whole project: names that must be unique or must exist."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from accord.config.models import (
    SUPPRESSION_FIELDS,
    CsvSource,
    DestinationBase,
    JsonSource,
    ParquetSource,
    Project,
    SyncAction,
)
from accord.field_query import parse_expression, parse_sql, structure_problem
from accord.model import CANONICAL_FIELDS
from accord.standardize.config import StandardizeConfig

Loc = tuple[str | int, ...]
Finding = tuple[Loc, str]


def canonical_field_names(project: Project) -> set[str]:
    """Return the canonical fields of the project: the built-in ones plus ``extra_fields``."""
    return set(CANONICAL_FIELDS) | set(project.extra_fields)


def check_project(project: Project, root: Path) -> list[Finding]:
    """Return every cross-reference problem in a project that passed model validation."""
    findings: list[Finding] = []
    findings.extend(_duplicate_sources(project))
    findings.extend(_missing_files(project, root))
    findings.extend(_unknown_targets(project))
    findings.extend(_invalid_expressions(project))
    findings.extend(_unknown_rule_references(project))
    findings.extend(
        _unknown_standardized_fields(project.standardize, canonical_field_names(project))
    )
    findings.extend(_unknown_survivorship_references(project))
    findings.extend(_destination_problems(project))
    findings.extend(_trigger_problems(project))
    return findings


def _unknown_survivorship_references(project: Project) -> Iterator[Finding]:
    known_fields = canonical_field_names(project)
    known_sources = {source.name for source in project.sources}
    for field, rules in project.survivorship.fields.items():
        if field not in known_fields:
            yield (
                ("survivorship", "fields", field),
                f"unknown canonical field '{field}'{_suggest(field, known_fields)}",
            )
        for name in rules.sources or []:
            if name not in known_sources:
                yield (
                    ("survivorship", "fields", field, "sources"),
                    f"unknown source '{name}'{_suggest(name, known_sources)}",
                )


def _suggest(name: str, choices: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


def _duplicate_sources(project: Project) -> Iterator[Finding]:
    first_index: dict[str, int] = {}
    for index, source in enumerate(project.sources):
        if source.name in first_index:
            yield (
                ("sources", index, "name"),
                f"duplicate source name '{source.name}' (also used by "
                f"sources[{first_index[source.name]}]); give each source a unique name",
            )
        else:
            first_index[source.name] = index


def _missing_files(project: Project, root: Path) -> Iterator[Finding]:
    for index, source in enumerate(project.sources):
        if not isinstance(source, CsvSource | JsonSource | ParquetSource):
            continue
        path = Path(os.path.expandvars(source.path)).expanduser()
        full = path if path.is_absolute() else root / path
        if not full.is_file():
            yield (
                ("sources", index, "path"),
                f"file not found: {full}; fix the path (relative paths start at the project "
                "file's folder)",
            )


def _unknown_targets(project: Project) -> Iterator[Finding]:
    known = canonical_field_names(project)
    for index, source in enumerate(project.sources):
        for target in source.fields:
            if target not in known:
                yield (
                    ("sources", index, "fields", target),
                    f"unknown canonical field '{target}'{_suggest(target, known)}. "
                    "Declare new fields under 'extra_fields'.",
                )


def _invalid_expressions(project: Project) -> Iterator[Finding]:
    """Parse every mapping expression with DuckDB, without reading any source."""
    for index, source in enumerate(project.sources):
        for target, mapping in source.fields.items():
            if mapping.expr is None:
                continue
            problem = expression_problem(mapping.expr)
            if problem is not None:
                yield (
                    ("sources", index, "fields", target, "expr"),
                    f"invalid SQL expression {mapping.expr!r}: {problem}",
                )


def expression_problem(expression: str) -> str | None:
    """Return why ``expression`` is not one DuckDB SQL expression, or None when it parses.

    Only the syntax is checked: names of columns and functions are bound
    when the mapping runs.
    """
    if not expression.strip():
        return "it is empty. Write one DuckDB SQL expression, such as lower(email)"
    parsed = parse_expression(expression)
    if parsed.get("error"):
        message = str(parsed.get("error_message") or "it does not parse")
        return f"{message}. Write one DuckDB SQL expression, such as lower(email)"
    # Apart from its select list, the statement must equal a plain SELECT of one
    # value, so text such as "a), (b" or "1) FROM t; SELECT (1" is rejected.
    reference = parse_sql("SELECT (1)")
    if _without_select_list(parsed) != _without_select_list(reference):
        return "it is more than one expression. Write one DuckDB SQL expression"
    problem = structure_problem(expression)
    if problem is not None:
        return f"{problem}. An expression gives one value per record from that record's columns"
    return None


def _without_select_list(parsed: dict[str, Any]) -> list[Any]:
    statements = []
    for statement in parsed.get("statements", []):
        node = dict(statement.get("node", {}))
        select_list = node.pop("select_list", [])
        statements.append((node, len(select_list)))
    return statements


def _unknown_rule_references(project: Project) -> Iterator[Finding]:
    known_fields = canonical_field_names(project)
    known_sources = {source.name for source in project.sources}
    for index, rule in enumerate(project.quality):
        for field in [rule.field, *(rule.fields or [])]:
            if field is not None and field not in known_fields:
                yield (
                    ("quality", index, "field" if field == rule.field else "fields"),
                    f"unknown canonical field '{field}'{_suggest(field, known_fields)}",
                )
        for name in rule.sources or []:
            if name not in known_sources:
                yield (
                    ("quality", index, "sources"),
                    f"unknown source '{name}'{_suggest(name, known_sources)}",
                )


def _unknown_standardized_fields(config: StandardizeConfig, known: set[str]) -> Iterator[Finding]:
    for name in config.fields:
        if name not in known:
            yield (
                ("standardize", "fields", name),
                f"unknown canonical field '{name}'{_suggest(name, known)}",
            )


def _destination_problems(project: Project) -> Iterator[Finding]:
    """Check destination names, their golden fields and their key source."""
    known_sources = {source.name for source in project.sources}
    first_index: dict[str, int] = {}
    for index, destination in enumerate(project.destinations):
        if destination.name in first_index:
            yield (
                ("destinations", index, "name"),
                f"duplicate destination name '{destination.name}' (also used by "
                f"destinations[{first_index[destination.name]}]); give each destination a "
                "unique name",
            )
        else:
            first_index[destination.name] = index
        yield from _destination_fields(project, index, destination)
        key_source = destination.key.source
        if key_source is not None and key_source not in known_sources:
            yield (
                ("destinations", index, "key", "source"),
                f"unknown source '{key_source}'{_suggest(key_source, known_sources)}",
            )


def _destination_fields(
    project: Project, index: int, destination: DestinationBase
) -> Iterator[Finding]:
    if destination.suppression_list is not None:
        known = set(SUPPRESSION_FIELDS)
        kind = "suppression list field"
    else:
        known = canonical_field_names(project)
        kind = "canonical field"
    targets: dict[str, str] = {}
    for field, mapping in destination.fields.items():
        if field not in known:
            yield (
                ("destinations", index, "fields", field),
                f"unknown {kind} '{field}'{_suggest(field, known)}",
            )
        if mapping.to == destination.key.column:
            yield (
                ("destinations", index, "fields", field),
                f"'{mapping.to}' is the key column; map another tool field",
            )
        if mapping.to in targets:
            yield (
                ("destinations", index, "fields", field),
                f"tool field '{mapping.to}' is also written from '{targets[mapping.to]}'",
            )
        targets.setdefault(mapping.to, field)


def _trigger_problems(project: Project) -> Iterator[Finding]:
    """Check trigger names, the fields they watch and the destinations they sync."""
    known_fields = canonical_field_names(project)
    known_destinations = {destination.name for destination in project.destinations}
    seen: set[str] = set()
    for index, trigger in enumerate(project.triggers):
        if trigger.name in seen:
            yield (
                ("triggers", index, "name"),
                f"duplicate trigger name '{trigger.name}'; give each trigger a unique name",
            )
        seen.add(trigger.name)
        field = trigger.when.field
        if field is not None and field not in known_fields:
            yield (
                ("triggers", index, "when", "field"),
                f"unknown canonical field '{field}'{_suggest(field, known_fields)}",
            )
        for action_index, action in enumerate(trigger.actions):
            if not isinstance(action, SyncAction):
                continue
            for name in action.destinations:
                if name not in known_destinations:
                    yield (
                        ("triggers", index, "actions", action_index, "destinations"),
                        f"unknown destination '{name}'{_suggest(name, known_destinations)}",
                    )
