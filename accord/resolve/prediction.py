"""Score blocked record pairs in DuckDB with a trained model's parameters.

Batch resolution scores every pair that its blocking rules generate. Splink's
``predict`` computes the same scores, but at a million records its blocking
(each rule's join also evaluates the negated conditions of every earlier rule)
and its comparison rows, which carry every input column twice, took most of
the run. Here each rule is one equi-join over integer row numbers, the pairs
are made distinct once, and only the columns that the comparison levels read
are joined back. A key that would join more than ``max_block_pairs`` pairs
joins none under its rule (see ``accord.resolve.blocking_index``), so the
pair count grows with the records rather than with the square of the
commonest name's count.

The arithmetic is Splink 5's, as in ``accord.resolve.scoring``: the prior
log-odds plus, per comparison, the weight log2(m/u) of the level the pair
reached, plus the term-frequency adjustment log2(u_exact) - log2(max(tf_l,
tf_r)) on levels that declare a term-frequency column. A test pins the scores
to Splink's ``predict`` on the same data and model.
"""

from __future__ import annotations

import math
import re
from typing import Any

import duckdb
import pyarrow as pa

from accord.resolve.blocking_index import EqualityRule, parse_rule
from accord.resolve.comparisons import Comparison
from accord.resolve.model import MatchModel
from accord.resolve.scoring import exact_level, level_weight, log_odds
from accord.store.duckdb_store import connect

ROWS = "accord_rows"
PAIRS = "accord_pairs"
# Left rows whose blocked pairs are collected together (see ``_block``).
BLOCK_PART_ROWS = 2_000_000
_SIDE_COLUMN = re.compile(r"\b(\w+)_[lr]\b")
_RULE_COLUMN = re.compile(r"\b[lr]\.\"?(\w+)\"?")


def predict(
    table: pa.Table, model: MatchModel, threshold: float, max_block_pairs: int | None = None
) -> pa.Table:
    """Score the blocked pairs of ``table`` and return those at or above ``threshold``.

    ``table`` is the resolution input with a unique ``record_id``. The result
    has ``record_id_l`` < ``record_id_r``, ``match_weight``,
    ``match_probability`` and one ``gamma_<comparison>`` column per
    comparison, as Splink's ``predict`` returns them. With
    ``max_block_pairs``, a key that joins more pairs than that under a rule
    joins none under it.
    """
    comparisons = model.comparisons()
    rules = model.prediction_rules()
    connection = connect()
    try:
        connection.register("accord_input", table)
        _number_rows(connection, set(table.column_names), comparisons, rules)
        _block(connection, rules, max_block_pairs)
        return connection.sql(scores_sql(model, comparisons, threshold)).to_arrow_table()
    finally:
        connection.close()


def compared_columns(comparisons: list[Comparison]) -> set[str]:
    """Return the input columns that any comparison level reads, as ``<column>_l`` or ``_r``."""
    columns: set[str] = set()
    for comparison in comparisons:
        for level in comparison.levels:
            columns.update(_SIDE_COLUMN.findall(level.sql))
    return columns


def tf_columns(comparisons: list[Comparison]) -> list[str]:
    """Return the columns with a term-frequency adjustment, in a stable order."""
    return sorted(
        {
            level.tf_column
            for comparison in comparisons
            for level in comparison.levels
            if level.tf_column
        }
    )


def _number_rows(
    connection: duckdb.DuckDBPyConnection,
    available: set[str],
    comparisons: list[Comparison],
    rules: list[str],
) -> None:
    """Create ``accord_rows``: the read columns, term frequencies and a row number.

    Rows are numbered in ``record_id`` order, so ``l.row_id < r.row_id`` selects the
    same orientation of a pair as Splink's ``l.record_id < r.record_id``.
    That matters for rules that are not symmetric in ``l`` and ``r``.
    """
    read = compared_columns(comparisons) | {
        column for rule in rules for column in _RULE_COLUMN.findall(rule)
    }
    columns = sorted((read & available) - {"record_id"})
    frequencies = tf_columns(comparisons)
    selected = ", ".join(["i.record_id", *(f"i.{column}" for column in columns)])
    selected += "".join(f", tf_{column}.tf AS tf_{column}" for column in frequencies)
    joins = "".join(
        f" LEFT JOIN ({_frequency_sql(column)}) tf_{column} ON tf_{column}.value = i.{column}"
        for column in frequencies
    )
    connection.execute(
        f"""CREATE TEMP TABLE {ROWS} AS
            SELECT row_number() OVER (ORDER BY i.record_id) AS row_id, {selected}
            FROM accord_input i {joins}"""
    )


def _frequency_sql(column: str) -> str:
    """Return each value's share of the column's non-null values, as in Splink's tf tables."""
    return (
        f"SELECT {column} AS value, CAST(count(*) AS DOUBLE) / "
        f"(SELECT count({column}) FROM accord_input) AS tf "
        f"FROM accord_input WHERE {column} IS NOT NULL GROUP BY {column}"
    )


def _block(
    connection: duckdb.DuckDBPyConnection, rules: list[str], max_pairs: int | None = None
) -> None:
    """Create ``accord_pairs``: the distinct row pairs that at least one rule joins.

    The pairs are collected in parts of at most ``BLOCK_PART_ROWS`` left rows,
    because one DISTINCT over all pairs needs a hash table of them all: at
    10,000,000 generated records DuckDB asked for one 4 GiB block for it.
    Pairs of different parts differ in their left row, so the parts need no
    DISTINCT between them.
    """
    if not rules:
        rules = ["TRUE"]
    rows = connection.execute(f"SELECT count(*) FROM {ROWS}").fetchall()[0][0]
    parts = max(1, math.ceil(rows / BLOCK_PART_ROWS))
    connection.execute(f"CREATE TEMP TABLE {PAIRS} (row_l BIGINT, row_r BIGINT)")
    for part in range(parts):
        joins = " UNION ALL ".join(
            f"SELECT l.row_id AS row_l, r.row_id AS row_r "
            f"FROM {_part_rows(rule, max_pairs, part, parts)} l "
            f"JOIN {ROWS} r ON ({rule}) AND l.row_id < r.row_id"
            for rule in rules
        )
        connection.execute(f"INSERT INTO {PAIRS} SELECT DISTINCT row_l, row_r FROM ({joins})")


def _part_rows(rule: str, max_pairs: int | None, part: int, parts: int) -> str:
    """Return the left rows of ``rule`` in part ``part`` of ``parts``."""
    rows = _left_rows(rule, max_pairs)
    if parts == 1:
        return rows
    return f"(SELECT * FROM {rows} WHERE row_id % {parts} = {part})"


def _left_rows(rule: str, max_pairs: int | None) -> str:
    """Return the rows that may take the left side of ``rule``: those not in an oversized block."""
    if max_pairs is None or rule == "TRUE":
        return ROWS
    parsed = parse_rule(rule)
    keys = ", ".join(f"k{index}" for index in range(len(parsed.left)))
    left = ", ".join(parsed.left)
    return (
        f"(SELECT * FROM {ROWS} WHERE ({left}) NOT IN "
        f"(SELECT ({keys}) FROM ({_oversized_keys_sql(parsed, max_pairs)})))"
    )


def _oversized_keys_sql(rule: EqualityRule, max_pairs: int) -> str:
    """Return a query of the keys that join more than ``max_pairs`` pairs under ``rule``.

    The counts are those of ``accord.resolve.blocking_index.block_pairs``.
    """

    def counted(columns: tuple[str, ...]) -> str:
        keys = ", ".join(f"{column} AS k{index}" for index, column in enumerate(columns))
        present = " AND ".join(f"{column} IS NOT NULL" for column in columns)
        return f"SELECT {keys}, count(*) AS n FROM {ROWS} WHERE {present} GROUP BY ALL"

    if rule.symmetric:
        return f"SELECT * FROM ({counted(rule.left)}) WHERE n * (n - 1) // 2 > {max_pairs}"
    keys = ", ".join(f"k{index}" for index in range(len(rule.left)))
    return (
        f"SELECT {keys} FROM ({counted(rule.left)}) l JOIN ({counted(rule.right)}) r "
        f"USING ({keys}) WHERE l.n * r.n > {max_pairs}"
    )


def scores_sql(model: MatchModel, comparisons: list[Comparison], threshold: float) -> str:
    """Return the query that scores ``accord_pairs`` and keeps those at ``threshold`` or above."""
    columns = sorted(compared_columns(comparisons))
    sides = ", ".join(f"l.{column} AS {column}_l, r.{column} AS {column}_r" for column in columns)
    frequencies = "".join(
        f", l.tf_{column} AS tf_{column}_l, r.tf_{column} AS tf_{column}_r"
        for column in tf_columns(comparisons)
    )
    gammas = ", ".join(f"{c.gamma_sql()} AS gamma_{c.name}" for c in comparisons)
    parameters = model.settings["comparisons"]
    weight = " + ".join(
        [repr(log_odds(model.prior))]
        + [
            _weight_sql(c, p["comparison_levels"])
            for c, p in zip(comparisons, parameters, strict=True)
        ]
    )
    gamma_names = ", ".join(f"gamma_{c.name}" for c in comparisons)
    above_threshold = f"WHERE match_weight >= {log_odds(threshold)!r}" if threshold > 0 else ""
    return f"""
        WITH compared AS (
            SELECT l.record_id AS record_id_l, r.record_id AS record_id_r, {sides} {frequencies}
            FROM {PAIRS} p JOIN {ROWS} l ON l.row_id = p.row_l JOIN {ROWS} r ON r.row_id = p.row_r
        ), vectors AS (
            SELECT *, {gammas} FROM compared
        ), weighed AS (
            SELECT record_id_l, record_id_r, {weight} AS match_weight, {gamma_names}
            FROM vectors
        )
        SELECT record_id_l, record_id_r, match_weight,
               CASE WHEN match_weight >= 0 THEN 1.0 / (1.0 + pow(2.0, -match_weight))
                    ELSE pow(2.0, match_weight) / (1.0 + pow(2.0, match_weight)) END
                   AS match_probability,
               {gamma_names}
        FROM weighed {above_threshold}
    """


def _weight_sql(comparison: Comparison, levels: list[dict[str, Any]]) -> str:
    """Return a CASE on the comparison's gamma giving its weight and term-frequency adjustment."""
    branches = []
    for index, level in enumerate(comparison.levels):
        params = levels[index]
        term = repr(level_weight(params))
        adjustment = _tf_adjustment_sql(level.tf_column, levels, params)
        if adjustment:
            term = f"{term} + {adjustment}"
        branches.append(f"WHEN {comparison.gamma(index)} THEN {term}")
    return f"(CASE gamma_{comparison.name} {' '.join(branches)} ELSE 0.0 END)"


def _tf_adjustment_sql(
    column: str | None, levels: list[dict[str, Any]], params: dict[str, Any]
) -> str | None:
    """Return Splink's adjustment for a level with a term-frequency column, or None.

    The adjustment uses the u of the column's exact-match level and the larger
    of the two records' frequencies, and is 0 where neither record has one.
    """
    if column is None or params.get("is_null_level") or params.get("sql_condition") == "ELSE":
        return None
    weight = float(params.get("tf_adjustment_weight", 1.0))
    exact = exact_level(levels, column) or params
    u = exact.get("u_probability")
    if not weight or not u:
        return None
    left, right = f"tf_{column}_l", f"tf_{column}_r"
    larger = f"greatest(coalesce({left}, {right}), coalesce({right}, {left}), 0.0)"
    return (
        f"(CASE WHEN coalesce({left}, {right}) IS NULL THEN 0.0 "
        f"ELSE {weight!r} * ({math.log2(u)!r} - log2({larger})) END)"
    )
