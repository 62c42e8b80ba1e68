"""Comparison keys of one standardized record, computed in process.

The resolution input (:mod:`accord.resolve.inputs`) derives its columns in
SQL. For 20 records that query took DuckDB 2.0.1 about 5 ms, 3.7 ms of it
binding and optimizing, which does not shrink with fewer records. The
stream worker has the standardized data of the records it just wrote, so
it derives the same columns here with DuckDB's semantics, for the values
whose semantics are plain: text, missing values and boolean flags.

Each function returns None when a value falls outside that subset (a
number, a list, non-ASCII text that DuckDB would lower-case or cut), and
the caller then reads the record through SQL. Tests compare both paths.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from accord.resolve.comparisons import INPUT_COLUMNS
from accord.resolve.inputs import CASTS, EXPRESSIONS


class _NeedsSql(Exception):
    """A value needs DuckDB's own semantics."""


# Record ID -> standardized data of the records a micro-batch wrote.
Written = Mapping[str, Mapping[str, Any]]

_NOT_LETTER = re.compile("[^a-z]")
_BOOLEAN_TEXT = {"true": True, "false": False}


def _text(data: Mapping[str, Any], name: str) -> str | None:
    """Return ``data->>'name'``: the string, or None for a missing or null value."""
    value = data.get(name)
    if value is None or isinstance(value, str):
        return value
    raise _NeedsSql


def _field(data: Mapping[str, Any], name: str) -> str | None:
    """Return ``nullif(data->>'name', '')``."""
    return _text(data, name) or None


def _ascii(value: str | None) -> str | None:
    """Return ``value`` when DuckDB and Python agree on its case and characters."""
    if value is not None and not value.isascii():
        raise _NeedsSql
    return value


def _boolean(data: Mapping[str, Any], name: str) -> bool | None:
    """Return ``TRY_CAST(data->>'name' AS BOOLEAN)`` for JSON booleans and 'true'/'false'."""
    value = data.get(name)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _BOOLEAN_TEXT:
        return _BOOLEAN_TEXT[value]
    raise _NeedsSql


def _joined(*parts: str | None) -> str | None:
    """Return SQL's ``a || b``: None when any part is None."""
    if any(part is None for part in parts):
        return None
    return "".join(part for part in parts if part is not None)


def _left(value: str | None, count: int) -> str | None:
    """Return SQL's ``left(value, count)`` for ASCII text."""
    checked = _ascii(value)
    return checked[:count] if checked is not None else None


def _email_letters(email_key: str | None) -> str | None:
    if email_key is None:
        return None
    return _NOT_LETTER.sub("", email_key.split("@")[0]) or None


def _derived(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the columns that the resolution input derives from several fields."""
    first = _field(data, "first_name_key")
    last = _field(data, "last_name_key")
    email_key = _text(data, "email_key")
    letters = _email_letters(email_key)
    birth = _ascii(_field(data, "birth_date_key") or _field(data, "birth_date"))
    city = _ascii(_text(data, "city"))
    return {
        "city_key": city.strip(" ").lower() or None if city is not None else None,
        "email_user_key": email_key.split("@")[0] if email_key else None,
        "email_local_key": letters,
        "nameless_email_key": letters if first is None and last is None else None,
        "birth_date": birth,
        "birth_year": _left(birth, 4),
        "name_full_key": _joined(first, last),
        "name_initial_key": _joined(_left(first, 1), last),
        "name_reversed_key": _joined(last, first),
    }


def _column(data: Mapping[str, Any], derived: dict[str, Any], column: str) -> Any:
    """Return one column as the SQL input query derives, casts or reads it."""
    if column in derived:
        return derived[column]
    if column in EXPRESSIONS:
        # An expression of the input query that this module does not mirror.
        raise _NeedsSql
    if column in CASTS:
        if CASTS[column] != "BOOLEAN":
            raise _NeedsSql
        return _boolean(data, column)
    return _field(data, column)


def input_row(
    source: str, source_key: str, data: Mapping[str, Any], extra: list[str]
) -> dict[str, Any] | None:
    """Return the resolution input row of a live record without its nickname set.

    ``extra`` names the further standardized fields the input carries.
    Returns None when the record needs the SQL path.
    """
    columns = list(INPUT_COLUMNS) + [name for name in extra if name not in INPUT_COLUMNS]
    try:
        derived = _derived(data)
        row: dict[str, Any] = {
            "record_id": f"{source}:{source_key}",
            "source": source,
            "source_key": source_key,
        }
        for column in columns:
            row[column] = _column(data, derived, column)
    except _NeedsSql:
        return None
    return row


def company_keys(data: Mapping[str, Any]) -> list[tuple[str | None, str | None]] | None:
    """Return the (company name key, domain) row of a record, as the organization index reads it.

    A free-mail domain is no company domain, though it still gives the record
    a row. The list is empty for a record with neither a company name nor a
    domain, and None means the record needs the SQL path.
    """
    try:
        name_key = _field(data, "company_name_key")
        domain = _field(data, "company_domain")
        freemail = _boolean(data, "company_is_freemail")
    except _NeedsSql:
        return None
    if name_key is None and domain is None:
        return []
    return [(name_key, None if freemail else domain)]


Derived = TypeVar("Derived")


def from_written(
    changed: list[str],
    written: Written,
    derive: Callable[[str, Mapping[str, Any]], Derived | None],
) -> tuple[list[str], dict[str, Derived]]:
    """Apply ``derive`` to the record ID and written data of each changed record.

    Returns the changed records for which ``derive`` returned None, which
    need the SQL path, and the results for the others. A changed record
    missing from ``written`` is deleted and appears in neither.
    """
    unread: list[str] = []
    results: dict[str, Derived] = {}
    for record_id in changed:
        data = written.get(record_id)
        if data is None:
            continue
        result = derive(record_id, data)
        if result is None:
            unread.append(record_id)
        else:
            results[record_id] = result
    return unread, results
