"""Explain why two records match or not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from accord.config.models import Project
from accord.errors import NotFoundError
from accord.governance.decisions import current_decisions, ordered
from accord.resolve.inputs import fetch_records, term_frequency
from accord.resolve.model import load_model
from accord.resolve.scoring import PairScore, score_pair


@dataclass(frozen=True)
class Explanation:
    """Everything that decided whether two records are one customer."""

    record_a: str
    record_b: str
    score: PairScore | None
    edges: list[dict[str, Any]]
    decision: str | None
    entity_a: str | None
    entity_b: str | None
    auto_merge: float
    review: float

    @property
    def same_entity(self) -> bool:
        """Return whether both records belong to one entity now."""
        return self.entity_a is not None and self.entity_a == self.entity_b


def _entity_of(connection: duckdb.DuckDBPyConnection, record_id: str) -> str | None:
    row = connection.execute(
        """SELECT m.entity_id FROM entity_members m JOIN entities e USING (entity_id)
           WHERE m.record_id = ? AND e.entity_type = 'person'""",
        [record_id],
    ).fetchone()
    return row[0] if row else None


def explain_pair(
    connection: duckdb.DuckDBPyConnection, project: Project, record_a: str, record_b: str
) -> Explanation:
    """Return the comparison levels, weights, rules and decisions for two records."""
    records = fetch_records(connection, [record_a, record_b])
    for record in (record_a, record_b):
        if record not in records:
            raise NotFoundError(
                f"record '{record}' not found; use the source:key form, for example crm:C0001"
            )
    model = load_model(connection)
    persons = [source.name for source in project.sources if source.entity_type == "person"]
    score = None
    if model is not None and model.matches_vocabulary():
        score = score_pair(
            model,
            records[record_a],
            records[record_b],
            lambda column, value: term_frequency(connection, column, value, persons),
        )
    a, b = ordered(record_a, record_b)
    cursor = connection.execute(
        """SELECT kind, rule, match_probability, match_weight FROM match_edges
           WHERE record_a = ? AND record_b = ? ORDER BY kind, rule""",
        [a, b],
    )
    names = [column[0] for column in cursor.description or []]
    edges = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return Explanation(
        record_a=record_a,
        record_b=record_b,
        score=score,
        edges=edges,
        decision=current_decisions(connection).get((a, b)),
        entity_a=_entity_of(connection, record_a),
        entity_b=_entity_of(connection, record_b),
        auto_merge=project.matching.auto_merge,
        review=project.matching.review,
    )
