"""Loggers that mask personal data before a record reaches any handler.

Log lines name records by their source keys and quote errors from DuckDB
and the readers. A key can be an email address or a phone number, and a
conversion error quotes the value it could not convert, so every Accord
logger masks:

- email addresses, keeping the first character and the domain
  (``a***@example.com``);
- phone numbers in E.164 form or written as 3-3-4 digit groups, keeping
  the last two digits (``***67``);
- the quoted values in conversion and invalid-input errors (``'***'``).

The filter sits on each module's logger, so it applies whatever handlers
the application installs. NOTE: a key or value that is neither an email
address nor a phone number, such as a name, is logged as it is.
"""

from __future__ import annotations

import logging
import re

MASK = "***"

_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})\b")
_E164 = re.compile(r"\+\d{5,13}(\d\d)\b")
_GROUPED_PHONE = re.compile(r"(?<![\d-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d\d(\d\d)(?![\d-])")
# DuckDB's messages for values it cannot convert or read quote the value.
_VALUE_ERROR = re.compile(r"Conversion Error|Could not convert|Invalid Input Error|out of range")
_QUOTED = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def mask_personal_data(text: str) -> str:
    """Return ``text`` with email addresses, phone numbers and quoted bad values masked."""
    if _VALUE_ERROR.search(text):
        text = _QUOTED.sub(f"'{MASK}'", text)
    text = _EMAIL.sub(rf"\1{MASK}@\2", text)
    text = _E164.sub(rf"+{MASK}\1", text)
    return _GROUPED_PHONE.sub(rf"{MASK}\1", text)


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
