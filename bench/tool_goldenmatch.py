"""Run GoldenMatch on a prepared dataset, configured as its documentation recommends.

GoldenMatch's own comparison with Splink (``docs/benchmarks/2026-06-09-splink-
bakeoff.md`` in its repository) runs person data through
``auto_configure_probabilistic_df`` and ``dedupe_df``: a Fellegi-Sunter model
with no hand tuning. Deduplication datasets use that path. FEBRL 4 has two
sources, and GoldenMatch's documented call for two files is ``match_df``,
which links each record of the first to the records of the second.

Matching uses only the data columns: record IDs and ground-truth columns are
dropped (dedupe) or excluded (match), and clusters map back by row position.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from bench.datasets import DATASETS, GENERATED, source_path
from bench.timing import ToolRun
from bench.tool_splink import generated_sql

# Columns that carry a record ID or the ground truth, per public dataset.
HIDDEN = {
    "febrl3": ["rec_id"],
    "febrl4": ["rec_id"],
    "fake_1000": ["unique_id", "cluster"],
    "historical_50k": ["unique_id", "cluster"],
    "rldata500": ["rec_id", "identity"],
    "rldata10000": ["rec_id", "identity"],
}
RECORD_ID = "record_id"

# Usage analytics and suggestion loops stay off: the run must send nothing.
QUIET_ENVIRONMENT = {"GOLDENMATCH_ANALYTICS": "0", "GOLDENMATCH_SUGGEST_ON_DEDUPE": "0"}


def _source_table(dataset: str, folder: Path, source: str, key: str) -> pa.Table:
    table = pq.read_table(source_path(folder, source))
    ids = pa.array([f"{source}:{value}" for value in table[key].to_pylist()], pa.string())
    table = table.drop_columns(HIDDEN[dataset])
    return table.append_column(RECORD_ID, ids)


def load_table(dataset: str, folder: Path) -> list[pa.Table]:
    """Return one table per source with the data columns and a ``record_id`` column."""
    if dataset == GENERATED:
        connection = duckdb.connect()
        table = connection.sql(generated_sql(folder)).to_arrow_table()
        connection.close()
        return [table.rename_columns([RECORD_ID, *table.column_names[1:]])]
    return [
        _source_table(dataset, folder, source.name, source.key)
        for source in DATASETS[dataset].sources
    ]


def _union_find(nodes: Iterable[str], pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    parent = {node: node for node in nodes}

    def root(node: str) -> str:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in pairs:
        parent[root(a)] = root(b)
    return {node: root(node) for node in parent}


def _dedupe(table: pa.Table, result: ToolRun) -> None:
    import goldenmatch as gm

    ids = table[RECORD_ID].to_pylist()
    data = table.drop_columns([RECORD_ID])
    with result.phase("configure"):
        config = gm.auto_configure_probabilistic_df(data)
    with result.phase("dedupe"):
        outcome = gm.dedupe_df(data, config=config)
    for cluster_id, cluster in outcome.clusters.items():
        for row in cluster["members"]:
            result.predicted[ids[row]] = cluster_id
    for row, record_id in enumerate(ids):
        result.predicted.setdefault(record_id, f"row:{row}")


def _match(target: pa.Table, reference: pa.Table, result: ToolRun) -> None:
    import goldenmatch as gm

    with result.phase("match"):
        outcome = gm.match_df(target, reference, exclude_columns=[RECORD_ID])
    matched = (
        outcome.matched
        if outcome.matched is not None
        else pa.table(
            {
                f"target_{RECORD_ID}": pa.array([], pa.string()),
                f"ref_{RECORD_ID}": pa.array([], pa.string()),
            }
        )
    )
    pairs = zip(
        matched[f"target_{RECORD_ID}"].to_pylist(),
        matched[f"ref_{RECORD_ID}"].to_pylist(),
        strict=True,
    )
    nodes = target[RECORD_ID].to_pylist() + reference[RECORD_ID].to_pylist()
    result.predicted = dict(_union_find(nodes, pairs))


def run_goldenmatch(dataset: str, folder: Path, workdir: Path) -> ToolRun:
    """Run GoldenMatch once on a prepared dataset and return its clusters."""
    os.environ.update(QUIET_ENVIRONMENT)
    result = ToolRun()
    with result.phase("prepare"):
        tables = load_table(dataset, folder)
    if len(tables) == 2:
        _match(tables[0], tables[1], result)
    else:
        _dedupe(tables[0], result)
    return result
