"""Column mapping, the shared cache and parser failures."""

from __future__ import annotations

from collections.abc import Hashable

import pytest

from accord.standardize.base import Outcome
from accord.standardize.cache import BoundedCache
from accord.standardize.columns import clear_caches, standardize_column, standardize_one
from accord.standardize.registry import STANDARDIZERS, Standardizer
from accord.standardize.text import placeholder_set

PLACEHOLDERS = placeholder_set(None)


def failing_run(value: object, context: Hashable) -> Outcome:
    raise ValueError("parser exploded")


def test_parser_error_becomes_invalid_value() -> None:
    std = Standardizer("text", failing_run)
    outcome = standardize_one(std, "anything", None, PLACEHOLDERS)
    assert outcome.value is None
    assert outcome.reason == "could not be read as text: parser exploded"


def test_each_distinct_value_parsed_once() -> None:
    calls: list[object] = []

    def counting_run(value: object, context: Hashable) -> Outcome:
        calls.append(value)
        return Outcome(value)

    std = Standardizer("text", counting_run)
    clear_caches()
    outcomes = standardize_column(std, ["a", "b", "a", " a ", None, "a"], None, None, PLACEHOLDERS)
    assert [outcome.value for outcome in outcomes] == ["a", "b", "a", "a", None, "a"]
    assert sorted(calls) == ["a", "b"]


def test_per_row_contexts_are_part_of_the_key() -> None:
    std = STANDARDIZERS["region"]
    outcomes = standardize_column(std, ["ON", "ON"], ["CA", "US"], None, PLACEHOLDERS)
    assert outcomes[0].value == "ON"
    assert outcomes[1].reason is not None


def test_outcomes_have_declared_key_count() -> None:
    std = STANDARDIZERS["email"]
    outcomes = standardize_column(std, [None, "bad", "a@acme.com"], None, None, PLACEHOLDERS)
    assert [len(outcome.keys) for outcome in outcomes] == [4, 4, 4]


def test_bounded_cache_evicts_oldest_quarter() -> None:
    cache: BoundedCache[int, int] = BoundedCache(8)
    for number in range(9):
        cache.put(number, number)
    assert len(cache) == 7
    assert cache.get(0) is None
    assert cache.get(8) == 8


def test_bounded_cache_rejects_tiny_size() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        BoundedCache(2)
