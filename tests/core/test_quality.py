"""Declarative quality rules."""

from __future__ import annotations

from typing import Any

import pytest

from accord.config.models import QualityRule
from accord.quality import check_rules

COLUMNS: dict[str, list[Any]] = {
    "email": ["a@example.com", None, "bad", ""],
    "phone": [None, "+61298765432", None, None],
    "mrr": [10.0, -1.0, None, "x"],
    "plan": ["pro", "free", "gold", None],
}


@pytest.mark.parametrize(
    ("rule", "failing_rows"),
    [
        ({"rule": "required", "field": "email"}, [1, 3]),
        ({"rule": "pattern", "field": "email", "pattern": r"[^@]+@[^@]+"}, [2]),
        ({"rule": "allowed", "field": "plan", "values": ["pro", "free"]}, [2]),
        ({"rule": "allowed", "field": "plan", "values": ["PRO", "Free"]}, [2]),
        ({"rule": "range", "field": "mrr", "min": 0}, [1, 3]),
        ({"rule": "range", "field": "mrr", "max": 5}, [0, 3]),
        ({"rule": "one_of_present", "fields": ["email", "phone"]}, [3]),
    ],
)
def test_rule_failures(rule: dict[str, Any], failing_rows: list[int]) -> None:
    issues = check_rules([QualityRule.model_validate(rule)], COLUMNS, 4, "crm")
    assert [issue.row for issue in issues] == failing_rows


def test_rule_limited_to_sources() -> None:
    rule = QualityRule.model_validate({"rule": "required", "field": "email",
                                       "sources": ["billing"]})
    assert check_rules([rule], COLUMNS, 4, "crm") == []


def test_issue_carries_rule_field_and_value() -> None:
    rule = QualityRule.model_validate({"rule": "pattern", "field": "email", "pattern": ".+@.+",
                                       "name": "email_shape"})
    issue = check_rules([rule], COLUMNS, 4, "crm")[0]
    assert issue.rule == "email_shape"
    assert issue.field == "email"
    assert issue.value == "bad"
    assert "does not match" in issue.reason


@pytest.mark.parametrize(
    "rule",
    [
        {"rule": "pattern", "field": "email"},
        {"rule": "range", "field": "mrr"},
        {"rule": "one_of_present"},
        {"rule": "pattern", "field": "email", "pattern": "("},
    ],
)
def test_incomplete_rule_rejected(rule: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        QualityRule.model_validate(rule)
