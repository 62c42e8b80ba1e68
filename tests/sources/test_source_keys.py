"""Source keys: make_source_key and the keys readers compute with Arrow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.sources.base import make_source_key, value_text
from accord.sources.records import row_keys

KEYS = [
    (["12"], "12"),
    ([12], "12"),
    ([12.0], "12"),
    ([12.5], "12.5"),
    ([1e16], "10000000000000000"),
    ([Decimal("12.00")], "12"),
    ([Decimal("12.50")], "12.5"),
    ([Decimal("12345678901234567890123456789.50")], "12345678901234567890123456789.5"),
    ([Decimal("0.1000000000000000055511151231257827")], "0.1000000000000000055511151231257827"),
    ([Decimal("12345678901234567891")], "12345678901234567891"),
    ([True], "true"),
    ([dt.date(2024, 1, 2)], "2024-01-02"),
    (["a|b"], "a|b"),
    (["EU", 7], "EU|7"),
    (["a|b", "c"], "a\\|b|c"),
    (["a\\", "b"], "a\\\\|b"),
    (["", "x"], "|x"),
]


@pytest.mark.parametrize(("values", "expected"), KEYS)
def test_make_source_key(values: list[object], expected: str) -> None:
    assert make_source_key(values) == expected


def test_make_source_key_needs_values() -> None:
    with pytest.raises(ValueError, match="at least one"):
        make_source_key([])


def test_value_text_of_none_is_empty() -> None:
    assert value_text(None) == ""


@given(st.lists(st.text(), min_size=2, max_size=4), st.lists(st.text(), min_size=2, max_size=4))
def test_composite_keys_are_unambiguous(first: list[str], second: list[str]) -> None:
    if first != second:
        assert make_source_key(first) != make_source_key(second)


KEY_TABLES = [
    ("strings", pa.table({"id": ["a|1", " 7", "x\\y"]}), ["id"]),
    ("integers", pa.table({"id": pa.array([1, -2, 2**40], pa.int64())}), ["id"]),
    ("floats", pa.table({"id": [1.0, 2.5, 1e16]}), ["id"]),
    ("booleans", pa.table({"id": [True, False, True]}), ["id"]),
    (
        "composite",
        pa.table({"region": ["EU|X", "a\\", "US"], "id": pa.array([1, 2, 3], pa.int64())}),
        ["region", "id"],
    ),
]


@pytest.mark.parametrize(("label", "table", "columns"), KEY_TABLES, ids=[k[0] for k in KEY_TABLES])
def test_row_keys_match_make_source_key(label: str, table: pa.Table, columns: list[str]) -> None:
    values = [table.column(name).to_pylist() for name in columns]
    expected = [make_source_key(row) for row in zip(*values, strict=True)]

    assert row_keys(table, columns) == expected


def test_row_keys_mark_missing_values() -> None:
    table = pa.table({"a": ["x", None, "y", "  "], "b": pa.array([1, 2, None, 4], pa.int64())})

    assert row_keys(table, ["a", "b"]) == ["x|1", None, None, None]
    assert row_keys(table, ["a"]) == ["x", None, "y", None]
