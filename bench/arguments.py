"""Argument types for the benchmark scripts: counts, rates and shares that make sense."""

from __future__ import annotations

import argparse
import math
from pathlib import Path


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
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


def rates(text: str) -> list[float]:
    """Parse a comma-separated list of rates above 0."""
    return [positive_float(part) for part in text.split(",")]


def report_file(text: str) -> Path:
    """Parse the path of a report file, which must not be a folder."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give the report file's path")
    return path
