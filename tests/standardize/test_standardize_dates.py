"""Dates and timestamps."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.standardize.dates import DateContext, standardize_date, standardize_timestamp
from accord.standardize.text import clean_text

TODAY = dt.date(2026, 1, 15)


def context(order: str | None = None, kind: str | None = None) -> DateContext:
    return DateContext(order, kind, TODAY)  # type: ignore[arg-type]


# (value, date_order, kind, expected ISO date)
VALID_CASES = [
    ("2020-03-04", None, None, "2020-03-04"),
    ("2020/03/04", None, None, "2020-03-04"),
    ("2020-3-4", None, None, "2020-03-04"),
    ("2020-03-04T10:15:00Z", None, None, "2020-03-04"),
    ("20200304", None, None, "2020-03-04"),
    ("03/04/2020", "MDY", None, "2020-03-04"),
    ("03/04/2020", "DMY", None, "2020-04-03"),
    ("4.3.2020", "DMY", None, "2020-03-04"),
    ("13/04/2020", None, None, "2020-04-13"),
    ("04/13/2020", None, None, "2020-04-13"),
    ("04/04/2020", None, None, "2020-04-04"),
    ("03-04-20", "MDY", None, "2020-03-04"),
    ("20/03/04", "YMD", None, "2020-03-04"),
    ("March 4, 2020", None, None, "2020-03-04"),
    ("4 March 2020", None, None, "2020-03-04"),
    ("4-Mar-20", None, None, "2020-03-04"),
    ("Wednesday, 4th of March 2020", None, None, "2020-03-04"),
    ("4 mars 2020", None, None, "2020-03-04"),
    ("4. März 2020", None, None, "2020-03-04"),
    ("4 de marzo de 2020", None, None, "2020-03-04"),
    ("Sept 9 1999", None, None, "1999-09-09"),
    ("43894", None, None, "2020-03-04"),
    (43894, None, None, "2020-03-04"),
    (43894.75, None, None, "2020-03-04"),
    ("59", None, None, "1900-02-28"),
    ("61", None, None, "1900-03-01"),
    (1583280000, None, None, "2020-03-04"),
    ("1583280000000", None, None, "2020-03-04"),
    (20200304, None, None, "2020-03-04"),
    (dt.date(1990, 5, 6), None, "birth", "1990-05-06"),
    (dt.datetime(2020, 3, 4, 23, 59), None, None, "2020-03-04"),
    ("01/02/85", "MDY", "birth", "1985-01-02"),
    ("01/02/15", "MDY", "birth", "2015-01-02"),
    ("01/02/46", "MDY", None, "2046-01-02"),
    ("01/02/47", "MDY", None, "1947-01-02"),
    ("2024-02-29", None, "birth", "2024-02-29"),
    ("1900-01-01", None, "birth", "1900-01-01"),
]


@pytest.mark.parametrize(("value", "order", "kind", "expected"), VALID_CASES)
def test_valid_date_cases(
    value: object, order: str | None, kind: str | None, expected: str
) -> None:
    raw = clean_text(value) if isinstance(value, str) else value
    assert standardize_date(raw, context(order, kind)).value == expected


INVALID_CASES = [
    ("03/04/2020", None, None, "ambiguous date '03/04/2020': set date_order on the source"),
    ("03/04/20", None, None, "ambiguous date"),
    ("2020-02-30", None, None, "day 30 is out of range for February 2020"),
    ("2023-02-29", None, None, "day 29 is out of range for February 2023"),
    ("13/13/2020", None, None, "month 13 is out of range"),
    ("13/04/2020", "MDY", None, "month 13 is out of range"),
    ("1850-01-01", None, "birth", "is before 1900"),
    ("2090-01-01", None, "birth", "is in the future"),
    ("2026-01-16", None, "birth", "is in the future"),
    ("60", None, None, "1900-02-29, which does not exist"),
    ("0", None, None, "Excel serial numbers start at 1"),
    ("March 2020", None, None, "expected a day and a year"),
    ("foo", None, None, "unrecognized word 'foo'"),
    ("12/2020", None, None, "expected a day, a month and a year"),
    ("1234567", None, None, "not YYYYMMDD"),
    ("20201340", None, None, "month 13 is out of range"),
    (True, None, None, "a boolean"),
    (float("inf"), None, None, "not a finite number"),
    ("", None, None, "expected a day, a month and a year"),
]


@pytest.mark.parametrize(("value", "order", "kind", "reason_part"), INVALID_CASES)
def test_invalid_date_cases(
    value: object, order: str | None, kind: str | None, reason_part: str
) -> None:
    outcome = standardize_date(value, context(order, kind))
    assert outcome.value is None
    assert reason_part in str(outcome.reason)


# (value, kind, expected key): a rejected date keeps its digits as the key
# only when written year first, where the order of its parts is certain.
DATE_KEY_CASES = [
    ("2020-03-04", None, "2020-03-04"),
    ("4 March 2020", None, "2020-03-04"),
    ("1949-0-13", "birth", "1949-00-13"),
    ("2001-12-64", "birth", "2001-12-64"),
    ("1950.19.5", "birth", "1950-19-05"),
    ("1028-03-12", "birth", "1028-03-12"),
    ("2062-08-30", "birth", "2062-08-30"),
    ("13/13/2020", None, None),
    ("64/12/2001", None, None),
    ("March 2020", None, None),
    ("foo", None, None),
]


@pytest.mark.parametrize(("value", "kind", "expected"), DATE_KEY_CASES)
def test_date_key(value: str, kind: str | None, expected: str | None) -> None:
    outcome = standardize_date(clean_text(value), context(None, kind))
    assert (outcome.keys[0] if outcome.keys else None) == expected
    if expected is not None and outcome.value is not None:
        assert outcome.value == expected


def test_rejected_date_key_keeps_value_empty() -> None:
    outcome = standardize_date("1949-0-13", context(None, "birth"))
    assert outcome.value is None
    assert "month 0 is out of range" in str(outcome.reason)


TIMESTAMP_CASES = [
    ("2020-03-04T10:15:00Z", "2020-03-04T10:15:00+00:00"),
    ("2020-03-04T10:15:00+05:30", "2020-03-04T04:45:00+00:00"),
    ("2020-03-04 10:15:00", "2020-03-04T10:15:00"),
    ("2020-03-04 10:15:00.123456", "2020-03-04T10:15:00.123456"),
    ("2020-03-04", "2020-03-04T00:00:00"),
    ("03/04/2020 10:15 PM", "2020-03-04T22:15:00"),
    ("03/04/2020 12:05 am", "2020-03-04T00:05:00"),
    ("March 4, 2020 10:15 am", "2020-03-04T10:15:00"),
    ("03/04/2020 10:15:30 UTC", "2020-03-04T10:15:30+00:00"),
    ("03/04/2020 10:15 -0500", "2020-03-04T15:15:00+00:00"),
    (1583280000, "2020-03-04T00:00:00+00:00"),
    ("1583280000", "2020-03-04T00:00:00+00:00"),
    (43894.5, "2020-03-04T12:00:00"),
    (
        dt.datetime(2020, 3, 4, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "2020-03-03T22:00:00+00:00",
    ),
    (dt.date(2020, 3, 4), "2020-03-04T00:00:00"),
    ("2020-03-04T10:15:00.5Z", "2020-03-04T10:15:00.500000+00:00"),
    ("20200304T101500", "2020-03-04T10:15:00"),
    ("2020-03-04 10:15", "2020-03-04T10:15:00"),
    ("03/04/2020", "2020-03-04T00:00:00"),
    ("03/04/2020 10:15", "2020-03-04T10:15:00"),
    ("4 March 2020 22:15", "2020-03-04T22:15:00"),
    ("03/04/2020 10:15:30 GMT", "2020-03-04T10:15:30+00:00"),
    ("1583280000000", "2020-03-04T00:00:00+00:00"),
    (dt.datetime(2020, 3, 4, 10, 15, 0, 250), "2020-03-04T10:15:00.000250"),
    ("2020-03-04T23:30:00-02:00", "2020-03-05T01:30:00+00:00"),
]


@pytest.mark.parametrize(("value", "expected"), TIMESTAMP_CASES)
def test_timestamp_cases(value: object, expected: str) -> None:
    assert standardize_timestamp(value, context("MDY")).value == expected


@pytest.mark.parametrize(
    ("value", "reason_part"),
    [
        ("12/25/2020 25:00", "out of range"),
        ("garbage", "unrecognized word"),
        ("03/04/2020 10:15", "ambiguous date"),
        ("13:00 PM 03/04/2020", "unrecognized"),
    ],
)
def test_invalid_timestamp_cases(value: str, reason_part: str) -> None:
    assert reason_part in str(standardize_timestamp(value, context()).reason)


ORDERS = st.sampled_from([None, "YMD", "MDY", "DMY"])
KINDS = st.sampled_from([None, "birth", "event"])


@given(st.text(), ORDERS, KINDS)
def test_date_never_raises(text: str, order: str | None, kind: str | None) -> None:
    standardize_date(clean_text(text), context(order, kind))


@given(st.text(), ORDERS)
def test_timestamp_never_raises(text: str, order: str | None) -> None:
    standardize_timestamp(clean_text(text), context(order))


@given(st.one_of(st.integers(), st.floats()), KINDS)
def test_date_never_raises_on_numbers(number: float, kind: str | None) -> None:
    standardize_date(number, context(None, kind))


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY), ORDERS, KINDS)
def test_date_is_idempotent(day: dt.date, order: str | None, kind: str | None) -> None:
    text = day.strftime("%m/%d/%Y") if order == "MDY" else day.strftime("%d.%m.%Y")
    first = standardize_date(text, context(order, kind))
    if first.value is not None:
        assert standardize_date(str(first.value), context(order, kind)).value == first.value


@given(st.text(), ORDERS)
def test_date_is_idempotent_on_any_text(text: str, order: str | None) -> None:
    first = standardize_date(clean_text(text), context(order))
    if first.value is not None:
        assert standardize_date(str(first.value), context(order)).value == first.value


@given(st.datetimes(timezones=st.one_of(st.none(), st.timezones())))
def test_timestamp_is_idempotent(moment: dt.datetime) -> None:
    first = standardize_timestamp(moment, context())
    if first.value is not None:
        assert standardize_timestamp(str(first.value), context()).value == first.value
