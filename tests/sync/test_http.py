"""Retry delays, Retry-After, the rate limiter, signatures and value conversion."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
import sqlalchemy as sa

from accord.config.models import HttpRetry
from accord.sync.http import RateLimiter, backoff_delay, retry_after_seconds
from accord.sync.payload import canonical_json, sign
from accord.sync.writers.sql import coerce

RETRY = HttpRetry(backoff_seconds=0.5, max_backoff_seconds=4.0)


@pytest.mark.parametrize(
    ("attempt", "share", "retry_after", "expected"),
    [
        (1, 1.0, None, 0.5),
        (2, 1.0, None, 1.0),
        (3, 0.5, None, 1.0),
        (10, 1.0, None, 4.0),
        (1, 0.0, None, 0.0),
        (1, 1.0, 3.0, 3.0),
        (4, 1.0, 1.0, 4.0),
    ],
)
def test_backoff_delay(
    attempt: int, share: float, retry_after: float | None, expected: float
) -> None:
    assert backoff_delay(attempt, RETRY, retry_after, lambda: share) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2", 2.0),
        ("0.25", 0.25),
        ("-5", 0.0),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_parsing(header: str | None, expected: float | None) -> None:
    now = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC)
    assert retry_after_seconds(header, now) == expected


class FakeClock:
    """A clock that only moves when the limiter sleeps or the test advances it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def test_rate_limiter_spaces_requests() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock.sleep, clock)
    for _ in range(4):
        limiter.acquire()
    assert clock.waits == pytest.approx([0.1, 0.1, 0.1])


def test_rate_limiter_no_wait_after_idle_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock.sleep, clock)
    limiter.acquire()
    clock.now += 5.0
    limiter.acquire()
    assert clock.waits == []


def test_rate_limiter_off_without_limit() -> None:
    waits: list[float] = []
    limiter = RateLimiter(None, waits.append)
    for _ in range(4):
        limiter.acquire()
    assert waits == []


def test_signature_is_hmac_sha256_of_body() -> None:
    body = canonical_json({"b": 1, "a": "é"}).encode()
    expected = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert sign("secret", body) == f"sha256={expected}"
    assert body == '{"a":"é","b":1}'.encode()


@pytest.mark.parametrize(
    ("column_type", "value", "expected"),
    [
        (sa.Integer(), "42", 42),
        (sa.Integer(), 7.0, 7),
        (sa.Float(), "1.5", 1.5),
        (sa.Boolean(), "true", True),
        (sa.Boolean(), "no", False),
        (sa.Date(), "2024-02-29", dt.date(2024, 2, 29)),
        (sa.DateTime(), "2024-02-29T10:00:00", dt.datetime(2024, 2, 29, 10)),
        (sa.String(), 12, "12"),
        (sa.String(), ["a", "b"], '["a","b"]'),
        (sa.String(), None, None),
    ],
)
def test_coerce_to_column_type(
    column_type: sa.types.TypeEngine, value: object, expected: object
) -> None:
    assert coerce(value, sa.Column("c", column_type)) == expected


@pytest.mark.parametrize(
    ("column_type", "value"),
    [(sa.Integer(), "4.5"), (sa.Integer(), "abc"), (sa.Boolean(), "maybe"), (sa.Date(), "soon")],
)
def test_coerce_rejects_invalid_value(column_type: sa.types.TypeEngine, value: object) -> None:
    with pytest.raises(ValueError):
        coerce(value, sa.Column("c", column_type))
