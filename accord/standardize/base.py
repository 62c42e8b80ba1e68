"""Types shared by every standardizer."""

from __future__ import annotations

from importlib import resources
from typing import NamedTuple

Scalar = str | int | float | bool | None
"""A JSON-serializable output value."""


class Outcome(NamedTuple):
    """Result of standardizing one value.

    A named tuple rather than a dataclass, because the stage creates one per
    distinct value and tuple construction is about twice as fast.

    Attributes:
        value: Clean display value, or None when the input is missing or invalid.
        keys: Comparison keys, in the order that the standardizer declares them.
            An empty tuple means every key is None.
        parts: Derived field values (such as ``first_name`` from ``full_name``),
            in the order that the standardizer declares them. An empty tuple
            means every part is None.
        reason: Why the value is invalid, as a plain sentence. None when the
            value is valid or missing.
    """

    value: Scalar
    keys: tuple[Scalar, ...] = ()
    parts: tuple[Scalar, ...] = ()
    reason: str | None = None


MISSING = Outcome(None)
"""Outcome of a missing value: no display value, no keys and no reason."""


def invalid(reason: str) -> Outcome:
    """Return the outcome of an invalid value that ``reason`` explains."""
    return Outcome(None, reason=reason)


def quote(text: str, limit: int = 60) -> str:
    """Return ``text`` in single quotes for a message, shortened to ``limit`` characters."""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"'{text}'"


def read_data_lines(name: str) -> list[str]:
    """Read a list from ``accord/standardize/data``: one entry a line, ``#`` starts a comment.

    Args:
        name: File name inside the data folder.

    Returns:
        The stripped, non-empty lines without comments, in file order.
    """
    text = resources.files("accord.standardize").joinpath("data", name).read_text("utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def word_set(text: str) -> frozenset[str]:
    """Return the whitespace-separated words of ``text`` as a set, for word-list constants."""
    return frozenset(text.split())
