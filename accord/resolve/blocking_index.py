"""In-memory blocking-key indexes: a record's candidate pairs without a join.

A blocking rule is a conjunction of equalities ``l.a = r.b``. Splink's
dedupe prediction pairs two records under a rule when the record with the
smaller ID, as ``l``, has the values the other has, as ``r``. The index
keeps, per rule, the records by their right-side values. For rules that
compare different columns on the two sides it also keeps them by their
left-side values. So ``candidates`` returns exactly the records that Splink's
prediction would pair with a given one.

A key that would make more pairs than ``max_pairs`` makes none under its
rule, as in ``accord.resolve.prediction``. A block of 500 people named John
Smith has about 125,000 pairs, nearly all of different people. The true
pairs among them mostly share an email, a phone or an address that other
rules block on.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Key = tuple[Any, ...]
RIGHT, LEFT = "right", "left"

_EQUALITY = re.compile(r'^\(?\s*([lr])\."?(\w+)"?\s*=\s*([lr])\."?(\w+)"?\s*\)?$')


@dataclass(frozen=True)
class EqualityRule:
    """A blocking rule as the columns compared on the left and on the right."""

    sql: str
    left: tuple[str, ...]
    right: tuple[str, ...]

    @property
    def symmetric(self) -> bool:
        """Return whether both sides compare the same columns."""
        return self.left == self.right


def parse_rule(sql: str) -> EqualityRule:
    """Parse ``l.a = r.b AND r.d = l.c`` into its left and right columns.

    Raises:
        ValueError: If a term of the rule is not an equality of a left and a
            right column.
    """
    left: list[str] = []
    right: list[str] = []
    for term in re.split(r"\s+AND\s+", sql.strip(), flags=re.IGNORECASE):
        match = _EQUALITY.match(term.strip())
        if match is None or match.group(1) == match.group(3):
            raise ValueError(
                f"blocking rule {sql!r}: the term {term.strip()!r} is not 'l.column = r.column'; "
                "in-process resolution supports rules made of such equalities joined by AND"
            )
        sides = {match.group(1): match.group(2), match.group(3): match.group(4)}
        left.append(sides["l"])
        right.append(sides["r"])
    return EqualityRule(sql, tuple(left), tuple(right))


def key_of(record: Mapping[str, Any], columns: tuple[str, ...]) -> Key | None:
    """Return the record's values of ``columns``, or None when one is missing."""
    values = tuple(record.get(column) for column in columns)
    if any(value is None for value in values):
        return None
    return values


def block_pairs(left: int, right: int, symmetric: bool) -> int:
    """Return how many pairs a key joins when ``left`` and ``right`` records carry it.

    A symmetric rule pairs the key's records among themselves. Any other rule
    pairs each record with the key on the left with each one with it on the right.
    """
    return right * (right - 1) // 2 if symmetric else left * right


class BlockingIndex:
    """Records by their blocking keys, updated as records change."""

    def __init__(self, rules: Iterable[str], max_pairs: int | None = None) -> None:
        self.rules = [parse_rule(rule) for rule in rules]
        self.max_pairs = max_pairs
        self._by_right: list[dict[Key, set[str]]] = [defaultdict(set) for _ in self.rules]
        self._by_left: list[dict[Key, set[str]]] = [defaultdict(set) for _ in self.rules]

    def add(self, record_id: str, record: Mapping[str, Any]) -> None:
        """Index a record under every rule whose columns it has."""
        for index, side, key in self._entries(record):
            self._buckets(side)[index][key].add(record_id)

    def remove(self, record_id: str, record: Mapping[str, Any]) -> None:
        """Take a record out of the index; ``record`` is the version that was added."""
        for index, side, key in self._entries(record):
            _discard(self._buckets(side)[index], key, record_id)

    def _entries(self, record: Mapping[str, Any]) -> Iterator[tuple[int, str, Key]]:
        """Yield the rule, side and key of each bucket that contains ``record``.

        Symmetric rules compare the same columns on both sides, so only their
        right side is kept.
        """
        for index, rule in enumerate(self.rules):
            sides = (
                [(RIGHT, rule.right)]
                if rule.symmetric
                else [(RIGHT, rule.right), (LEFT, rule.left)]
            )
            for side, columns in sides:
                key = key_of(record, columns)
                if key is not None:
                    yield index, side, key

    def _buckets(self, side: str) -> list[dict[Key, set[str]]]:
        return self._by_right if side == RIGHT else self._by_left

    def pair_count(self, index: int, key: Key) -> int:
        """Return how many pairs rule ``index`` joins on ``key`` among the indexed records."""
        right = len(self._by_right[index].get(key, ()))
        left = len(self._by_left[index].get(key, ()))
        return block_pairs(left, right, self.rules[index].symmetric)

    def _open(self, index: int, key: Key) -> bool:
        return self.max_pairs is None or self.pair_count(index, key) <= self.max_pairs

    def candidates(self, record_id: str, record: Mapping[str, Any]) -> set[str]:
        """Return the indexed records that a rule pairs with ``record``."""
        found: set[str] = set()
        for index, rule in enumerate(self.rules):
            as_left = key_of(record, rule.left)
            if as_left is not None and self._open(index, as_left):
                bucket = self._by_right[index].get(as_left, ())
                if rule.symmetric:
                    found.update(bucket)
                else:
                    found.update(other for other in bucket if other > record_id)
            if not rule.symmetric:
                as_right = key_of(record, rule.right)
                if as_right is not None and self._open(index, as_right):
                    bucket = self._by_left[index].get(as_right, ())
                    found.update(other for other in bucket if other < record_id)
        found.discard(record_id)
        return found

    def crossed_blocks(
        self,
        previous: Mapping[str, Mapping[str, Any] | None],
        current: Mapping[str, Mapping[str, Any] | None],
    ) -> set[str]:
        """Return the records of every block that the changes moved across ``max_pairs``.

        ``previous`` maps each changed record to its version before the
        changes and ``current`` to its version now, with None for a record
        that did not exist. The index contains the current versions. Below the
        cap a block's records pair among themselves and above it they do
        not, so every record of a block that crossed it gains or loses pairs
        with records that did not change.
        """
        if self.max_pairs is None:
            return set()
        removed = self._side_counts(previous.values())
        added = self._side_counts(current.values())
        crossed: set[str] = set()
        for index, key in {(index, key) for index, _, key in removed | added}:
            before = block_pairs(
                self._count_before(index, LEFT, key, removed, added),
                self._count_before(index, RIGHT, key, removed, added),
                self.rules[index].symmetric,
            )
            after = self.pair_count(index, key)
            if (before <= self.max_pairs) != (after <= self.max_pairs):
                crossed |= self._by_right[index].get(key, set())
                crossed |= self._by_left[index].get(key, set())
        return crossed

    def _side_counts(
        self, versions: Iterable[Mapping[str, Any] | None]
    ) -> Counter[tuple[int, str, Key]]:
        """Count ``versions`` by the rule, side and key of each bucket they go in."""
        counts: Counter[tuple[int, str, Key]] = Counter()
        for version in versions:
            if version is not None:
                counts.update(self._entries(version))
        return counts

    def _count_before(
        self,
        index: int,
        side: str,
        key: Key,
        removed: Counter[tuple[int, str, Key]],
        added: Counter[tuple[int, str, Key]],
    ) -> int:
        """Return a bucket's size before the changes: now, less new versions, plus old ones."""
        now = len(self._buckets(side)[index].get(key, ()))
        return now - added[index, side, key] + removed[index, side, key]


def _discard(buckets: dict[Key, set[str]], key: Key | None, record_id: str) -> None:
    if key is None:
        return
    bucket = buckets.get(key)
    if bucket is None:
        return
    bucket.discard(record_id)
    if not bucket:
        del buckets[key]
