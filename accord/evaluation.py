"""Score a clustering against ground truth: pairwise and B-cubed precision, recall and F1.

Both inputs map a record ID to a cluster label. Only records present in both
are scored. Pair counts come from cluster sizes, so scoring a million records
takes memory proportional to the number of clusters, not pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)
Label = TypeVar("Label", bound=Hashable)


@dataclass(frozen=True)
class Scores:
    """Precision, recall and F1, pairwise and B-cubed."""

    records: int
    predicted_clusters: int
    true_clusters: int
    pair_precision: float
    pair_recall: float
    pair_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    true_positive_pairs: int
    predicted_pairs: int
    true_pairs: int


def _pairs(count: int) -> int:
    return count * (count - 1) // 2


def _f1(precision: float, recall: float) -> float:
    total = precision + recall
    return 2 * precision * recall / total if total else 0.0


def score(predicted: Mapping[Key, Label], truth: Mapping[Key, Hashable]) -> Scores:
    """Compare predicted cluster labels with true labels over their shared records."""
    records = [record for record in predicted if record in truth]
    predicted_sizes = Counter(predicted[r] for r in records)
    true_sizes = Counter(truth[r] for r in records)
    joint_sizes = Counter((predicted[r], truth[r]) for r in records)

    true_positive = sum(_pairs(n) for n in joint_sizes.values())
    predicted_pairs = sum(_pairs(n) for n in predicted_sizes.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    precision = true_positive / predicted_pairs if predicted_pairs else 1.0
    recall = true_positive / true_pairs if true_pairs else 1.0

    # B-cubed: each record's share of its predicted cluster that is truly its
    # own, and of its true cluster that was predicted with it.
    b_precision = b_recall = 0.0
    for (pred, true), joint in joint_sizes.items():
        b_precision += joint * joint / predicted_sizes[pred]
        b_recall += joint * joint / true_sizes[true]
    count = len(records)
    b_precision = b_precision / count if count else 1.0
    b_recall = b_recall / count if count else 1.0

    return Scores(
        records=count,
        predicted_clusters=len(predicted_sizes),
        true_clusters=len(true_sizes),
        pair_precision=precision,
        pair_recall=recall,
        pair_f1=_f1(precision, recall),
        bcubed_precision=b_precision,
        bcubed_recall=b_recall,
        bcubed_f1=_f1(b_precision, b_recall),
        true_positive_pairs=true_positive,
        predicted_pairs=predicted_pairs,
        true_pairs=true_pairs,
    )
