"""Incremental resolution: re-resolve only the records that a change can affect.

``ResolutionState`` keeps the batch resolution input of every live person
record in memory, with blocking-key and stitching indexes, term-frequency
counts, entity membership and the stored edges. A micro-batch of changed
records is resolved inside an *area*. The area starts with the changed
records and the records a blocking or stitching rule pairs with them. Then,
until nothing is added, it takes in every record that shares an entity, a
stored edge or a manual decision with an area record, and the records that
the thin-record rules read for one. Inside the area the batch steps run on
the same pairs, with stitching and scoring done in process instead of in SQL
and Splink. Outside it no cluster can change.

NOTE: a change shifts the term frequencies of its values, and pairs of two
unchanged records keep the weights they were scored with until the next
batch run. A pair near the match threshold can therefore differ from a
batch run until then.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from accord.config.models import Project
from accord.governance.decisions import current_decisions, replace_review_queue
from accord.logs import get_logger
from accord.merge.scoped import merge_scoped
from accord.resolve import deterministic
from accord.resolve.blocking_index import BlockingIndex, Key, key_of
from accord.resolve.comparisons import Comparison, build_comparisons
from accord.resolve.entities import save_entities
from accord.resolve.inputs import (
    INPUT_TABLE,
    add_nickname_set,
    build_input,
    input_rows,
    split_record_id,
)
from accord.resolve.model import MatchModel, choose_comparisons, load_model
from accord.resolve.organizations import (
    OrganizationIndex,
    replace_links,
    resolve_organizations_in_area,
)
from accord.resolve.record_keys import Written, from_written, input_row
from accord.resolve.scoring import score_pair
from accord.resolve.stage import (
    GUARD_COLUMNS,
    PairSet,
    apply_scored,
    apply_stitched,
    person_input,
    resolution_stats,
    settle,
)
from accord.store.bulk import create_temp_table, insert_columns, register

logger = get_logger(__name__)

Record = dict[str, Any]
NAME_KEYS = ("name_full_key", "name_reversed_key", "name_initial_key")
THIN_EMAIL_LETTERS = 4


@dataclass
class StitchIndex:
    """Records by the key of one deterministic rule."""

    name: str
    fields: tuple[str, ...]
    guard: bool
    buckets: dict[Key, set[str]] = field(default_factory=lambda: defaultdict(set))

    def key(self, record: Mapping[str, Any]) -> Key | None:
        """Return the record's key, or None when the rule does not stitch it."""
        key = key_of(record, self.fields)
        if key is None or any(str(value) == "" for value in key):
            return None
        if "email_key" in self.fields and record.get("email_is_role"):
            return None
        return key

    def bucket(self, record: Mapping[str, Any]) -> set[str]:
        """Return the records that share the record's key, itself included."""
        key = self.key(record)
        return self.buckets.get(key, set()) if key is not None else set()


def is_thin_email(record: Mapping[str, Any]) -> bool:
    """Return whether the record has no name and an email the name rules can read."""
    local = record.get("email_local_key")
    return (
        record.get("first_name_key") is None
        and record.get("last_name_key") is None
        and local is not None
        and len(str(local)) >= THIN_EMAIL_LETTERS
    )


def is_thin_named(record: Mapping[str, Any]) -> bool:
    """Return whether the record has a full name but no phone, street or birth date."""
    return record.get("name_full_key") is not None and all(
        record.get(column) is None for column in ("phone_key", "street_key", "birth_date")
    )


class ResolutionState:
    """The live person records and the indexes incremental resolution reads."""

    def __init__(
        self,
        project: Project,
        model: MatchModel,
        schema: pa.Schema,
        sources: list[str],
        extra: list[str],
    ) -> None:
        self.project = project
        self.model = model
        self.schema = schema
        self.sources = sources
        self.extra = extra
        self.comparisons: list[Comparison] = model.comparisons()
        self.blocking = BlockingIndex(
            model.prediction_rules(), project.matching.max_block_pairs
        )
        self.stitching = [
            StitchIndex(rule.name, tuple(rule.fields), rule.guard)
            for rule in deterministic.rules_for(project)
        ]
        tf_columns = {
            level.tf_column for c in self.comparisons for level in c.levels if level.tf_column
        }
        self.frequencies: dict[str, Counter[Any]] = {column: Counter() for column in tf_columns}
        self.non_null: Counter[str] = Counter()
        self.records: dict[str, Record] = {}
        self.names: dict[str, dict[Any, set[str]]] = {c: defaultdict(set) for c in NAME_KEYS}
        self.thin_emails: dict[Any, set[str]] = defaultdict(set)
        self.thin_named: Counter[Any] = Counter()
        self.entity_of: dict[str, str] = {}
        self.members: dict[str, set[str]] = defaultdict(set)
        self.links: dict[str, set[str]] = defaultdict(set)
        self.decisions: Mapping[tuple[str, str], str] = {}
        self.used_ids: set[str] = set()
        self.organizations: OrganizationIndex | None = None

    # Records and indexes.

    def add(self, record_id: str, record: Record) -> None:
        """Add a live record to every index."""
        self.records[record_id] = record
        self.blocking.add(record_id, record)
        for rule in self.stitching:
            key = rule.key(record)
            if key is not None:
                rule.buckets[key].add(record_id)
        self._count(record, 1)
        for column in NAME_KEYS:
            if record.get(column) is not None:
                self.names[column][record[column]].add(record_id)
        if is_thin_email(record):
            self.thin_emails[record["email_local_key"]].add(record_id)
        if is_thin_named(record):
            self.thin_named[record["name_full_key"]] += 1

    def remove(self, record_id: str) -> Record | None:
        """Take a record out of every index and return the version that was stored."""
        record = self.records.pop(record_id, None)
        if record is None:
            return None
        self.blocking.remove(record_id, record)
        for rule in self.stitching:
            key = rule.key(record)
            if key is not None:
                _discard(rule.buckets, key, record_id)
        self._count(record, -1)
        for column in NAME_KEYS:
            if record.get(column) is not None:
                _discard(self.names[column], record[column], record_id)
        if is_thin_email(record):
            _discard(self.thin_emails, record["email_local_key"], record_id)
        if is_thin_named(record):
            self.thin_named[record["name_full_key"]] -= 1
        return record

    def _count(self, record: Record, step: int) -> None:
        for column, value in record.items():
            if value is not None:
                self.non_null[column] += step
        for column, counts in self.frequencies.items():
            value = record.get(column)
            if value is not None:
                counts[value] += step
                if counts[value] <= 0:
                    del counts[value]

    def available(self) -> set[str]:
        """Return the input columns that hold a value in at least one record."""
        return {column for column, count in self.non_null.items() if count > 0}

    def term_frequency(self, column: str, value: Any) -> float | None:
        """Return the share of the column's non-null values equal to ``value``."""
        counts = self.frequencies.get(column)
        total = self.non_null.get(column, 0)
        if counts is None or value is None or total <= 0:
            return None
        return counts.get(value, 0) / total or None

    # The area a change can affect.

    def area(self, changed: Iterable[str], previous: Mapping[str, Record]) -> set[str]:
        """Return every record whose cluster the changes can affect, changed records included."""
        limit = self.project.matching.max_group_size
        adjacency = _decision_adjacency(self.decisions)
        changed = set(changed)
        queue = list(changed)
        for record_id in changed:
            # Both versions count: the old one's pairs and name relations end, the new one's begin.
            for version in (self.records.get(record_id), previous.get(record_id)):
                if version is None:
                    continue
                queue.extend(self.blocking.candidates(record_id, version))
                queue.extend(self._thin_related(version))
                for rule in self.stitching:
                    bucket = rule.bucket(version)
                    # A group stitches while it has at most 'limit' records, before or after.
                    if len(bucket - changed) <= limit:
                        queue.extend(bucket)
        queue.extend(
            self.blocking.crossed_blocks(
                {record_id: previous.get(record_id) for record_id in changed},
                {record_id: self.records.get(record_id) for record_id in changed},
            )
        )
        area: set[str] = set()
        while queue:
            record_id = queue.pop()
            if record_id not in area:
                area.add(record_id)
                queue.extend(self._neighbours(record_id, adjacency) - area)
        return area

    def _neighbours(self, record_id: str, decided: Mapping[str, set[str]]) -> set[str]:
        out = set(self.links.get(record_id, ())) | decided.get(record_id, set())
        entity = self.entity_of.get(record_id)
        if entity is not None:
            out |= self.members[entity]
        record = self.records.get(record_id)
        if record is not None:
            out |= self._thin_related(record)
        return out

    def _thin_related(self, record: Record) -> set[str]:
        """Return the records the thin-record rules compare with ``record``."""
        out: set[str] = set()
        if is_thin_email(record):
            for column in NAME_KEYS:
                out |= self.names[column].get(record["email_local_key"], set())
        for column in NAME_KEYS:
            value = record.get(column)
            if value is not None:
                out |= self.thin_emails.get(value, set())
        full = record.get("name_full_key")
        if full is not None and self.thin_named.get(full, 0) > 0:
            out |= self.names["name_full_key"].get(full, set())
        return out

    # Pairs inside an area.

    def stitched_rows(self, nodes: set[str]) -> list[tuple[Any, ...]]:
        """Return the stitched pairs inside ``nodes`` as the batch SQL returns them."""
        limit = self.project.matching.max_group_size
        available = self.available()
        guards = self._guard_comparisons(available)
        rows = []
        for rule in self.stitching:
            if any(name not in available for name in rule.fields):
                continue
            for a in nodes:
                bucket = rule.bucket(self.records[a])
                if len(bucket) > limit:
                    continue
                for b in bucket:
                    if a < b and b in nodes:
                        conflict = rule.guard and self._differs(guards, a, b)
                        hint = rule.guard and self._hint_applies(a, b)
                        rows.append((a, b, rule.name, rule.guard, conflict, hint))
        return sorted(rows)

    def _guard_comparisons(self, available: set[str]) -> list[Comparison]:
        wanted = self.project.matching.distinguishing
        return [
            comparison
            for comparison in build_comparisons(["name", "birth_date"])
            if comparison.name in wanted and GUARD_COLUMNS[comparison.name] in available
        ]

    def _hint_applies(self, a: str, b: str) -> bool:
        """Return whether only one record has a given name and both the same family name."""
        left, right = self.records[a], self.records[b]
        if (left.get("first_name_key") is None) == (right.get("first_name_key") is None):
            return False
        family = left.get("last_name_key")
        return family is not None and family == right.get("last_name_key")

    def _differs(self, guards: list[Comparison], a: str, b: str) -> bool:
        left, right = self.records[a], self.records[b]
        return any(c.gamma(c.level_of(left, right)) == 0 for c in guards)

    def scored_table(self, nodes: set[str], threshold: float) -> pa.Table:
        """Return ``scored_columns`` as the Arrow table the batch prediction returns."""
        columns = self.scored_columns(nodes, threshold)
        types = {"record_id_l": pa.string(), "record_id_r": pa.string()}
        types |= {"match_probability": pa.float64(), "match_weight": pa.float64()}
        arrays = {
            name: pa.array(values, types.get(name, pa.int64())) for name, values in columns.items()
        }
        return pa.table(arrays)

    def scored_columns(self, nodes: set[str], threshold: float) -> dict[str, list[Any]]:
        """Score every blocked pair inside ``nodes``; keep those at or above ``threshold``."""
        columns: dict[str, list[Any]] = {
            name: [] for name in ("record_id_l", "record_id_r", "match_probability", "match_weight")
        }
        for comparison in self.comparisons:
            columns[f"gamma_{comparison.name}"] = []
        for a in sorted(nodes):
            left = self.records[a]
            for b in sorted(self.blocking.candidates(a, left)):
                if b <= a or b not in nodes:
                    continue
                score = score_pair(self.model, left, self.records[b], self.term_frequency)
                if score.match_probability < threshold:
                    continue
                columns["record_id_l"].append(a)
                columns["record_id_r"].append(b)
                columns["match_probability"].append(score.match_probability)
                columns["match_weight"].append(score.match_weight)
                for level in score.levels:
                    columns[f"gamma_{level.comparison}"].append(level.gamma)
        return columns

    def entities_of(self, record_ids: Iterable[str]) -> set[str]:
        """Return the person and organization entities that contain any of ``record_ids``."""
        records = list(record_ids)
        found = {self.entity_of[r] for r in records if r in self.entity_of}
        if self.organizations is not None:
            organization_of = self.organizations.entity_of
            found |= {organization_of[r] for r in records if r in organization_of}
        return found

    # After a micro-batch.

    def settle_area(
        self, area: set[str], entity_of: Mapping[str, str], log: Mapping[str, list[Any]]
    ) -> None:
        """Replace the area's entity membership and stored edges with the new ones."""
        for record_id in area:
            entity = self.entity_of.pop(record_id, None)
            if entity is not None:
                _discard(self.members, entity, record_id)
            for other in self.links.pop(record_id, set()):
                _discard(self.links, other, record_id)
        for record_id, entity in entity_of.items():
            self.entity_of[record_id] = entity
            self.members[entity].add(record_id)
        for a, b in zip(log["record_a"], log["record_b"], strict=True):
            self.links[a].add(b)
            self.links[b].add(a)


def _discard(buckets: dict[Any, set[str]], key: Any, record_id: str) -> None:
    bucket = buckets.get(key)
    if bucket is not None:
        bucket.discard(record_id)
        if not bucket:
            del buckets[key]


def _decision_adjacency(decisions: Mapping[tuple[str, str], str]) -> dict[str, set[str]]:
    adjacency: dict[str, set[str]] = defaultdict(set)
    for a, b in decisions:
        adjacency[a].add(b)
        adjacency[b].add(a)
    return adjacency


def load_state(connection: duckdb.DuckDBPyConnection, project: Project) -> ResolutionState | None:
    """Read the live person records, entities and edges into a new state.

    Returns None when no stored model can score the records (none trained
    yet, or one whose comparisons no longer fit the data), so that the caller
    resolves with a batch run, which trains one.
    """
    model = load_model(connection)
    if model is None or not model.matches_vocabulary():
        return None
    sources, extra = person_input(project)
    build_input(connection, sources, extra)
    connection.complete()
    table = connection.sql(f"SELECT * FROM {INPUT_TABLE}").to_arrow_table()
    try:
        state = ResolutionState(project, model, table.schema, sources, extra)
    except ValueError as exc:
        logger.warning("changes are resolved in batch: %s", exc)
        return None
    for row in table.to_pylist():
        state.add(row["record_id"], row)
    if choose_comparisons(project.matching, state.available()) != model.comparison_names:
        return None
    state.entity_of = dict(
        connection.execute(
            """SELECT m.record_id, m.entity_id FROM entity_members m JOIN entities e
               USING (entity_id) WHERE e.status = 'active' AND e.entity_type = 'person'"""
        ).fetchall()
    )
    for record_id, entity in state.entity_of.items():
        state.members[entity].add(record_id)
    state.used_ids = {
        row[0]
        for row in connection.execute(
            "SELECT entity_id FROM entities UNION ALL SELECT alias_id FROM entity_aliases"
        ).fetchall()
    }
    for a, b in connection.execute("SELECT record_a, record_b FROM match_edges").fetchall():
        state.links[a].add(b)
        state.links[b].add(a)
    if project.matching.organizations:
        state.organizations = OrganizationIndex.load(connection)
    logger.info("incremental resolution state: %d person records", len(state.records))
    return state


def refresh(
    connection: duckdb.DuckDBPyConnection,
    state: ResolutionState,
    changed: list[str],
    written: Written | None = None,
) -> dict[str, Record]:
    """Load the new versions of ``changed`` into the state; return the versions replaced.

    ``written`` maps each changed record that is live to its standardized
    data, and a changed record missing from it is deleted. Without it, every
    version is read from the store.
    """
    fresh: dict[str, Record] = {}
    if written is None:
        unread = changed
    else:
        unread, fresh = _written_rows(state, changed, written)
    if unread:
        rows = input_rows(connection, state.sources, state.extra, unread)
        fresh.update((row["record_id"], row) for row in rows)
    previous: dict[str, Record] = {}
    for record_id in changed:
        old = state.remove(record_id)
        if old is not None:
            previous[record_id] = old
        if record_id in fresh:
            state.add(record_id, fresh[record_id])
    return previous


def _written_rows(
    state: ResolutionState, changed: list[str], written: Written
) -> tuple[list[str], dict[str, Record]]:
    """Return the changed records that need the SQL path, and the input rows of the others."""

    def derive(record_id: str, data: Mapping[str, Any]) -> Record | None:
        return input_row(*split_record_id(record_id), data, state.extra)

    unread, rows = from_written(changed, written, derive)
    for row in rows.values():
        add_nickname_set(row)
    return unread, rows


@dataclass
class AreaResult:
    """Outcome of re-resolving one area: its size, the entities before and after, and counts."""

    records: int
    entities_before: set[str]
    entities_after: set[str]
    stats: dict[str, Any]


def resolve_area(
    connection: duckdb.DuckDBPyConnection,
    state: ResolutionState,
    changed: list[str],
    run_id: int,
    now: datetime,
    written: Written | None = None,
) -> AreaResult:
    """Re-resolve the records that ``changed`` can affect and store the new entities.

    ``written`` is as in ``refresh``.
    """
    project = state.project
    previous = refresh(connection, state, changed, written)
    state.decisions = current_decisions(connection)
    area = state.area(changed, previous)
    nodes = sorted(record for record in area if record in state.records)
    node_set = set(nodes)
    _write_input(connection, state, nodes)
    pairs = PairSet()
    apply_stitched(connection, project, state.stitched_rows(node_set), pairs)
    scored = state.scored_table(node_set, project.matching.review)
    apply_scored(connection, project, scored, pairs)
    decisions = {p: d for p, d in state.decisions.items() if p[0] in area and p[1] in area}
    email_only = any(is_thin_email(state.records[node]) for node in nodes)
    labels, open_reviews = settle(connection, nodes, pairs, decisions, email_only)
    before = {state.entity_of[r] for r in area if r in state.entity_of}
    _register_ids(connection, AREA, area)
    _register_ids(connection, CHANGED, changed)
    try:
        _replace_reviews(connection, open_reviews, run_id)
        _replace_edges(connection, pairs, run_id)
    finally:
        connection.unregister(AREA)
        connection.unregister(CHANGED)
    entity_of, changes = save_entities(
        connection, "person", labels, now, run_id, sorted(area), state.used_ids
    )
    state.used_ids.update(entity_of.values())
    state.settle_area(area, entity_of, pairs.log)
    stats = resolution_stats(len(nodes), changes, pairs, len(open_reviews))
    return AreaResult(len(nodes), before, set(entity_of.values()), stats)


def _write_input(
    connection: duckdb.DuckDBPyConnection, state: ResolutionState, nodes: list[str]
) -> None:
    """Make the resolution input table hold the area's records, for the batch helpers."""
    table = pa.Table.from_pylist([state.records[node] for node in nodes], schema=state.schema)
    create_temp_table(connection, INPUT_TABLE, table)


AREA = "accord_area_ids"
CHANGED = "accord_changed_ids"


def _in_area(column: str, table: str = AREA) -> str:
    return f"{column} IN (SELECT record_id FROM {table})"


def _register_ids(connection: duckdb.DuckDBPyConnection, name: str, ids: Iterable[str]) -> None:
    """Register the record IDs as view ``name``; unregister it when done."""
    register(connection, name, pa.table({"record_id": pa.array(sorted(ids), pa.string())}))


def _replace_reviews(
    connection: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str, float, Any]], run_id: int
) -> None:
    """Replace the open review pairs inside the area and those of changed records."""
    inside = f"{_in_area('record_a')} AND {_in_area('record_b')}"
    changed = f"{_in_area('record_a', CHANGED)} OR {_in_area('record_b', CHANGED)}"
    replace_review_queue(connection, pairs, run_id, f"({inside}) OR {changed}")


def _replace_edges(connection: duckdb.DuckDBPyConnection, pairs: PairSet, run_id: int) -> None:
    """Replace the stored edges that touch the area with the area's new edges."""
    connection.execute(
        f"DELETE FROM match_edges WHERE {_in_area('record_a')} OR {_in_area('record_b')}"
    )
    insert_columns(
        connection, "match_edges", {**pairs.log, "run_id": [run_id] * len(pairs.log["kind"])}
    )


def resolve_changes(
    connection: duckdb.DuckDBPyConnection,
    state: ResolutionState,
    changed: list[str],
    run_id: int,
    now: datetime,
    written: Written | None = None,
) -> dict[str, Any]:
    """Resolve changed records incrementally, then merge the golden records they touch.

    ``changed`` lists the record IDs (``source:key``) written or deleted in
    this transaction, of any source. ``written`` maps each of them that is
    live to its standardized data, so their keys need no query. Without it,
    they are read from the store.
    """
    project = state.project
    persons = set(state.sources)
    person_changes = sorted({r for r in changed if split_record_id(r)[0] in persons})
    touched = state.entities_of(changed)
    stats: dict[str, Any] = {}
    persons_touched: set[str] = set()
    if person_changes:
        result = resolve_area(connection, state, person_changes, run_id, now, written)
        persons_touched = result.entities_before | result.entities_after
        touched |= persons_touched
        stats.update(result.stats)
    organizations = state.organizations
    if organizations is not None:
        # Links name only live organizations, so with none before or after there is none to replace.
        had_organizations = bool(organizations.entity_of)
        persons_touched |= resolve_organizations_in_area(
            connection,
            organizations,
            changed,
            now,
            run_id,
            state.used_ids,
            state.entity_of,
            written,
        )
        state.used_ids.update(organizations.entity_of.values())
        if persons_touched and (had_organizations or organizations.entity_of):
            relinked = sorted(persons_touched)
            links = organizations.links_of(relinked, state.members)
            replace_links(connection, relinked, links)
    touched |= state.entities_of(changed)
    touched |= {
        row[0]
        for row in connection.execute(
            "SELECT entity_id FROM entity_events WHERE run_id = ? "
            "UNION SELECT other_id FROM entity_events WHERE run_id = ? AND event = 'merged'",
            [run_id, run_id],
        ).fetchall()
        if row[0] is not None
    }
    stats["golden values changed"] = merge_scoped(connection, project, run_id, sorted(touched))
    return stats
