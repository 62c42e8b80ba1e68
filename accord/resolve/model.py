"""The probabilistic match model: Splink settings, training and storage.

Splink runs on its own in-memory DuckDB connection, fed an Arrow copy of the
resolution input, so its intermediate tables never touch the store.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from accord.config.models import MatchingConfig
from accord.logs import get_logger
from accord.resolve.comparisons import REQUIRED_COLUMNS, Comparison, build_comparisons
from accord.store.duckdb_store import connect

logger = get_logger(__name__)

UNIQUE_ID = "record_id"
DEFAULT_PRIOR = 0.0001

# Blocking rules tried by default, strongest first; a rule is used when all its
# columns have data.
DEFAULT_BLOCKING: list[list[str]] = [
    ["email_key"],
    ["phone_key"],
    ["last_name_key", "birth_date"],
    ["first_name_nick_key", "last_name_key"],
    ["first_name_key", "birth_date"],
    ["last_name_key", "birth_year"],
    ["first_name_key", "birth_year"],
    ["last_name_key", "postal_code_key"],
    ["street_key", "postal_code_key"],
    ["birth_date", "postal_code_key"],
    ["first_name_key", "postal_code_key"],
    ["birth_date", "city_key"],
    ["last_name_key", "city_key"],
    ["first_name_key", "city_key"],
    ["company_name_key", "last_name_key"],
]
# Rules on a single key, used only while they generate at most
# WEAK_RULE_PAIRS_PER_RECORD pairs per record: they find duplicates with an
# error in every name, but their pair count grows with the square of the records.
WEAK_BLOCKING: list[list[str]] = [["birth_date"]]
WEAK_RULE_PAIRS_PER_RECORD = 5
SWAPPED_NAMES_RULE = "l.first_name_key = r.last_name_key AND l.last_name_key = r.first_name_key"
# Pairs of a nameless email record with a named record whose name the email spells.
# Only records without a name take part, through nameless_email_key, so the
# rules do not pair every jsmith@ mailbox with every J. Smith.
_NAME_KEYS = ("name_full_key", "name_initial_key", "name_reversed_key")
EMAIL_NAME_RULES = [f"l.nameless_email_key = r.{column}" for column in _NAME_KEYS] + [
    f"r.nameless_email_key = l.{column}" for column in _NAME_KEYS
]
# Rules that estimate m probabilities by EM; each fixes the comparisons it uses.
# The matches a rule selects agree on its fields, so they over-represent
# errors in the other fields. Blocked on both names, duplicates that differ
# only in the birth date make an exact birth date look rare among matches.
# A rule on one field selects matches with fewer such errors, so it comes
# before the two-field rule and is skipped when it generates too many pairs.
EM_RULES: list[list[str]] = [
    ["email_key"],
    ["phone_key"],
    ["birth_date", "postal_code_key"],
    ["last_name_key"],
    ["first_name_key"],
    ["first_name_key", "last_name_key"],
    ["last_name_key", "birth_date"],
    ["first_name_key", "birth_date"],
    ["street_key", "postal_code_key"],
    ["birth_date"],
]


@dataclass
class MatchModel:
    """A match model: the vocabulary it uses and Splink settings with parameters."""

    comparison_names: list[str]
    settings: dict[str, Any]
    trained_at: datetime | None = None
    records: int = 0
    _built: tuple[tuple[str, ...], list[Comparison]] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def comparisons(self) -> list[Comparison]:
        """Return the comparison definitions, in settings order, built once per vocabulary."""
        names = tuple(self.comparison_names)
        if self._built is None or self._built[0] != names:
            self._built = (names, build_comparisons(list(names)))
        return list(self._built[1])

    def matches_vocabulary(self) -> bool:
        """Return whether the stored settings have the levels this Accord version defines.

        A model trained by an older version, whose comparisons or levels have
        since changed, must be trained again before it scores anything.
        """
        defined = [
            (comparison.name, [level.label for level in comparison.levels])
            for comparison in self.comparisons()
        ]
        stored = [
            (
                item["output_column_name"],
                [level.get("label_for_charts") for level in item["comparison_levels"]],
            )
            for item in self.settings.get("comparisons", [])
        ]
        return defined == stored

    def prediction_rules(self) -> list[str]:
        """Return the blocking rules that generate the pairs to score, as SQL on ``l`` and ``r``."""
        rules = self.settings.get("blocking_rules_to_generate_predictions", [])
        return [rule["blocking_rule"] if isinstance(rule, dict) else str(rule) for rule in rules]

    @property
    def prior(self) -> float:
        """Return the probability that two random records match."""
        return float(self.settings.get("probability_two_random_records_match", DEFAULT_PRIOR))

    def parameters(self) -> list[list[tuple[str, float | None, float | None]]]:
        """Return, per comparison and level, the label and trained m and u probabilities."""
        out = []
        for comparison in self.settings["comparisons"]:
            levels = []
            for level in comparison["comparison_levels"]:
                levels.append(
                    (
                        level.get("label_for_charts", ""),
                        level.get("m_probability"),
                        level.get("u_probability"),
                    )
                )
            out.append(levels)
        return out

    def level_weights(self) -> list[list[float]]:
        """Return the match weight (log2 of m/u) of each level; 0 for null levels."""
        weights = []
        for levels in self.parameters():
            row = []
            for _, m, u in levels:
                row.append(0.0 if m is None or u is None or m <= 0 or u <= 0 else math.log2(m / u))
            weights.append(row)
        return weights


def available_columns(
    connection: duckdb.DuckDBPyConnection, table: str, columns: list[str]
) -> set[str]:
    """Return the columns of ``table`` that hold at least one non-null value."""
    if not columns:
        return set()
    counts = ", ".join(f"count({column})" for column in columns)
    row = connection.execute(f"SELECT {counts} FROM {table}").fetchone() or ()
    return {column for column, count in zip(columns, row, strict=True) if count}


def choose_comparisons(config: MatchingConfig, available: set[str]) -> list[str]:
    """Return the vocabulary names to use: configured ones, or every one with data."""
    names: list[str] = list(config.comparisons or REQUIRED_COLUMNS)
    chosen = [name for name in names if set(REQUIRED_COLUMNS[name]) & available]
    skipped = [name for name in names if name not in chosen]
    if skipped and config.comparisons:
        logger.warning("comparisons without data are left out of the model: %s", ", ".join(skipped))
    return chosen


def blocking_rules(
    config: MatchingConfig, available: set[str], table: pa.Table | None = None
) -> list[str]:
    """Return Splink blocking rules as SQL, derived from the data unless configured.

    The weak rules are considered only when ``table``, the resolution input,
    is given to count their pairs.
    """
    rules = list(config.blocking or DEFAULT_BLOCKING)
    if config.blocking is None and table is not None:
        limit = WEAK_RULE_PAIRS_PER_RECORD * table.num_rows
        rules += [
            rule
            for rule in WEAK_BLOCKING
            if all(column in available for column in rule) and _pair_count(table, rule) <= limit
        ]
    sql = [
        " AND ".join(f"l.{column} = r.{column}" for column in rule)
        for rule in rules
        if all(column in available for column in rule)
    ]
    if config.blocking is None and {"first_name_key", "last_name_key"} <= available:
        sql.append(SWAPPED_NAMES_RULE)
    if config.blocking is None and {"nameless_email_key", "name_full_key"} <= available:
        sql.extend(EMAIL_NAME_RULES)
    return sql


def build_settings(comparisons: list[Comparison], blocking: list[str]) -> dict[str, Any]:
    """Return an untrained Splink settings dictionary."""
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": UNIQUE_ID,
        "probability_two_random_records_match": DEFAULT_PRIOR,
        "comparisons": [comparison.to_splink() for comparison in comparisons],
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": rule, "sql_dialect": "duckdb"} for rule in blocking
        ],
        "retain_intermediate_calculation_columns": True,
        "retain_matching_columns": False,
    }


@contextmanager
def _splink_connections() -> Iterator[list[duckdb.DuckDBPyConnection]]:
    """Yield a list that collects the connections opened for Splink; close them all at exit.

    Splink keeps its intermediate tables (blocked pairs, scores) on its
    connection. Closing it frees that memory at once, not when the cyclic
    garbage collector gets to the linker.
    """
    opened: list[duckdb.DuckDBPyConnection] = []
    try:
        yield opened
    finally:
        for connection in opened:
            connection.close()


def _linker(
    table: pa.Table, settings: dict[str, Any], opened: list[duckdb.DuckDBPyConnection]
) -> Any:
    from splink import DuckDBAPI, Linker

    connection = connect()
    opened.append(connection)
    database = DuckDBAPI(connection)
    frame = database.register(table, table_name="accord_input")
    return Linker(frame, settings, log_level=None)


MIN_TRAINING_RECORDS = 200
PRIOR_RULES: list[list[str]] = [
    ["email_key", "first_name_key"],
    ["phone_key", "first_name_key"],
    ["last_name_key", "birth_date"],
    ["first_name_key", "birth_date"],
    ["last_name_key", "first_name_key", "postal_code_key"],
    ["last_name_key", "first_name_key", "street_key"],
]
# The share of matches the prior rules are taken to find is estimated from the
# model's m probabilities, within these bounds. The floor keeps a model with
# degenerate m probabilities from inflating the prior without limit.
MIN_PRIOR_RULE_RECALL = 0.1
MAX_PRIOR_RULE_RECALL = 1.0


@dataclass(frozen=True)
class PriorEvidence:
    """Pairs found by the strict prior rules, and what the rules need to agree on.

    ``presence`` is, per comparison with a level that agrees on a rule
    column, the share of records that have data for that comparison.
    """

    found: int
    records: int
    rules: list[list[str]]
    presence: dict[str, float]

    def prior(self, comparisons: list[Comparison], settings: dict[str, Any]) -> float:
        """Return the prior: found pairs divided by the rules' recall, as a share of all pairs.

        With no pair found, the prior is one expected duplicate per record.
        """
        total_pairs = self.records * (self.records - 1) / 2
        if total_pairs <= 0:
            return DEFAULT_PRIOR
        if not self.found:
            return min(max(1 / max(self.records, 2), 1e-9), 0.5)
        recall = rule_recall(comparisons, settings, self.rules, self.presence)
        recall = min(max(recall, MIN_PRIOR_RULE_RECALL), MAX_PRIOR_RULE_RECALL)
        logger.info("prior rules found %d pairs, estimated recall %.3f", self.found, recall)
        return min(max(self.found / recall / total_pairs, 1e-9), 0.5)


def _agreement_states(
    comparison: Comparison, m_probabilities: list[float | None], presence: float
) -> dict[frozenset[str], float]:
    """Return the probability, for a match, of each set of key columns the comparison agrees on.

    Missing values are taken as independent, so both records of a match have
    data with probability ``presence`` squared. The m probabilities are
    conditional on both having data.
    """
    both_present = presence * presence
    states: dict[frozenset[str], float] = {frozenset(): 1 - both_present}
    total = sum(
        m or 0.0
        for level, m in zip(comparison.levels, m_probabilities, strict=True)
        if not level.null
    )
    if total <= 0:
        return {frozenset(): 1.0}
    for level, m in zip(comparison.levels, m_probabilities, strict=True):
        if level.null or not m:
            continue
        states[level.agrees] = states.get(level.agrees, 0.0) + both_present * m / total
    return states


def rule_recall(
    comparisons: list[Comparison],
    settings: dict[str, Any],
    rules: list[list[str]],
    presence: dict[str, float],
) -> float:
    """Return the probability that a match agrees on every column of at least one rule.

    Comparisons are taken as independent given a match, as in the
    Fellegi-Sunter model the m probabilities come from, so the recall is
    consistent with the weights the model gives. The probability is summed
    over every combination of the comparisons' agreement states.

    NOTE: where duplicates carry errors in one field only, matches agree on
    the rules more often than independence predicts, so this recall is low
    and the prior high, which offsets the model's underrating of such pairs.
    """
    columns = {column for rule in rules for column in rule}
    m_by_name = {
        item["output_column_name"]: [
            level.get("m_probability") for level in item["comparison_levels"]
        ]
        for item in settings.get("comparisons", [])
    }
    state_sets = [
        _agreement_states(c, m_by_name[c.name], presence.get(c.name, 0.0))
        for c in comparisons
        if c.name in m_by_name and any(level.agrees & columns for level in c.levels)
    ]
    recall = 0.0
    for combination in itertools.product(*(list(states.items()) for states in state_sets)):
        agreed: frozenset[str] = frozenset().union(*(keys for keys, _ in combination))
        if any(set(rule) <= agreed for rule in rules):
            recall += math.prod(probability for _, probability in combination)
    return recall


def prior_evidence(
    table: pa.Table, available: set[str], comparisons: list[Comparison]
) -> PriorEvidence:
    """Count the pairs that agree on any of a few strict rules.

    The rules (email and given name, one name part and the birth date, full
    name and postcode, ...) are combined because each alone misses
    duplicates with an error in one of its fields.
    """
    count = table.num_rows
    rules = [rule for rule in PRIOR_RULES if all(column in available for column in rule)]
    columns = {column for rule in rules for column in rule}
    used = [c for c in comparisons if any(level.agrees & columns for level in c.levels)]
    if count < 2 or not rules:
        return PriorEvidence(0, count, rules, {})
    # One equi-join per rule, then distinct pairs: an OR of the rules in one
    # join condition would compare every pair of records.
    joins = " UNION ".join(
        "SELECT l.record_id AS a, r.record_id AS b FROM accord_input l JOIN accord_input r "
        "ON l.record_id < r.record_id AND " + " AND ".join(f"l.{c} = r.{c}" for c in rule)
        for rule in rules
    )
    shares = ", ".join(f"avg(CASE WHEN {c.presence_sql()} THEN 1.0 ELSE 0.0 END)" for c in used)
    connection = connect()
    try:
        connection.register("accord_input", table)
        row = connection.execute(f"SELECT count(*) FROM ({joins})").fetchone()
        found = int(row[0]) if row else 0
        present = (
            connection.execute(f"SELECT {shares} FROM accord_input").fetchone() if used else ()
        )
    finally:
        connection.close()
    presence = {c.name: float(share or 0.0) for c, share in zip(used, present or (), strict=True)}
    return PriorEvidence(found, count, rules, presence)


def untrained_model(
    comparison_names: list[str],
    settings: dict[str, Any],
    evidence: PriorEvidence,
    records: int,
    trained_at: datetime,
) -> MatchModel:
    """Return a model with the vocabulary's default m and u and a prior estimated from them."""
    defaults = dict(settings)
    comparisons = build_comparisons(comparison_names)
    defaults["probability_two_random_records_match"] = evidence.prior(comparisons, settings)
    return MatchModel(comparison_names, defaults, trained_at, records)


def train(
    table: pa.Table,
    comparison_names: list[str],
    settings: dict[str, Any],
    config: MatchingConfig,
    available: set[str],
    trained_at: datetime,
) -> MatchModel:
    """Estimate u by random sampling and m by EM; return the trained model.

    With fewer than ``MIN_TRAINING_RECORDS`` records, or when Splink cannot
    estimate the parameters from the data, the vocabulary's default m and u
    probabilities are kept and a warning is logged.
    """
    comparisons = build_comparisons(comparison_names)
    evidence = prior_evidence(table, available, comparisons)
    fallback = untrained_model(comparison_names, settings, evidence, table.num_rows, trained_at)
    if table.num_rows < MIN_TRAINING_RECORDS:
        logger.warning(
            "only %d records: using default match weights; training needs at least %d",
            table.num_rows,
            MIN_TRAINING_RECORDS,
        )
        return fallback
    try:
        with _splink_connections() as opened:
            linker = _linker(table, fallback.settings, opened)
            linker.training.estimate_u_using_random_sampling(
                max_pairs=config.training.max_pairs, seed=config.training.seed
            )
            linker = _estimate_m(linker, table, comparisons, available, opened)
            trained = linker.misc.save_model_to_json()
        trained["probability_two_random_records_match"] = evidence.prior(comparisons, trained)
    except (ValueError, ZeroDivisionError, duckdb.Error) as exc:
        logger.warning("training failed, using default match weights: %s", exc)
        return fallback
    if not _valid(trained, comparison_names):
        logger.warning("training produced an unusable model, using default match weights")
        return fallback
    logger.info("trained match model on %d records", table.num_rows)
    return MatchModel(comparison_names, trained, trained_at, table.num_rows)


MIN_EM_PAIRS = 50
# EM with a rule that generates more pairs than this is skipped, to bound
# training time and memory.
MAX_EM_PAIRS = 2_000_000


def _pair_count(table: pa.Table, rule: list[str]) -> int:
    """Return how many record pairs a blocking rule generates."""
    keys = ", ".join(rule)
    not_null = " AND ".join(f"{column} IS NOT NULL" for column in rule)
    connection = connect()
    try:
        connection.register("accord_input", table)
        row = connection.execute(
            f"""SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (
                    SELECT count(*) AS n FROM accord_input WHERE {not_null} GROUP BY {keys})"""
        ).fetchone()
    finally:
        connection.close()
    return int(row[0]) if row else 0


def _estimate_m(
    linker: Any,
    table: pa.Table,
    comparisons: list[Comparison],
    available: set[str],
    opened: list[duckdb.DuckDBPyConnection],
) -> Any:
    """Run EM with each rule that can still estimate a comparison not yet estimated.

    A rule cannot estimate the comparisons whose columns it blocks on, so
    rules are added until every comparison has been estimated once. A rule
    with fewer than ``MIN_EM_PAIRS`` or more than ``MAX_EM_PAIRS`` pairs is
    skipped. Splink can leave its settings half-changed when EM fails, so
    each attempt starts from a snapshot and a failure goes back to it.
    Returns the linker holding the estimates.
    """
    remaining = {comparison.name for comparison in comparisons}
    for rule in EM_RULES:
        if not remaining:
            break
        if not all(column in available for column in rule):
            continue
        estimable = {c.name for c in comparisons if not set(c.columns) & set(rule)}
        if not estimable & remaining:
            continue
        if not MIN_EM_PAIRS <= _pair_count(table, rule) <= MAX_EM_PAIRS:
            continue
        sql = " AND ".join(f"l.{column} = r.{column}" for column in rule)
        snapshot = linker.misc.save_model_to_json()
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(sql)
        except Exception as exc:  # Splink raises plain exceptions for degenerate data
            logger.warning("EM with blocking rule %s failed: %s", sql, exc)
            linker = _linker(table, snapshot, opened)
            continue
        remaining -= estimable
    if remaining:
        logger.warning("m probabilities kept at defaults for: %s", ", ".join(sorted(remaining)))
    return linker


def _valid(settings: dict[str, Any], comparison_names: list[str]) -> bool:
    expected = [c.name for c in build_comparisons(comparison_names)]
    stored = [c["output_column_name"] for c in settings.get("comparisons", [])]
    prior = settings.get("probability_two_random_records_match")
    return stored == expected and isinstance(prior, float) and 0 < prior < 1


def save_model(connection: duckdb.DuckDBPyConnection, model: MatchModel) -> int:
    """Store a trained model and return its ID."""
    row = connection.execute("SELECT coalesce(max(model_id), 0) + 1 FROM match_models").fetchone()
    model_id = int(row[0]) if row else 1
    connection.execute(
        "INSERT INTO match_models VALUES (?, ?, ?, ?, ?)",
        [
            model_id,
            model.trained_at,
            model.records,
            json.dumps(model.comparison_names),
            json.dumps(model.settings),
        ],
    )
    return model_id


def load_model(connection: duckdb.DuckDBPyConnection) -> MatchModel | None:
    """Return the most recently trained model, or None."""
    row = connection.execute(
        "SELECT comparisons, settings, trained_at, records FROM match_models "
        "ORDER BY model_id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return MatchModel(json.loads(row[0]), json.loads(row[1]), row[2], int(row[3]))
