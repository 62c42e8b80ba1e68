"""Checks that need the whole project: names that must be unique or must exist."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterator
from pathlib import Path

from accord.config.models import CsvSource, JsonSource, ParquetSource, Project
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
    findings.extend(_unknown_rule_references(project))
    findings.extend(
        _unknown_standardized_fields(project.standardize, canonical_field_names(project))
    )
    findings.extend(_unknown_survivorship_references(project))
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
                    f"unknown canonical field '{target}'{_suggest(target, known)} "
                    "Declare new fields under 'extra_fields'.",
                )


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
