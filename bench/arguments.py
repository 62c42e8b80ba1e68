"""Argument types for the benchmark scripts: counts, rates and shares that make sense."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path


def _whole_number(text: str, least: int, maximum: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if maximum is not None and not least <= value <= maximum:
        raise argparse.ArgumentTypeError(f"{value:,} is out of range: use {least:,} to {maximum:,}")
    if value < least:
        raise argparse.ArgumentTypeError(f"{value} is not at least {least}")
    return value


def positive_int(text: str) -> int:
    """Parse a whole number of at least 1."""
    return _whole_number(text, 1)


def count(text: str) -> int:
    """Parse a whole number of at least 0."""
    return _whole_number(text, 0)


def positive_float(text: str) -> float:
    """Parse a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number above 0")
    return value


def share(text: str) -> float:
    """Parse a fraction above 0 and at most 1."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction between 0 and 1")
    return value


def counts(text: str) -> list[int]:
    """Parse a comma-separated list of whole numbers of at least 0."""
    return [count(part) for part in text.split(",")]


def counts_between(minimum: int, maximum: int) -> Callable[[str], list[int]]:
    """Return a parser of comma-separated whole numbers from ``minimum`` to ``maximum``."""

    def parse(text: str) -> list[int]:
        return [_whole_number(part, minimum, maximum) for part in text.split(",")]

    return parse


def names(allowed: tuple[str, ...], noun: str) -> Callable[[str], list[str]]:
    """Return a parser of a comma-separated, non-empty list of names out of ``allowed``.

    ``noun`` is the singular word for one name in error messages, such as "tool".
    """

    def parse(text: str) -> list[str]:
        selected = [name.strip() for name in text.split(",") if name.strip()]
        choices = ", ".join(allowed)
        if not selected:
            raise argparse.ArgumentTypeError(f"{text!r} lists no {noun}; choose from {choices}")
        unknown = [name for name in selected if name not in allowed]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown {noun}: {', '.join(unknown)}; choose from {choices}"
            )
        return selected

    return parse


def rates(text: str) -> list[float]:
    """Parse a comma-separated list of rates above 0."""
    return [positive_float(part) for part in text.split(",")]


def report_file(text: str) -> Path:
    """Parse the path of a report file, which must not be a folder."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give the report file's path")
    return path
