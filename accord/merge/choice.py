"""Choose golden values in process, by the same ordered rules as the SQL merge.

A merge of the few entities that one stream micro-batch touches reads a few
dozen member records. There the planning and operator set-up of the SQL
merge's window queries cost several times more than ranking the candidates
in Python. The functions here rank the candidates that the SQL merge would
build, by the same keys: each rule's sort key, smaller first, then the
source name and the source key. The inputs that SQL computes (epoch seconds,
JSON text) come from the store, so both merges compare the same numbers and
strings. Aggregate rules are not chosen here (see ``survivorship``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from accord.config.models import FieldSurvivorship

ORGANIZATION_FIELDS = ("company_name", "company_domain")
# Offsets of the 'most_recent' key, as in the SQL merge: a record without its
# own change time ranks after every record with one, by when Accord saw it.
_OBSERVED_OFFSET = 1e12
_NO_TIME = -1e18


@dataclass(frozen=True)
class Member:
    """One live member record of an entity in the merge scope.

    ``values`` contains the JSON text of each golden field (None when absent)
    and ``texts`` the same values as plain text, in the order of the fields
    passed to ``candidates``. Both are None for a record without data.
    ``observed_at`` is DuckDB's text of the timestamp, because Python's
    datetime cannot hold every timestamp DuckDB can ('infinity', year 12000).
    """

    entity_id: str
    entity_type: str
    source: str
    source_key: str
    version: int
    source_epoch: float | None
    observed_epoch: float | None
    observed_at: str | None
    values: Sequence[str | None] | None
    texts: Sequence[str | None] | None


@dataclass(frozen=True)
class Candidate:
    """One member's non-empty value of one field."""

    member: Member
    value: str
    text: str
    completeness: int


@dataclass(frozen=True)
class Choice:
    """A chosen golden value and its lineage; ``all_values`` lists the distinct values seen."""

    entity_id: str
    field: str
    value: str
    rule: str
    source: str
    source_key: str
    version: int
    observed_at: str | None
    all_values: list[str] | None


def candidates(
    members: Iterable[Member], fields: Sequence[str], organization_sources: Iterable[str]
) -> dict[tuple[str, str], list[Candidate]]:
    """Return the candidates per (entity ID, field).

    A person record that names a company contributes only the company fields
    to that organization's golden record, and records of organization
    sources contribute every field.
    """
    org_sources = set(organization_sources)
    grouped: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for member in members:
        if member.values is None or member.texts is None:
            continue
        completeness = sum(1 for text in member.texts if text is not None and text != "")
        every_field = member.entity_type == "person" or member.source in org_sources
        for field, value, text in zip(fields, member.values, member.texts, strict=True):
            if value is None or text is None or text == "":
                continue
            if every_field or field in ORGANIZATION_FIELDS:
                grouped[(member.entity_id, field)].append(
                    Candidate(member, value, text, completeness)
                )
    return grouped


def choose(entity_id: str, field: str, group: list[Candidate], spec: FieldSurvivorship) -> Choice:
    """Choose the golden value of one field of one entity by the ordered rules of ``spec``."""
    if len(group) == 1:
        return _choice(entity_id, field, group[0], "single_source", None)
    frequency = Counter(candidate.text for candidate in group)
    sources = spec.sources or []

    def keys(candidate: Candidate) -> tuple[float, ...]:
        return tuple(
            _rule_key(rule, candidate, sources, frequency[candidate.text]) for rule in spec.rules
        )

    ranked = sorted(group, key=lambda c: (keys(c), c.member.source, c.member.source_key))
    winner = ranked[0]
    runner = next((c for c in ranked if c.text != winner.text), None)
    distinct = sorted({candidate.text for candidate in group})
    if runner is None:
        rule = "agreement"
    else:
        rule = next(
            (
                name
                for name, won, lost in zip(spec.rules, keys(winner), keys(runner), strict=True)
                if won != lost
            ),
            "tie_break",
        )
    return _choice(entity_id, field, winner, rule, distinct if len(distinct) > 1 else None)


def _rule_key(rule: str, candidate: Candidate, sources: list[str], frequency: int) -> float:
    """Return the candidate's sort key for one ordering rule; the smallest key wins."""
    member = candidate.member
    if rule == "source_priority":
        return sources.index(member.source) if member.source in sources else len(sources)
    if rule == "most_recent":
        if member.source_epoch is not None:
            return -member.source_epoch
        if member.observed_epoch is not None:
            return -(member.observed_epoch - _OBSERVED_OFFSET)
        return -_NO_TIME
    if rule == "most_frequent":
        return -frequency
    if rule == "most_complete":
        return -candidate.completeness
    if rule == "longest":
        return -len(candidate.text)
    raise ValueError(f"unknown ordering rule {rule!r}")


def _choice(
    entity_id: str, field: str, winner: Candidate, rule: str, all_values: list[str] | None
) -> Choice:
    member = winner.member
    return Choice(
        entity_id,
        field,
        winner.value,
        rule,
        member.source,
        member.source_key,
        member.version,
        member.observed_at,
        all_values,
    )
