"""Render entities, golden records and explanations."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from accord.errors import NotFoundError
from accord.governance.explain import Explanation
from accord.governance.lookup import entity_view
from accord.resolve.model import MatchModel
from accord.store.duckdb_store import Store


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool | list | dict):
        return json.dumps(value)
    return str(value)


def print_entity(console: Console, store: Store, key: str) -> bool:
    """Print the entity ``key`` identifies; return False when no entity matches."""
    try:
        view = entity_view(store.connection, key)
    except NotFoundError:
        if key.startswith(("per_", "org_")):
            raise
        return False
    title = f"{view.entity_type} {view.entity_id}"
    if view.requested_alias:
        title += f" (merged from {view.requested_alias})"
    members = Table(title=f"{title}: {len(view.members)} member records")
    for column in ("source", "source_key", "version", "name", "email"):
        members.add_column(column)
    for member in view.members:
        members.add_row(
            *(_text(member[c]) for c in ("source", "source_key", "version", "name", "email"))
        )
    console.print(members)
    golden = Table(title="golden record")
    for column in ("field", "value", "rule", "source", "version", "observed", "other values"):
        golden.add_column(column, overflow="fold")
    for item in view.golden:
        origin = (
            f"{item['source']}:{item['source_key']}"
            if item["source"]
            else f"{len(item['contributors'] or [])} records"
        )
        others = ", ".join(str(v) for v in item["all_values"] or [])
        golden.add_row(
            item["field"],
            _text(item["value"]),
            item["rule"],
            origin,
            _text(item["version"]),
            _text(item["observed_at"]),
            others,
        )
    console.print(golden)
    if view.related:
        label = "organizations" if view.entity_type == "person" else "contacts"
        console.print(
            f"{label}: " + ", ".join(f"{eid} {name}".strip() for eid, name in view.related)
        )
    return True


def print_explanation(console: Console, explanation: Explanation) -> None:
    """Print each comparison's level and weight, the prior, the result and what applied."""
    score = explanation.score
    if score is not None:
        table = Table(title=f"{explanation.record_a} vs {explanation.record_b}")
        for column in ("comparison", "left", "right", "level", "match weight"):
            table.add_column(column, justify="right" if column == "match weight" else "left")
        table.add_row("prior", "", "", "", f"{score.prior_weight:+.2f}")
        for level in score.levels:
            weight = f"{level.match_weight:+.2f}"
            if level.tf_adjustment:
                weight += f" (term frequency {level.tf_adjustment:+.2f})"
            table.add_row(
                level.comparison, _text(level.left), _text(level.right), level.level, weight
            )
        table.add_row("total", "", "", "", f"{score.match_weight:+.2f}", style="bold")
        console.print(table)
        console.print(
            f"match probability {score.match_probability:.4f} (auto_merge at "
            f"{explanation.auto_merge}, review at {explanation.review})"
        )
    else:
        console.print("no current match model to score the pair; run 'accord train'")
    for edge in explanation.edges:
        console.print(
            f"applied: {edge['kind']} link" + (f" by rule '{edge['rule']}'" if edge["rule"] else "")
        )
    if explanation.decision:
        console.print(f"manual decision: {explanation.decision}")
    verdict = "the same entity" if explanation.same_entity else "different entities"
    console.print(f"now: {verdict} ({explanation.entity_a} / {explanation.entity_b})")


def print_weights(console: Console, model: MatchModel) -> None:
    """Print the match weight of every comparison level."""
    table = Table(
        title=f"match weights (model trained {model.trained_at}, {model.records} records)"
    )
    for column in ("comparison", "level", "m", "u", "match weight"):
        table.add_column(column, justify="left" if column in ("comparison", "level") else "right")
    for settings, weights in zip(model.settings["comparisons"], model.level_weights(), strict=True):
        for level, weight in zip(settings["comparison_levels"], weights, strict=True):
            m, u = level.get("m_probability"), level.get("u_probability")
            table.add_row(
                settings["output_column_name"],
                level.get("label_for_charts", ""),
                "" if m is None else f"{m:.4g}",
                "" if u is None else f"{u:.4g}",
                "" if level.get("is_null_level") else f"{weight:+.2f}",
            )
    console.print(table)
    console.print(f"prior probability that two records match: {model.prior:.3g}")
