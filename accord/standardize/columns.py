"""Column-level standardizing: one parse per distinct value, a cache across calls.

A column is first reduced to its distinct (value, context) pairs, so each
parser runs once per pair. Outcomes are also kept in a bounded cache per
standardizer for later calls, but only for columns with at most
:data:`SHARED_CACHE_MAX_DISTINCT` distinct values: columns such as emails
and phones hardly repeat across batches, and caching them would cost more
than it saves.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

from accord.logs import get_logger
from accord.standardize.base import MISSING, Outcome, invalid
from accord.standardize.cache import BoundedCache, clear_all_caches
from accord.standardize.registry import STANDARDIZERS, Standardizer
from accord.standardize.text import clean_text, is_placeholder

logger = get_logger(__name__)

CACHE_SIZE = 100_000
"""Maximum outcomes kept per standardizer between calls."""

SHARED_CACHE_MAX_DISTINCT = CACHE_SIZE // 2
"""Distinct values above which a column skips the cache shared across calls."""

_CACHES: dict[str, BoundedCache[Hashable, Outcome]] = {
    name: BoundedCache(CACHE_SIZE) for name in STANDARDIZERS
}

# Errors that a third-party parser (nameparser, usaddress, phonenumbers) may
# raise on odd input. One such value becomes an invalid value instead of
# stopping the whole batch.
_PARSER_ERRORS = (ValueError, TypeError, IndexError, KeyError, AttributeError, OverflowError)
_LOGGED_PARSER_ERRORS = 10
_parser_error_counts: dict[str, int] = {}


def clear_caches() -> None:
    """Empty the outcome caches of every standardizer and the parsers' own caches."""
    clear_all_caches()


def standardize_one(
    std: Standardizer,
    value: object,
    context: Hashable,
    placeholders: frozenset[str],
    cache: BoundedCache[Hashable, Outcome] | None = None,
) -> Outcome:
    """Standardize one raw value: hygiene, placeholder check, then the parser.

    Args:
        std: The standardizer.
        value: A raw value: str, int, float, bool, date, datetime or None.
        context: The standardizer's context for this value.
        placeholders: Lowercase values that mean "missing".
        cache: Outcomes of earlier calls to look up and extend, or None.

    Returns:
        The outcome; MISSING for None, NaN and placeholders.
    """
    if value is None:
        return MISSING
    if std.name == "none":
        return std.run(value, context)
    if type(value) is str:
        argument: object = value
    elif isinstance(value, float) and not math.isfinite(value):
        return MISSING
    else:
        argument = std.coerce(value)
    if isinstance(argument, str):
        argument = clean_text(argument)
        if is_placeholder(argument, placeholders):
            return MISSING
        cache_key: Hashable = argument if context is None else (argument, context)
    else:
        cache_key = (type(argument), argument, context)
    if cache is None:
        return _run_guarded(std, argument, context)
    outcome = cache.get(cache_key)
    if outcome is None:
        outcome = _run_guarded(std, argument, context)
        cache.put(cache_key, outcome)
    return outcome


def _run_guarded(std: Standardizer, argument: object, context: Hashable) -> Outcome:
    try:
        return std.run(argument, context)
    except _PARSER_ERRORS as error:
        _log_parser_error(std.name, argument, error)
        return invalid(f"could not be read as {std.name.replace('_', ' ')}: {error}")


def _log_parser_error(name: str, argument: object, error: Exception) -> None:
    """Log the first parser errors of each standardizer, then every thousandth."""
    count = _parser_error_counts.get(name, 0) + 1
    _parser_error_counts[name] = count
    if count <= _LOGGED_PARSER_ERRORS or count % 1000 == 0:
        logger.warning(
            "%s standardizer failed on %r (failure %d in this process): %s",
            name,
            argument,
            count,
            error,
        )


_TEXT_TYPES = frozenset({str, type(None)})


def _typed(value: object) -> Hashable:
    """Return a dictionary key that keeps 1, 1.0 and True apart."""
    return value if value is None or type(value) is str else (type(value), value)


def standardize_column(
    std: Standardizer,
    values: Sequence[Hashable],
    contexts: Sequence[Hashable] | None,
    context: Hashable,
    placeholders: frozenset[str],
) -> list[Outcome]:
    """Standardize a column, parsing each distinct (value, context) pair once.

    Args:
        std: The standardizer.
        values: Raw values, one per row.
        contexts: Per-row contexts, or None when ``context`` applies to all rows.
        context: The context of every row when ``contexts`` is None.
        placeholders: Lowercase values that mean "missing".

    Returns:
        One outcome per row. Every outcome has as many keys and parts as the
        standardizer declares, with None for those that do not apply.
    """
    distinct = set(values)
    if set(map(type, distinct)) <= _TEXT_TYPES:
        keys: Sequence[Hashable] = values
        raw_of = {value: value for value in distinct}
    else:
        keys = [_typed(value) for value in values]
        raw_of = dict(zip(keys, values, strict=True))
    if contexts is None:
        cache = _CACHES[std.name] if len(raw_of) <= SHARED_CACHE_MAX_DISTINCT else None
        table = {
            key: _complete(std, standardize_one(std, raw, context, placeholders, cache))
            for key, raw in raw_of.items()
        }
        return list(map(table.__getitem__, keys))
    pairs = list(zip(keys, contexts, strict=True))
    distinct_pairs = set(pairs)
    cache = _CACHES[std.name] if len(distinct_pairs) <= SHARED_CACHE_MAX_DISTINCT else None
    pair_table = {
        pair: _complete(std, standardize_one(std, raw_of[pair[0]], pair[1], placeholders, cache))
        for pair in distinct_pairs
    }
    return list(map(pair_table.__getitem__, pairs))


def _complete(std: Standardizer, outcome: Outcome) -> Outcome:
    """Pad empty keys and parts with None, so that every row has the declared number."""
    if len(outcome.keys) == len(std.keys) and len(outcome.parts) == len(std.parts):
        return outcome
    keys = outcome.keys or (None,) * len(std.keys)
    parts = outcome.parts or (None,) * len(std.parts)
    return outcome._replace(keys=keys, parts=parts)
