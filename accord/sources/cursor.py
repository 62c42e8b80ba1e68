"""Cursor comparison for incremental reads of files and APIs.

A cursor column grows when a row changes. Values compare as numbers when
the last cursor and every value in the column parse as numbers, as
date-times when they all parse as ISO 8601 (a value without a UTC offset
counts as UTC), and as text otherwise. Rows whose cursor is null never
count as changed.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from accord.sources.base import value_text


@dataclass(frozen=True)
class CursorSelection:
    """Rows whose cursor is after the last cursor, and the new last cursor.

    ``mask`` is None when every row is selected (no last cursor was given).
    ``cursor`` is the text of the largest cursor among the selected rows,
    the last cursor when no row is selected, or None when there is neither.
    """

    mask: pa.ChunkedArray | None
    cursor: str | None


def parse_number(text: str) -> int | float | None:
    """Return ``text`` as an int or a finite float, or None when it is not a number."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def parse_datetime(text: str) -> dt.datetime | None:
    """Return ``text`` as an aware date-time (UTC when it has no offset), or None."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def select_after(values: pa.ChunkedArray, since: str | None) -> CursorSelection:
    """Select the rows whose cursor value is greater than ``since``.

    NOTE: a row that the source adds later with exactly the saved cursor value
    is not read incrementally; ``accord run --full-refresh`` picks it up.

    Args:
        values: The cursor column.
        since: The cursor of the previous read, or None to select every row.

    Returns:
        The selection mask and the new cursor.
    """
    numbers = _as_numbers(values, since)
    if numbers is not None:
        return _select_numbers(values, numbers, since)
    if pa.types.is_string(values.type):
        times = _as_datetimes(values, since)
        if times is not None:
            return _select_datetimes(values, times, since)
    return _select_text(values.cast(pa.string()), since)


def _as_numbers(values: pa.ChunkedArray, since: str | None) -> pa.ChunkedArray | None:
    if since is not None and parse_number(since) is None:
        return None
    kind = values.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return values
    if not pa.types.is_string(kind) or values.null_count == len(values):
        return None
    # Integers first: float64 represents integers exactly only up to 2**53, so two
    # 19-digit IDs next to each other would compare equal as floats.
    for number_type in (pa.int64(), pa.decimal128(38, 0), pa.float64()):
        try:
            return values.cast(number_type)
        except pa.ArrowInvalid:
            continue
    return None


def _select_numbers(
    original: pa.ChunkedArray, numbers: pa.ChunkedArray, since: str | None
) -> CursorSelection:
    mask = None
    selected = numbers
    if since is not None:
        threshold = parse_number(since)
        numbers, bound = _comparable(numbers, threshold)
        mask = pc.fill_null(pc.greater(numbers, pa.scalar(bound, type=numbers.type)), False)
        selected = numbers.filter(mask)
    if selected.null_count == len(selected):
        return CursorSelection(mask, since)
    largest = pc.max(selected)
    if pa.types.is_string(original.type):
        index = pc.index(numbers, largest).as_py()
        return CursorSelection(mask, original[index].as_py())
    return CursorSelection(mask, value_text(largest.as_py()))


def _comparable(
    numbers: pa.ChunkedArray, threshold: int | float | None
) -> tuple[pa.ChunkedArray, int | float | Decimal | None]:
    """Return the cursor numbers and ``threshold`` in one type that compares them exactly.

    A fractional threshold makes integers floats. An integer threshold
    beyond the range of an integer column makes the column decimal.
    """
    exact = pa.types.is_integer(numbers.type) or pa.types.is_decimal(numbers.type)
    if isinstance(threshold, float) and exact:
        numbers = numbers.cast(pa.float64())
    if threshold is None or pa.types.is_floating(numbers.type):
        return numbers, None if threshold is None else float(threshold)
    if pa.types.is_integer(numbers.type):
        info = np.iinfo(numbers.type.to_pandas_dtype())
        if int(info.min) <= threshold <= int(info.max):
            return numbers, threshold
        numbers = numbers.cast(pa.decimal128(38, 0))
    return numbers, Decimal(threshold)


def _as_datetimes(values: pa.ChunkedArray, since: str | None) -> list[dt.datetime | None] | None:
    if since is not None and parse_datetime(since) is None:
        return None
    parse = dt.datetime.fromisoformat
    try:
        times = [None if text is None else parse(text) for text in values.to_pylist()]
    except ValueError:
        return None
    naive = {time.tzinfo is None for time in times if time is not None}
    if not naive:
        return None
    if naive == {True, False}:
        times = [None if time is None else _as_utc(time) for time in times]
    return times


def _as_utc(time: dt.datetime) -> dt.datetime:
    return time.replace(tzinfo=dt.UTC) if time.tzinfo is None else time


def _select_datetimes(
    original: pa.ChunkedArray, times: list[dt.datetime | None], since: str | None
) -> CursorSelection:
    mask = None
    candidates = [index for index, time in enumerate(times) if time is not None]
    if since is not None:
        threshold = _like(parse_datetime(since), times[candidates[0]])
        flags = [time is not None and time > threshold for time in times]
        mask = pa.chunked_array([pa.array(flags, type=pa.bool_())])
        candidates = [index for index in candidates if flags[index]]
    if not candidates:
        return CursorSelection(mask, since)
    best = max(candidates, key=lambda index: cast(dt.datetime, times[index]))
    return CursorSelection(mask, original[best].as_py())


def _like(time: dt.datetime | None, example: dt.datetime | None) -> dt.datetime:
    """Give ``time`` an offset or none, as ``example`` has, so that they compare."""
    assert time is not None and example is not None
    if example.tzinfo is None:
        return time.astimezone(dt.UTC).replace(tzinfo=None)
    return time


def _select_text(texts: pa.ChunkedArray, since: str | None) -> CursorSelection:
    mask = None
    selected = texts
    if since is not None:
        mask = pc.fill_null(pc.greater(texts, pa.scalar(since, type=pa.string())), False)
        selected = texts.filter(mask)
    largest = pc.max(selected).as_py() if len(selected) else None
    return CursorSelection(mask, since if largest is None else largest)
