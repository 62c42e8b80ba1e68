"""Resolution and merge stages that run inside the batch transaction.

Order: build the input, stitch deterministically, score pairs with the match
model, apply the distinguishing-field guard and manual decisions, cluster,
assign stable IDs, resolve organizations, then merge golden records.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from accord.config.loader import LoadedProject
from accord.config.models import Project
from accord.governance.decisions import current_decisions, ordered, replace_review_queue
from accord.logs import get_logger
from accord.merge.survivorship import merge_golden
from accord.progress import Progress
from accord.resolve import deterministic
from accord.resolve.clustering import Edge, cluster, cluster_with_report, join_singletons
from accord.resolve.comparisons import INPUT_COLUMNS, build_comparisons
from accord.resolve.entities import EntityChanges, save_entities
from accord.resolve.guards import email_names_either, missing_given_name_conflict
from accord.resolve.inputs import INPUT_TABLE, build_input
from accord.resolve.model import (
    MatchModel,
    available_columns,
    blocking_rules,
    build_settings,
    choose_comparisons,
    load_model,
    save_model,
    train,
)
from accord.resolve.organizations import resolve_organizations
from accord.resolve.prediction import predict
from accord.resolve.thin_records import REVIEW_RULE, email_only_links, unique_candidate_links
from accord.resolve.thin_records import RULE as THIN_RULE
from accord.store.bulk import insert_columns, register
from accord.store.duckdb_store import memory_shared_with

logger = get_logger(__name__)

DETERMINISTIC_WEIGHT = 1e6
# Links inferred from weaker evidence than a shared key: a shared email on records whose given
# names differ, and a lone record joined to the one customer it can be. Where a cannot-link pair
# splits a component, the greedy split keeps the stronger links first, so the outcome does not
# depend on the order of record IDs.
INFERRED_WEIGHT = 1e5


@dataclass
class PairSet:
    """Pairs found in one run, split by what happens to them."""

    edges: list[Edge] = field(default_factory=list)
    cannot_link: set[tuple[str, str]] = field(default_factory=set)
    review: list[tuple[str, str, float, Any]] = field(default_factory=list)
    log: dict[str, list[Any]] = field(
        default_factory=lambda: {
            k: []
            for k in ("record_a", "record_b", "kind", "rule", "match_probability", "match_weight")
        }
    )
    guarded: int = 0

    def record(
        self,
        a: str,
        b: str,
        kind: str,
        rule: str | None,
        probability: float | None,
        weight: float | None,
    ) -> None:
        """Keep an accepted or guarded pair for explanations."""
        # One append per column: batch resolution records close to a million pairs.
        log = self.log
        log["record_a"].append(a)
        log["record_b"].append(b)
        log["kind"].append(kind)
        log["rule"].append(rule)
        log["match_probability"].append(probability)
        log["match_weight"].append(weight)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def after_ingest(
    loaded: LoadedProject,
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    progress: Progress,
) -> dict[str, Any]:
    """Resolve person entities, organizations and golden records from the stored records."""
    project = loaded.project
    now = _now()
    progress.begin("resolve", None)
    stats = resolve_persons(connection, project, run_id, now)
    if project.matching.organizations:
        stats["organizations"] = resolve_organizations(connection, project, now, run_id)
    progress.end("resolve")
    progress.begin("merge", None)
    stats["golden values changed"] = merge_golden(connection, project, run_id)
    progress.end("merge")
    return stats


def person_input(project: Project) -> tuple[list[str], list[str]]:
    """Return the person sources and the extra fields the deterministic rules read."""
    sources = [source.name for source in project.sources if source.entity_type == "person"]
    rules = deterministic.rules_for(project)
    return sources, sorted({name for rule in rules for name in rule.fields})


def resolve_persons(
    connection: duckdb.DuckDBPyConnection, project: Project, run_id: int, now: datetime
) -> dict[str, Any]:
    """Cluster the live person records into entities with stable IDs."""
    sources, extra = person_input(project)
    count = build_input(connection, sources, extra)
    available = available_columns(connection, INPUT_TABLE, list(INPUT_COLUMNS) + extra)
    pairs = PairSet()
    # Training and prediction run on connections of their own, so the store lends them
    # most of its memory cap.
    with memory_shared_with(connection):
        model, table = _stitch_and_model(connection, project, available, count, now, pairs)
        if model is not None and count >= 2:
            _predicted_pairs(connection, project, model, pairs, table)
    nodes = [
        row[0] for row in connection.execute(f"SELECT record_id FROM {INPUT_TABLE}").fetchall()
    ]
    labels, open_reviews = settle(connection, nodes, pairs)
    replace_review_queue(connection, open_reviews, run_id)
    _, changes = save_entities(connection, "person", labels, now, run_id)
    connection.execute("DELETE FROM match_edges")
    insert_columns(
        connection, "match_edges", {**pairs.log, "run_id": [run_id] * len(pairs.log["kind"])}
    )
    return {
        **resolution_stats(count, changes, pairs, len(open_reviews)),
        "entities": changes.entities,
    }


def resolution_stats(
    records: int, changes: EntityChanges, pairs: PairSet, reviews: int
) -> dict[str, Any]:
    """Return the run-summary counts of one resolution."""
    return {
        "records resolved": records,
        "entities created": changes.created,
        "entities merged away": changes.merged,
        "entities split": changes.split,
        "linked pairs": len(pairs.edges),
        "pairs for review": reviews,
        "pairs kept apart by distinguishing fields": pairs.guarded,
    }


def settle(
    connection: duckdb.DuckDBPyConnection,
    nodes: list[str],
    pairs: PairSet,
    decisions: Mapping[tuple[str, str], str] | None = None,
    email_only: bool = True,
) -> tuple[dict[str, str], list[tuple[str, str, float, Any]]]:
    """Apply manual decisions, cluster ``nodes`` and attach lone records.

    ``nodes`` are the records of the resolution input table; ``decisions``
    defaults to every stored decision. With ``email_only`` False no node
    carries only an email, and no email-only record is looked for. Returns
    record -> cluster label and the review pairs left open.
    """
    if decisions is None:
        decisions = current_decisions(connection)
    # A decision naming a deleted record constrains nothing.
    live = set(nodes)
    decisions = {pair: d for pair, d in decisions.items() if pair[0] in live and pair[1] in live}
    _apply_decisions(decisions, pairs)
    result = cluster_with_report(nodes, pairs.edges, sorted(pairs.cannot_link))
    labels = result.labels
    split = {labels[end] for cut in result.cut_edges for end in (cut.edge.a, cut.edge.b)}
    labels = _attach_lone_records(connection, nodes, labels, pairs, decisions, split, email_only)
    _drop_settled_reviews(pairs, labels)
    return labels, _open_reviews(pairs, decisions)


def _attach_lone_records(
    connection: duckdb.DuckDBPyConnection,
    nodes: list[str],
    labels: dict[str, str],
    pairs: PairSet,
    decisions: Mapping[tuple[str, str], str],
    split: set[str],
    email_only: bool,
) -> dict[str, str]:
    """Join records left alone to the one customer they can be.

    ``split`` contains the labels of the clusters that a cut edge touches.
    """
    email_links = email_only_links(connection, labels) if email_only else []
    attached = [(a, b, THIN_RULE) for a, b in email_links]
    reviews = _open_reviews(pairs, decisions)
    attached += [
        (a, b, REVIEW_RULE) for a, b in unique_candidate_links(connection, labels, reviews)
    ]
    if not attached:
        return labels
    for lone, other, rule in attached:
        pairs.edges.append(Edge(lone, other, INFERRED_WEIGHT))
        pairs.record(*ordered(lone, other), "deterministic", rule, None, None)
    links = [(lone, other) for lone, other, _ in attached]
    joined = join_singletons(labels, links, pairs.cannot_link, split)
    if joined is not None:
        return joined
    return cluster(nodes, pairs.edges, sorted(pairs.cannot_link))


def _drop_settled_reviews(pairs: PairSet, labels: dict[str, str]) -> None:
    """Remove review pairs whose records ended up in one entity anyway."""
    pairs.review = [pair for pair in pairs.review if labels[pair[0]] != labels[pair[1]]]


def _guard_sql(project: Project) -> list[tuple[str, str]]:
    """Return (comparison name, SQL gamma expression) for each distinguishing field."""
    comparisons = {c.name: c for c in build_comparisons(["name", "birth_date"])}
    return [(name, comparisons[name].gamma_sql()) for name in project.matching.distinguishing]


def _stitched_pairs(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    rules: list[Any],
    available: set[str],
    guard_sql: list[tuple[str, str]],
    pairs: PairSet,
) -> None:
    table, _ = deterministic.stitch(connection, INPUT_TABLE, rules, project.matching, available)
    conflict = _conflict_sql(guard_sql, available)
    apply_stitched(connection, project, _stitched_rows(connection, table, conflict), pairs)


def apply_stitched(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    rows: list[tuple[Any, ...]],
    pairs: PairSet,
) -> None:
    """Turn stitched pairs into edges, or into cannot-link pairs where the guard blocks them.

    Each row is (record_a, record_b, rule, guarded rule, a distinguishing field
    differs, only one record has a given name and both have the same family
    name). Only a guarded pair with one of the two flags can be blocked, so only
    those pairs' records are read.
    """
    check = "first_name" in project.matching.distinguishing
    doubtful = [(a, b) for a, b, _, guard, differ, hint in rows if guard and (differ or hint)]
    records = _guard_records(connection, doubtful) if check and doubtful else {}
    for a, b, rule, guard, conflict_flag, hint in rows:
        doubt = guard and (conflict_flag or hint)
        if doubt and _stitch_blocked(records, a, b, bool(conflict_flag)):
            pairs.cannot_link.add(ordered(a, b))
            pairs.guarded += 1
            pairs.record(a, b, "guarded", rule, None, None)
        else:
            weight = INFERRED_WEIGHT if guard and conflict_flag else DETERMINISTIC_WEIGHT
            pairs.edges.append(Edge(a, b, weight))
            pairs.record(a, b, "deterministic", rule, 1.0, None)


def _stitch_blocked(
    records: dict[str, dict[str, object]], a: str, b: str, names_differ: bool
) -> bool:
    """Return whether the given-name guard blocks a deterministic link.

    Differing given names block the link unless the shared email names one of
    the two records; a missing given name blocks it when the email of that
    record contradicts the other's given name.
    """
    left, right = records.get(a), records.get(b)
    if left is None or right is None:
        return names_differ
    if names_differ:
        return not email_names_either(left, right)
    return missing_given_name_conflict(left, right)


def _guard_records(
    connection: duckdb.DuckDBPyConnection, candidates: list[tuple[str, str]]
) -> dict[str, dict[str, object]]:
    """Return the given name, family name and email letters of the records in ``candidates``."""
    ids = sorted({record for pair in candidates for record in pair})
    register(connection, "accord_hint_ids", pa.table({"record_id": pa.array(ids, pa.string())}))
    try:
        rows = connection.execute(
            f"""SELECT record_id, first_name_key, last_name_key, email_local_key
                FROM {INPUT_TABLE} WHERE record_id IN (SELECT record_id FROM accord_hint_ids)"""
        ).fetchall()
    finally:
        connection.unregister("accord_hint_ids")
    return {
        row[0]: {"first_name_key": row[1], "last_name_key": row[2], "email_local_key": row[3]}
        for row in rows
    }


def _hint_conflicts(
    connection: duckdb.DuckDBPyConnection, candidates: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Return the pairs whose missing given name is contradicted by an email hint."""
    if not candidates:
        return set()
    records = _guard_records(connection, candidates)
    return {
        (a, b)
        for a, b in candidates
        if a in records and b in records and missing_given_name_conflict(records[a], records[b])
    }


def _stitched_rows(
    connection: duckdb.DuckDBPyConnection, table: str, conflict: str
) -> list[tuple[Any, ...]]:
    columns = [row[0] for row in connection.execute(f"DESCRIBE {INPUT_TABLE}").fetchall()]
    left = ", ".join(f'l."{c}" AS "{c}_l"' for c in columns)
    right = ", ".join(f'r."{c}" AS "{c}_r"' for c in columns)
    return connection.execute(
        f"""
        WITH joined AS (
            SELECT s.record_a, s.record_b, s.rule, s.guard, {left}, {right}
            FROM {table} s
            JOIN {INPUT_TABLE} l ON l.record_id = s.record_a
            JOIN {INPUT_TABLE} r ON r.record_id = s.record_b)
        SELECT record_a, record_b, rule, guard, guard AND ({conflict}),
               (first_name_key_l IS NULL) <> (first_name_key_r IS NULL)
                   AND coalesce(last_name_key_l = last_name_key_r, FALSE)
        FROM joined ORDER BY record_a, record_b, rule
        """
    ).fetchall()


# The input column each distinguishing comparison needs before it can keep records apart.
GUARD_COLUMNS = {"first_name": "first_name_key", "birth_date": "birth_date"}


def _conflict_sql(guard_sql: list[tuple[str, str]], available: set[str]) -> str:
    parts = [f"({sql}) = 0" for name, sql in guard_sql if GUARD_COLUMNS[name] in available]
    return " OR ".join(parts) if parts else "FALSE"


def _stitch_and_model(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    available: set[str],
    count: int,
    now: datetime,
    pairs: PairSet,
) -> tuple[MatchModel | None, pa.Table | None]:
    """Add the stitched pairs to ``pairs`` and return the match model and the input it read.

    A model that must be trained is trained on a second thread while the
    store's connection stitches. The input table is None when no training read it.
    """
    rules = deterministic.rules_for(project)
    guard_sql = _guard_sql(project)
    names = choose_comparisons(project.matching, available)
    model = _stored_model(connection, names)
    if model is not None or not names or count < 2:
        _stitched_pairs(connection, project, rules, available, guard_sql, pairs)
        return model, None
    table = _input_arrow(connection)
    with ThreadPoolExecutor(1, thread_name_prefix="accord-train") as pool:
        training = pool.submit(_train, table, project, available, names, now)
        _stitched_pairs(connection, project, rules, available, guard_sql, pairs)
        model = training.result()
    save_model(connection, model)
    return model, table


def _stored_model(connection: duckdb.DuckDBPyConnection, names: list[str]) -> MatchModel | None:
    """Return the stored model when it has the comparisons ``names``, or None."""
    if not names:
        logger.info("no comparison has data; only deterministic rules link records")
        return None
    model = load_model(connection)
    if model is not None and model.comparison_names == names and model.matches_vocabulary():
        return model
    return None


def train_model(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    available: set[str],
    names: list[str],
    now: datetime,
) -> MatchModel:
    """Train a model on the current input table and store it."""
    model = _train(_input_arrow(connection), project, available, names, now)
    save_model(connection, model)
    return model


def _train(
    table: pa.Table, project: Project, available: set[str], names: list[str], now: datetime
) -> MatchModel:
    """Train a model on ``table``, the resolution input, with connections of its own.

    Batch resolution runs this on a second thread while the store's
    connection stitches, because training is mostly DuckDB work that
    leaves the interpreter free.
    """
    rules = blocking_rules(project.matching, available, table)
    settings = build_settings(build_comparisons(names), rules)
    return train(table, names, settings, project.matching, available, now)


def _input_arrow(connection: duckdb.DuckDBPyConnection) -> pa.Table:
    connection.complete()
    return connection.sql(f"SELECT * FROM {INPUT_TABLE}").to_arrow_table()


def _predicted_pairs(
    connection: duckdb.DuckDBPyConnection,
    project: Project,
    model: MatchModel,
    pairs: PairSet,
    table: pa.Table | None,
) -> None:
    """Score the blocked pairs of the input table, read from ``table`` when it is given."""
    scored = predict(
        _input_arrow(connection) if table is None else table,
        model,
        project.matching.review,
        project.matching.max_block_pairs,
    )
    apply_scored(connection, project, scored, pairs)


def apply_scored(
    connection: duckdb.DuckDBPyConnection, project: Project, scored: pa.Table, pairs: PairSet
) -> None:
    """Sort scored pairs into guarded, linked and review pairs.

    ``scored`` has ``record_id_l``, ``record_id_r``, ``match_probability``,
    ``match_weight`` and a ``gamma_<comparison>`` column per comparison, for
    the pairs at or above the review threshold. The masks are computed on the
    Arrow columns, so only the pairs kept in ``pairs`` become Python objects.
    Pairs keep the order of the scored table.
    """
    matching = project.matching
    left, right = scored.column("record_id_l"), scored.column("record_id_r")
    swap = pc.greater(left, right)
    first = pc.if_else(swap, right, left)
    second = pc.if_else(swap, left, right)
    keys = _pair_keys(first, second)
    stitched = pc.is_in(keys, value_set=_pair_keys(*_edge_ends(pairs.edges)))

    guarded = _guard_mask(connection, scored, matching.distinguishing, first, second, keys)
    guarded = pc.and_(pc.invert(stitched), guarded)
    linked = pc.and_(
        pc.invert(pc.or_(stitched, guarded)),
        pc.greater_equal(scored.column("match_probability"), matching.auto_merge),
    )
    review = pc.invert(pc.or_(pc.or_(stitched, guarded), linked))
    columns = pa.table(
        {
            "a": first,
            "b": second,
            "probability": scored.column("match_probability"),
            "weight": scored.column("match_weight"),
            "guarded": guarded,
        }
    )
    _keep_predicted(pairs, columns.filter(guarded), columns.filter(linked))
    kept = columns.filter(review)
    pairs.review.extend(
        zip(
            kept.column("a").to_pylist(),
            kept.column("b").to_pylist(),
            kept.column("probability").to_pylist(),
            kept.column("weight").to_pylist(),
            strict=True,
        )
    )
    _log_predicted(pairs, columns.filter(pc.or_(guarded, linked)))


def _pair_keys(first: pa.ChunkedArray | pa.Array, second: pa.ChunkedArray | pa.Array) -> Any:
    """Return one string per pair: both IDs, escaped, joined by NUL, so distinct pairs differ."""
    return pc.binary_join_element_wise(_escape_nul(first), _escape_nul(second), "\x00")


def _escape_nul(ids: pa.ChunkedArray | pa.Array) -> Any:
    escaped = pc.replace_substring(ids, "\\", "\\\\")
    return pc.replace_substring(escaped, "\x00", "\\0")


def _edge_ends(edges: list[Edge]) -> tuple[pa.Array, pa.Array]:
    ends = [ordered(edge.a, edge.b) for edge in edges]
    return (
        pa.array([a for a, _ in ends], pa.string()),
        pa.array([b for _, b in ends], pa.string()),
    )


def _guard_mask(
    connection: duckdb.DuckDBPyConnection,
    scored: pa.Table,
    distinguishing: Sequence[str],
    first: Any,
    second: Any,
    keys: Any,
) -> Any:
    """Return which scored pairs a distinguishing field or an email hint keeps apart."""
    names = scored.column_names
    mask = pa.array([False] * scored.num_rows, pa.bool_())
    for name in distinguishing:
        if f"gamma_{name}" in names:
            differs = pc.fill_null(pc.equal(scored.column(f"gamma_{name}"), 0), False)
            mask = pc.or_(mask, differs)
    if "gamma_first_name" not in names or "first_name" not in distinguishing:
        return mask
    unnamed = pc.fill_null(pc.equal(scored.column("gamma_first_name"), -1), False)
    candidates = list(
        zip(
            pc.filter(first, unnamed).to_pylist(),
            pc.filter(second, unnamed).to_pylist(),
            strict=True,
        )
    )
    hints = sorted(_hint_conflicts(connection, candidates))
    if not hints:
        return mask
    hint_keys = _pair_keys(
        pa.array([a for a, _ in hints], pa.string()), pa.array([b for _, b in hints], pa.string())
    )
    return pc.or_(mask, pc.is_in(keys, value_set=hint_keys))


def _keep_predicted(pairs: PairSet, guarded: pa.Table, linked: pa.Table) -> None:
    """Add guarded pairs to ``cannot_link`` and linked pairs to ``edges``."""
    pairs.cannot_link.update(
        zip(guarded.column("a").to_pylist(), guarded.column("b").to_pylist(), strict=True)
    )
    pairs.guarded += guarded.num_rows
    pairs.edges.extend(
        Edge(a, b, weight)
        for a, b, weight in zip(
            linked.column("a").to_pylist(),
            linked.column("b").to_pylist(),
            linked.column("weight").to_pylist(),
            strict=True,
        )
    )


def _log_predicted(pairs: PairSet, recorded: pa.Table) -> None:
    """Log guarded and linked pairs for explanations, in scored order."""
    guarded = recorded.column("guarded").to_pylist()
    log = pairs.log
    log["record_a"].extend(recorded.column("a").to_pylist())
    log["record_b"].extend(recorded.column("b").to_pylist())
    log["kind"].extend("guarded" if flag else "probabilistic" for flag in guarded)
    log["rule"].extend("distinguishing field differs" if flag else None for flag in guarded)
    log["match_probability"].extend(recorded.column("probability").to_pylist())
    log["match_weight"].extend(recorded.column("weight").to_pylist())


def _apply_decisions(decisions: Mapping[tuple[str, str], str], pairs: PairSet) -> None:
    for (a, b), decision in sorted(decisions.items()):
        if decision == "must_link":
            pairs.cannot_link.discard((a, b))
            pairs.edges.append(Edge(a, b, math.inf))
            pairs.record(a, b, "manual", "must_link", None, None)
        else:
            pairs.cannot_link.add((a, b))
            pairs.record(a, b, "manual", "cannot_link", None, None)


def _open_reviews(
    pairs: PairSet, decisions: Mapping[tuple[str, str], str]
) -> list[tuple[str, str, float, Any]]:
    linked = {ordered(edge.a, edge.b) for edge in pairs.edges}
    return [
        pair
        for pair in pairs.review
        if (pair[0], pair[1]) not in decisions and (pair[0], pair[1]) not in linked
    ]
