"""Conversion of driver and Arrow values to the plain values that readers return."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import pyarrow as pa
import pytest

from accord.sources.values import (
    OutOfRange,
    Plain,
    clock_text,
    column_array,
    concat_columns,
    interval_text,
    normalize_column,
    plain_decimal,
    to_plain,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("12345678901234567890"), 12345678901234567890),
        (Decimal("12345678901234567891"), 12345678901234567891),
        (Decimal("-170141183460469231731687303715884105728"), -(2**127)),
        (Decimal("1E+3"), 1000),
        (Decimal("1.50"), 1.5),
        (Decimal("0.10"), 0.1),
        (Decimal("5.00"), 5.0),
        (Decimal("-0.000000000000000000001"), -1e-21),
        (Decimal("12345678901234567.25"), "12345678901234567.25"),
        (Decimal("1234567890123456.780"), "1234567890123456.78"),
        (Decimal("0.1000000000000000055511151231257827"), "0.1000000000000000055511151231257827"),
    ],
)
def test_plain_decimal_keeps_digits(value: Decimal, expected: Plain) -> None:
    plain = plain_decimal(value)

    assert plain == expected
    assert type(plain) is type(expected)


def test_plain_decimal_nan_is_float() -> None:
    plain = plain_decimal(Decimal("NaN"))

    assert isinstance(plain, float)
    assert math.isnan(plain)


def test_to_plain_converts_decimal() -> None:
    assert to_plain(Decimal("12345678901234567891")) == 12345678901234567891


@pytest.mark.parametrize(
    ("values", "kind", "expected"),
    [
        ([1, None, 2**63 - 1], pa.int64(), [1, None, 2**63 - 1]),
        ([2**63, 1], pa.string(), ["9223372036854775808", "1"]),
        ([12345678901234567891, None], pa.string(), ["12345678901234567891", None]),
        ([2**53, 0.5], pa.float64(), [2.0**53, 0.5]),
        ([-(2**53), 0.5], pa.float64(), [-(2.0**53), 0.5]),
        ([2**53 + 1, 0.5], pa.string(), ["9007199254740993", "0.5"]),
        ([0.5, "12345678901234567.25"], pa.string(), ["0.5", "12345678901234567.25"]),
    ],
)
def test_column_array_keeps_integer_digits(
    values: list[Plain], kind: pa.DataType, expected: list[Plain]
) -> None:
    array = column_array(values)

    assert array.type == kind
    assert array.to_pylist() == expected


@pytest.mark.parametrize(
    ("integers", "kind", "expected"),
    [
        ([1, 2**53], pa.float64(), [1.0, 2.0**53, 0.5]),
        ([1, 2**53 + 1], pa.string(), ["1", "9007199254740993", "0.5"]),
        ([None, -(2**63)], pa.string(), [None, "-9223372036854775808", "0.5"]),
    ],
)
def test_concat_columns_keeps_integer_digits(
    integers: list[int | None], kind: pa.DataType, expected: list[Plain]
) -> None:
    chunks = [pa.array(integers, pa.int64()), pa.array([0.5], pa.float64())]

    column = concat_columns(chunks)

    assert column.type == kind
    assert column.to_pylist() == expected


CLOCK_TEXTS = [
    (pa.date32(), 3_000_000, "+10183-09-21"),
    (pa.date32(), -800_000, "-0221-09-04"),
    (pa.date32(), 2_932_896, "9999-12-31"),
    (pa.date32(), 2**31 - 1, "infinity"),
    (pa.date32(), -(2**31 - 1), "-infinity"),
    (pa.date64(), 3_000_000 * 86_400_000, "+10183-09-21"),
    (pa.timestamp("us"), 2**63 - 1, "infinity"),
    (pa.timestamp("us", tz="UTC"), -(2**63 - 1), "-infinity"),
    (pa.timestamp("s"), 3_000_000 * 86_400 + 3_723, "+10183-09-21T01:02:03"),
    (pa.timestamp("ns", tz="UTC"), 1_500_000_001, "1970-01-01T00:00:01.500000001+00:00"),
    (pa.timestamp("ms"), -86_400_000 * 719_163, "0000-12-31T00:00:00"),
    (pa.time64("us"), 86_400_000_000, "24:00:00"),
]


@pytest.mark.parametrize(("kind", "raw", "expected"), CLOCK_TEXTS)
def test_clock_text_beyond_python_range(kind: pa.DataType, raw: int, expected: str) -> None:
    assert clock_text(kind, raw) == expected


def test_clock_text_matches_python_dates() -> None:
    epoch = dt.date(1970, 1, 1)
    for day in range(-719_162, 2_932_897, 997):
        assert clock_text(pa.date32(), day) == (epoch + dt.timedelta(days=day)).isoformat()


def test_normalize_column_reports_out_of_range() -> None:
    column = pa.chunked_array([pa.array([0, None, 3_000_000, 2**31 - 1], pa.date32())])
    found: OutOfRange = {}

    plain = normalize_column(column, found)

    assert plain.to_pylist() == ["1970-01-01", None, "+10183-09-21", "infinity"]
    assert found == {2: "+10183-09-21", 3: "infinity"}


@pytest.mark.parametrize(
    ("months", "days", "nanoseconds", "expected"),
    [
        (14, 3, 14_706_500_000_000, "P1Y2M3DT4H5M6.5S"),
        (0, -3, 0, "P-3D"),
        (-14, 3, -14_706_000_000_000, "P-1Y-2M3DT-4H-5M-6S"),
        (0, 0, 0, "PT0S"),
        (0, 0, 1, "PT0.000000001S"),
        (0, 0, -500_000_000, "PT-0.5S"),
        (12, 0, 3_600_000_000_000, "P1YT1H"),
    ],
)
def test_interval_text_is_iso_8601(months: int, days: int, nanoseconds: int, expected: str) -> None:
    assert interval_text(months, days, nanoseconds) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.timedelta(days=1, hours=2), "P1DT2H"),
        (dt.timedelta(seconds=-1.5), "PT-1.5S"),
        (dt.timedelta(days=-1, hours=2), "PT-22H"),
        (dt.timedelta(days=-2, hours=-3), "P-2DT-3H"),
        (dt.timedelta(0), "PT0S"),
    ],
)
def test_timedelta_becomes_iso_duration(value: dt.timedelta, expected: str) -> None:
    assert to_plain(value) == expected


def test_interval_column_becomes_text() -> None:
    values = [pa.MonthDayNano([1, 2, 3_000_000_000]), None]
    column = pa.chunked_array([pa.array(values, pa.month_day_nano_interval())])

    assert normalize_column(column).to_pylist() == ["P1M2DT3S", None]
