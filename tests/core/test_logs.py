"""Masking of personal data in Accord's log records."""

from __future__ import annotations

import logging

import pytest

from accord.logs import get_logger, mask_personal_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key alice.smith@example.com failed", "key a***@example.com failed"),
        ("keys: a@b.co, x+tag@mail.example.org", "keys: a***@b.co, x***@mail.example.org"),
        ("phone +14155550167 rejected", "phone +***67 rejected"),
        ("call (415) 555-0167 now", "call ***67 now"),
        ("call 415.555.0167", "call ***67"),
        ("key josé.garcía@acme.io", "key j***@acme.io"),
        ("key +1-415-555-0167 x", "key +***67 x"),
        ("+44 20 7946 0958", "+***58"),
        ("+33 6 12 34 56 78", "+***78"),
        ("0049 30 1234567", "***67"),
        ("07911123456", "***56"),
        ("(02) 9876 5432", "***32"),
        ("first keys: 0049-30-7654321, tel:+14155550188", "first keys: ***21, tel:+***88"),
        ("key:+14155550188 id/07911123456", "key:+***88 id/***56"),
        (
            "Conversion Error: Could not convert string 'O'Brien Ada' to INT32",
            "Conversion Error: Could not convert string '***' to INT32",
        ),
        (
            "Invalid Input Error: Malformed JSON at byte 9 of input: unexpected character.  "
            'Input: "{"name": "Ada Lovelace""',
            "Invalid Input Error: Malformed JSON at byte 9 of input: unexpected character.  "
            "Input: ***",
        ),
        (
            "Conversion Error: Could not convert string 'forty-one' to INT32",
            "Conversion Error: Could not convert string '***' to INT32",
        ),
        (
            'Invalid Input Error: value "O\'Hara" is not a date',
            "Invalid Input Error: value '***' is not a date",
        ),
        # Ids, dates, times and counts stay readable.
        ("run 20240101 at 2024-01-01T00:00:00, seq 1234567", None),
        ("key 12345678901 of source crm", None),
        ("run 2026-12-06 01:51:00 UTC, 12/05/2024", None),
        ("applied 30 changes in 0.15 s, 12 entities, 12,000 rows", None),
        ("latency 0.123456789 s, version 1.2.3, 127.0.0.1:8080", None),
        ("peer 192.168.100.200 at 10:00:00, path /tmp/acc/g10m", None),
        ("table 'source_records' not found", None),
        ("", None),
    ],
)
def test_mask_personal_data(text: str, expected: str | None) -> None:
    assert mask_personal_data(text) == (text if expected is None else expected)


def test_logger_masks_message_and_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("accord.test_logs")
    with caplog.at_level(logging.INFO, logger="accord.test_logs"):
        try:
            raise ValueError("bad email bob.jones@example.net")
        except ValueError:
            logger.exception("record %s failed", "bob.jones@example.net")

    record = caplog.records[0]
    assert record.getMessage() == "record b***@example.net failed"
    assert record.exc_text is not None
    assert "b***@example.net" in record.exc_text
    assert "bob.jones" not in caplog.text


def test_logger_filter_added_once() -> None:
    logger = get_logger("accord.test_logs_once")
    get_logger("accord.test_logs_once")
    assert len(logger.filters) == 1
