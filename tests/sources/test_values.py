"""Conversion of driver and Arrow values to the plain values that readers return."""

from __future__ import annotations

import math
from decimal import Decimal

import pyarrow as pa
import pytest

from accord.sources.values import Plain, column_array, concat_columns, plain_decimal, to_plain


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
