"""Cursor selection for incremental reads of files and APIs."""

from __future__ import annotations

import pyarrow as pa
import pytest

from accord.sources.cursor import select_after

CASES = [
    ("number text", pa.array(["9", "10", "100", None]), "9", [False, True, True, False], "100"),
    ("integers", pa.array([9, 10, 100], pa.int64()), "9", [False, True, True], "100"),
    (
        "19-digit ID text",
        pa.array(["1800000000000000001", "1800000000000000002", "1800000000000000000"]),
        "1800000000000000001",
        [False, True, False],
        "1800000000000000002",
    ),
    ("decimal text", pa.array(["1.5", "2.5", "10"]), "2", [False, True, True], "10"),
    (
        "ID text beyond int64",
        pa.array(["1800000000000000003", "9223372036854775808", "9223372036854775809"]),
        "9223372036854775808",
        [False, False, True],
        "9223372036854775809",
    ),
    (
        "integers, since beyond int64",
        pa.array([1, 2], pa.int64()),
        "9223372036854775808",
        [False, False],
        "9223372036854775808",
    ),
    ("integer text, decimal since", pa.array(["9", "10"]), "9.5", [False, True], "10"),
    ("integers and decimal since", pa.array([9, 10], pa.int64()), "9.5", [False, True], "10"),
    ("floats", pa.array([0.5, 1.5, 2.25]), "1", [False, True, True], "2.25"),
    (
        "timestamps with offsets",
        pa.array(["2024-01-01T10:00:00Z", "2024-01-01T11:30:00+02:00", "2024-01-01T10:00:01"]),
        "2024-01-01T10:00:00+00:00",
        [False, False, True],
        "2024-01-01T10:00:01",
    ),
    (
        "dates and since with time",
        pa.array(["2024-01-01", "2024-01-02"]),
        "2024-01-01T12:00:00",
        [False, True],
        "2024-01-02",
    ),
    ("text", pa.array(["apple", "pear", "banana"]), "banana", [False, True, False], "pear"),
    ("mixed falls back to text", pa.array(["10", "9", "x"]), "5", [False, True, True], "x"),
    ("nothing newer", pa.array(["1", "2"]), "2", [False, False], "2"),
    ("all null", pa.array([None, None], pa.string()), "1", [False, False], "1"),
]


@pytest.mark.parametrize(
    ("label", "values", "since", "selected", "cursor"), CASES, ids=[c[0] for c in CASES]
)
def test_select_after(
    label: str, values: pa.Array, since: str, selected: list[bool], cursor: str
) -> None:
    selection = select_after(pa.chunked_array([values]), since)

    assert selection.mask is not None
    assert selection.mask.to_pylist() == selected
    assert selection.cursor == cursor


MAXIMA = [
    ("number text", pa.array(["9", "10", None]), "10"),
    (
        "timestamps",
        pa.array(["2024-01-02T00:00:00+05:00", "2024-01-01T20:00:00Z"]),
        "2024-01-01T20:00:00Z",
    ),
    ("integers", pa.array([3, 1], pa.int64()), "3"),
    ("float that is whole", pa.array([3.0, 1.0]), "3"),
    ("empty", pa.array([], pa.string()), None),
]


@pytest.mark.parametrize(("label", "values", "cursor"), MAXIMA, ids=[m[0] for m in MAXIMA])
def test_full_read_selects_all_and_finds_max(
    label: str, values: pa.Array, cursor: str | None
) -> None:
    selection = select_after(pa.chunked_array([values]), None)

    assert selection.mask is None
    assert selection.cursor == cursor
