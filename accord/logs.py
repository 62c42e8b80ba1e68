"""Loggers that mask personal data before a record reaches any handler.

Log lines name records by their source keys and quote errors from DuckDB
and the readers. A key can be an email address or a phone number, and a
conversion error quotes the value it could not convert, so every Accord
logger masks:

- email addresses, keeping the first character and the domain
  (``a***@example.com``);
- phone numbers, keeping the last two digits (``+***67``, ``***67``): 7 to
  15 digits after ``+`` or ``00``, digits in groups (``415-555-0167``,
  ``(02) 9876 5432``), or 10 or more digits after a leading 0;
- the quoted values in conversion and invalid-input errors (``'***'``).

Dates such as ``2024-01-01``, decimal numbers and IPv4 addresses are not
phone numbers. The filter sits on each module's logger, so it applies
whatever handlers the application installs. NOTE: names are logged as they
are, and so are phone numbers written as bare digits without a leading 0
or + (``4155550167``), because they cannot be told apart from IDs.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

_EMAIL = re.compile(r"(?<![\w.%+-])([\w%+-])[\w.%+-]*@((?:[\w-]+\.)+\w{2,})\b")
# Digits joined by single separators, optionally after + or an opening parenthesis.
_PHONE = re.compile(r"(?<![\w.+-])(?:\+|\()?\d(?:\)?[ .-]?\(?\d)*")
_DECIMAL = re.compile(r"\d+\.\d+")
_DATE = re.compile(r"(?:\d{4}[-/.]\d\d[-/.]\d\d|\d\d[-/.]\d\d[-/.]\d{4})(?!\d)")
_IPV4 = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
# DuckDB's messages for values it cannot convert or read quote the value.
_VALUE_ERROR = re.compile(
    r"Conversion Error|Could not convert|Invalid Input Error|out of range|Malformed JSON"
)
# DuckDB does not double a quote inside the value it quotes: 'O'Brien' to INT32.
_CONVERTED = re.compile(r"(Could not convert string )'.*?'( to [A-Z])")
_JSON_INPUT = re.compile(r"(Input: ).*")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def mask_personal_data(text: str) -> str:
    """Return ``text`` with email addresses, phone numbers and quoted bad values masked."""
    if _VALUE_ERROR.search(text):
        text = _CONVERTED.sub(rf"\1'{MASK}'\2", text)
        text = _JSON_INPUT.sub(rf"\1{MASK}", text)
        text = _QUOTED.sub(f"'{MASK}'", text)
    text = _EMAIL.sub(rf"\1{MASK}@\2", text)
    return _PHONE.sub(_mask_phone, text)


def _mask_phone(match: re.Match[str]) -> str:
    """Return the matched digits masked when they look like a phone number."""
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    international = text.startswith("+") or text.startswith("00")
    grouped = re.search(r"[ ().-]", text) is not None
    national = text.startswith("0") and len(digits) >= 10
    if not 7 <= len(digits) <= 15 or _DATE.match(text):
        return text
    if _DECIMAL.fullmatch(text) or _IPV4.fullmatch(text):
        return text
    if not (international or grouped or national):
        return text
    return ("+" if text.startswith("+") else "") + MASK + digits[-2:]


class PersonalDataFilter(logging.Filter):
    """Masks personal data in the formatted message and exception text of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_personal_data(message)
        if masked != message:
            record.msg = masked
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_personal_data(record.exc_text)
        return True


_FILTER = PersonalDataFilter()


def get_logger(name: str) -> logging.Logger:
    """Return the logger ``name`` with personal data masked in its records."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
