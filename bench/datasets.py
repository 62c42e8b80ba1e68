"""Benchmark datasets: public record-linkage sets with ground truth, and generated data.

Every dataset is prepared once into a folder before any tool runs:

- public sets: one Parquet file per source under ``sources/``, every column a
  string with empty values as null;
- generated data: the output of ``python -m bench.generate`` (four sources in
  CSV, JSON Lines and Parquet, and an ``accord.yaml``).

Both get ``bench_truth.parquet`` with columns ``record_id`` and ``entity``.

Record IDs are ``source:source_key`` throughout, the form Accord stores.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ANCHORS = REPO_ROOT.parent / "shared" / "data" / "anchors"
GENERATED = "generated"
GENERATOR_SEED = 7
TRUTH_FILE = "bench_truth.parquet"  # columns record_id, entity


@dataclass(frozen=True)
class Source:
    """One source file of a prepared public dataset."""

    name: str
    key: str  # column holding the source key


@dataclass(frozen=True)
class Dataset:
    """A public dataset: how to read its sources and its ground truth."""

    name: str
    title: str
    sources: tuple[Source, ...]
    read: Callable[[Path], dict[str, pa.Table]]  # anchors folder -> table per source
    entity: Callable[[pa.Table], list[str]]  # table -> true entity per row


def _read_csv(path: Path) -> pa.Table:
    """Read a CSV as strings: values stripped, empty values null, header names stripped.

    FEBRL files separate fields with a comma and a space, so stripping is needed.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, skipinitialspace=True))
    header = [name.strip() for name in rows[0]]
    columns: dict[str, list[str | None]] = {name: [] for name in header}
    for row in rows[1:]:
        for name, value in zip(header, row, strict=True):
            columns[name].append(value.strip() or None)
    return pa.table({name: pa.array(values, pa.string()) for name, values in columns.items()})


def _read_febrl(anchors: Path, *files: tuple[str, str]) -> dict[str, pa.Table]:
    return {source: _read_csv(anchors / "febrl" / file) for source, file in files}


def _febrl_entity(table: pa.Table) -> list[str]:
    pattern = re.compile(r"rec-(\d+)")
    entities = []
    for rec_id in table["rec_id"].to_pylist():
        match = pattern.match(rec_id)
        if match is None:
            raise ValueError(f"FEBRL record ID {rec_id!r} does not start with rec-<number>")
        entities.append(match.group(1))
    return entities


def _column(name: str) -> Callable[[pa.Table], list[str]]:
    def entity(table: pa.Table) -> list[str]:
        return [str(value) for value in table[name].to_pylist()]

    return entity


def _read_fake_1000(anchors: Path) -> dict[str, pa.Table]:
    return {"fake_1000": _read_csv(anchors / "splink_datasets" / "fake_1000.csv")}


def _read_historical(anchors: Path) -> dict[str, pa.Table]:
    path = anchors / "splink_datasets" / "historical_figures_with_errors_50k.parquet"
    return {"historical": pq.read_table(path)}  # every column is a string already


def _read_rldata(file: str, source: str) -> Callable[[Path], dict[str, pa.Table]]:
    def read(anchors: Path) -> dict[str, pa.Table]:
        return {source: _read_csv(anchors / "rldata" / file)}

    return read


DATASETS: dict[str, Dataset] = {
    dataset.name: dataset
    for dataset in [
        Dataset(
            "febrl3",
            "FEBRL dataset 3 (5,000 records: 2,000 originals and 3,000 duplicates)",
            (Source("febrl3", "rec_id"),),
            lambda anchors: _read_febrl(anchors, ("febrl3", "dataset3.csv")),
            _febrl_entity,
        ),
        Dataset(
            "febrl4",
            "FEBRL dataset 4 (two sources of 5,000 records, one duplicate each)",
            (Source("febrl4a", "rec_id"), Source("febrl4b", "rec_id")),
            lambda anchors: _read_febrl(
                anchors, ("febrl4a", "dataset4a.csv"), ("febrl4b", "dataset4b.csv")
            ),
            _febrl_entity,
        ),
        Dataset(
            "fake_1000",
            "Splink fake_1000 (1,000 records, 251 people)",
            (Source("fake_1000", "unique_id"),),
            _read_fake_1000,
            _column("cluster"),
        ),
        Dataset(
            "historical_50k",
            "Splink historical_figures_with_errors_50k (50,578 records, 5,156 people)",
            (Source("historical", "unique_id"),),
            _read_historical,
            _column("cluster"),
        ),
        Dataset(
            "rldata500",
            "RLdata500 (500 records, 450 people)",
            (Source("rldata500", "rec_id"),),
            _read_rldata("RLdata500.csv", "rldata500"),
            _column("identity"),
        ),
        Dataset(
            "rldata10000",
            "RLdata10000 (10,000 records, 9,000 people)",
            (Source("rldata10000", "rec_id"),),
            _read_rldata("RLdata10000.csv", "rldata10000"),
            _column("identity"),
        ),
    ]
}
PUBLIC = tuple(DATASETS)
ALL = (*PUBLIC, GENERATED)


def source_path(folder: Path, source: str) -> Path:
    """Return the Parquet file of one prepared public source."""
    return folder / "sources" / f"{source}.parquet"


def prepare_public(dataset: Dataset, anchors: Path, folder: Path) -> int:
    """Write a public dataset's sources and truth under ``folder``; return the record count."""
    tables = dataset.read(anchors)
    (folder / "sources").mkdir(parents=True, exist_ok=True)
    record_ids: list[str] = []
    entities: list[str] = []
    for source in dataset.sources:
        table = tables[source.name]
        pq.write_table(table, source_path(folder, source.name))
        record_ids += [f"{source.name}:{key}" for key in table[source.key].to_pylist()]
        entities += dataset.entity(table)
    truth = pa.table({"record_id": record_ids, "entity": entities})
    pq.write_table(truth, folder / TRUTH_FILE)
    return len(record_ids)


def prepare_generated(records: int, folder: Path) -> int:
    """Generate a multi-source benchmark of ``records`` records into ``folder``."""
    command = [
        sys.executable,
        "-m",
        "bench.generate",
        "--records",
        str(records),
        "--out",
        str(folder),
        "--seed",
        str(GENERATOR_SEED),
    ]
    subprocess.run(command, cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    truth = pq.read_table(folder / "truth.parquet")
    ids = pc.binary_join_element_wise(truth["source"], truth["source_key"], ":")
    table = pa.table({"record_id": ids, "entity": truth["entity"]})
    pq.write_table(table, folder / TRUTH_FILE)
    return table.num_rows


def read_truth(folder: Path) -> dict[str, str]:
    """Read a prepared dataset's ground truth: record ID to true entity."""
    table = pq.read_table(folder / TRUTH_FILE)
    return dict(zip(table["record_id"].to_pylist(), table["entity"].to_pylist(), strict=True))
