"""Declarative quality rules over canonical columns.

A rule that fails marks the record for quarantine with the rule, the field
and the value; records are never dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from accord.config.models import QualityRule


@dataclass(frozen=True)
class QualityIssue:
    """One failed rule on one row."""

    row: int
    rule: str
    field: str
    value: str | None
    reason: str


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def check_rules(
    rules: list[QualityRule], columns: dict[str, list[Any]], rows: int, source: str
) -> list[QualityIssue]:
    """Return the failures of every rule that applies to ``source``."""
    issues: list[QualityIssue] = []
    for rule in rules:
        if rule.sources is not None and source not in rule.sources:
            continue
        issues.extend(_check(rule, columns, rows))
    return issues


def _check(rule: QualityRule, columns: dict[str, list[Any]], rows: int) -> Iterator[QualityIssue]:
    if rule.rule == "one_of_present":
        fields = rule.fields or []
        lists = [columns.get(field, [None] * rows) for field in fields]
        for row in range(rows):
            if not any(_present(values[row]) for values in lists):
                message = f"none of {', '.join(fields)} is present"
                yield QualityIssue(row, rule.label, "+".join(fields), None, message)
        return
    field: str = rule.field or ""
    values = columns.get(field, [None] * rows)
    pattern = re.compile(rule.pattern) if rule.pattern else None
    allowed = {str(v).casefold() for v in rule.values or []}
    for row, value in enumerate(values):
        reason = _failure(rule, value, pattern, allowed)
        if reason is not None:
            shown = None if value is None else str(value)[:200]
            yield QualityIssue(row, rule.label, field, shown, reason)


def _failure(
    rule: QualityRule, value: Any, pattern: re.Pattern[str] | None, allowed: set[str]
) -> str | None:
    field = rule.field
    if rule.rule == "required":
        return None if _present(value) else f"'{field}' is required but missing"
    if not _present(value):
        return None
    if rule.rule == "pattern" and pattern is not None and not pattern.fullmatch(str(value)):
        return f"'{field}' does not match pattern {rule.pattern!r}"
    if rule.rule == "allowed" and str(value).casefold() not in allowed:
        choices = ", ".join(str(v) for v in rule.values or [])
        return f"'{field}' value is not one of: {choices}"
    if rule.rule == "range":
        return _range_failure(rule, value)
    return None


def _range_failure(rule: QualityRule, value: Any) -> str | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"'{rule.field}' is not a number"
    if rule.min is not None and number < rule.min:
        return f"'{rule.field}' is below the minimum {rule.min:g}"
    if rule.max is not None and number > rule.max:
        return f"'{rule.field}' is above the maximum {rule.max:g}"
    return None
