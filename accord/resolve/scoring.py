"""Score a record pair in process with a trained model's parameters.

Explanations and real-time resolution use this instead of a Splink SQL
pipeline per pair. The arithmetic follows Fellegi-Sunter as Splink computes
it: the prior odds times the Bayes factor m/u of each comparison's level,
with the term-frequency adjustment on exact levels that declare one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accord.resolve.comparisons import Record
from accord.resolve.model import MatchModel

TermFrequency = Callable[[str, Any], float | None]
# Splink 5 clamps m and u at this value before taking log2(m/u).
M_U_CLAMP_MIN = 1e-300


@dataclass(frozen=True)
class LevelScore:
    """The level one comparison reached and its contribution to the match weight."""

    comparison: str
    level: str
    gamma: int
    match_weight: float
    tf_adjustment: float
    left: Any
    right: Any


@dataclass(frozen=True)
class PairScore:
    """A scored pair: the prior, each comparison's weight, and the result."""

    prior_weight: float
    levels: list[LevelScore]
    match_weight: float
    match_probability: float


def log_odds(probability: float) -> float:
    """Convert a probability to a match weight (log2 odds); 1 gives infinity."""
    if probability >= 1:
        return math.inf
    return math.log2(probability / (1 - probability))


def probability(weight: float) -> float:
    """Convert a match weight (log2 odds) to a probability."""
    if weight > 60:
        return 1.0
    odds = 2.0**weight
    return odds / (1 + odds)


def score_pair(
    model: MatchModel, left: Record, right: Record, term_frequency: TermFrequency | None = None
) -> PairScore:
    """Score two records with ``model``; ``term_frequency`` returns a value's share of records."""
    prior = model.prior
    prior_weight = log_odds(prior)
    levels: list[LevelScore] = []
    for comparison, parameters in zip(
        model.comparisons(), model.settings["comparisons"], strict=True
    ):
        index = comparison.level_of(left, right)
        level = comparison.levels[index]
        params = parameters["comparison_levels"][index]
        weight = level_weight(params)
        exact = exact_level(parameters["comparison_levels"], level.tf_column) or params
        adjustment = _tf_adjustment(level.tf_column, exact, left, right, term_frequency)
        column = comparison.columns[0]
        levels.append(
            LevelScore(
                comparison.name,
                level.label,
                comparison.gamma(index),
                weight,
                adjustment,
                left.get(column),
                right.get(column),
            )
        )
    total = prior_weight + sum(item.match_weight + item.tf_adjustment for item in levels)
    return PairScore(prior_weight, levels, total, probability(total))


def level_weight(params: dict[str, Any]) -> float:
    """Return a level's match weight log2(m/u): 0 for the null level or a missing m or u.

    m and u are clamped at ``M_U_CLAMP_MIN`` first, as Splink 5 does.
    """
    if params.get("is_null_level"):
        return 0.0
    m, u = params.get("m_probability"), params.get("u_probability")
    if m is None or u is None:
        return 0.0
    return math.log2(max(m, M_U_CLAMP_MIN) / max(u, M_U_CLAMP_MIN))


def exact_level(levels: list[dict[str, Any]], column: str | None) -> dict[str, Any] | None:
    """Return the exact-match level of ``column``, whose u the adjustment of every level uses."""
    if column is None:
        return None
    condition = f"{column}_l = {column}_r"
    for level in levels:
        if str(level.get("sql_condition", "")).replace('"', "") == condition:
            return level
    return None


def _tf_adjustment(
    column: str | None,
    params: dict[str, Any],
    left: Record,
    right: Record,
    term_frequency: TermFrequency | None,
) -> float:
    """Return Splink's term-frequency adjustment, log2(u / tf).

    ``params`` is the exact-match level of the column: Splink adjusts every
    level that names a term-frequency column by that level's u, and uses the
    larger of the two records' frequencies.
    """
    if column is None or term_frequency is None or params.get("is_null_level"):
        return 0.0
    u = params.get("u_probability")
    tf_values = [term_frequency(column, record.get(column)) for record in (left, right)]
    known = [value for value in tf_values if value]
    if not u or not known:
        return 0.0
    weight = float(params.get("tf_adjustment_weight", 1.0))
    return weight * math.log2(u / max(known))
