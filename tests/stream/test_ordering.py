"""Cursor order of stream changes: which of two cursor values is older."""

from __future__ import annotations

from typing import Any

import pytest

from accord.store.staleness import is_older


@pytest.mark.parametrize(
    ("value", "reference", "older"),
    [
        (1, 2, True),
        ("10", "9", False),
        ("1800000000000000001", "1800000000000000002", True),
        ("1800000000000000002", 1800000000000000001, False),
        ("9223372036854775809", "9223372036854775808", False),
        (1.5, "2", True),
        ("1e3", "999", False),
        ("nan", "1", True),
        ("2024-01-01T00:00:00", "2024-01-02T00:00:00", True),
        ("2024-01-01T01:00:00+02:00", "2024-01-01T00:00:00Z", True),
        ("2024-01-01T00:00:00Z", "2023-12-31T23:00:00-02:00", True),
        ("2099-12-31T23:59:59", "yesterday", False),
        ("yesterday", "2024-01-01T00:00:00", True),
        ("b", "a", False),
        ("a", "b", True),
        (None, "2024-01-01", False),
        ("2024-01-01", None, False),
        ("", "2024-01-01", False),
    ],
)
def test_is_older(value: Any, reference: Any, older: bool) -> None:
    assert is_older(value, reference) is older
