"""In-memory blocking-key indexes: a record's candidate pairs without a join.

A blocking rule is a conjunction of equalities ``l.a = r.b``. Splink's
dedupe prediction pairs two records under a rule when the record with the
smaller ID, as ``l``, has the values the other has, as ``r``. The index
keeps, per rule, the records by their right-side values. For rules that
compare different columns on the two sides it also keeps them by their
left-side values. So ``candidates`` returns exactly the records that Splink's
prediction would pair with a given one.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Key = tuple[Any, ...]

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


class BlockingIndex:
    """Records by their blocking keys, updated as records change."""

    def __init__(self, rules: Iterable[str]) -> None:
        self.rules = [parse_rule(rule) for rule in rules]
        self._by_right: list[dict[Key, set[str]]] = [defaultdict(set) for _ in self.rules]
        self._by_left: list[dict[Key, set[str]]] = [defaultdict(set) for _ in self.rules]

    def add(self, record_id: str, record: Mapping[str, Any]) -> None:
        """Index a record under every rule whose columns it has."""
        for index, rule in enumerate(self.rules):
            right = key_of(record, rule.right)
            if right is not None:
                self._by_right[index][right].add(record_id)
            if not rule.symmetric:
                left = key_of(record, rule.left)
                if left is not None:
                    self._by_left[index][left].add(record_id)

    def remove(self, record_id: str, record: Mapping[str, Any]) -> None:
        """Take a record out of the index; ``record`` is the version that was added."""
        for index, rule in enumerate(self.rules):
            _discard(self._by_right[index], key_of(record, rule.right), record_id)
            if not rule.symmetric:
                _discard(self._by_left[index], key_of(record, rule.left), record_id)

    def candidates(self, record_id: str, record: Mapping[str, Any]) -> set[str]:
        """Return the indexed records that a rule pairs with ``record``."""
        found: set[str] = set()
        for index, rule in enumerate(self.rules):
            as_left = key_of(record, rule.left)
            if as_left is not None:
                bucket = self._by_right[index].get(as_left, ())
                if rule.symmetric:
                    found.update(bucket)
                else:
                    found.update(other for other in bucket if other > record_id)
            if not rule.symmetric:
                as_right = key_of(record, rule.right)
                if as_right is not None:
                    bucket = self._by_left[index].get(as_right, ())
                    found.update(other for other in bucket if other < record_id)
        found.discard(record_id)
        return found


def _discard(buckets: dict[Key, set[str]], key: Key | None, record_id: str) -> None:
    if key is None:
        return
    bucket = buckets.get(key)
    if bucket is None:
        return
    bucket.discard(record_id)
    if not bucket:
        del buckets[key]
