"""Pair accuracy of Accord at several ``matching.auto_merge`` thresholds, per dataset.

Each dataset is prepared once, then ``accord run`` resolves it once per
threshold, with the ``review`` threshold at 0.8 or at the ``auto_merge``
value when that is lower. Everything else keeps its default. The table shows
what lowering the threshold gains in recall and costs in precision, and so
which default serves which kind of data.

Run ``python -m bench.bench_threshold``; ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from accord.evaluation import Scores, score
from bench.arguments import counts_between, names, report_file
from bench.datasets import DEFAULT_ANCHORS, GENERATED, REPO_ROOT, read_truth
from bench.generate import MAX_RECORDS, MIN_RECORDS
from bench.report import section_heading, write_section
from bench.run import ALL, prepare
from bench.tool_accord import run_accord

DEFAULT_THRESHOLDS = "0.95,0.9,0.8"
REVIEW = 0.8


def thresholds(text: str) -> list[float]:
    """Parse a comma-separated list of probabilities between 0 and 1."""
    values = [float(item) for item in text.split(",") if item.strip()]
    if not values or any(not 0 <= value <= 1 for value in values):
        raise argparse.ArgumentTypeError(f"expected probabilities between 0 and 1, got {text!r}")
    return values


def sweep(dataset: str, size: int, values: list[float], scratch: Path, anchors: Path) -> list[str]:
    """Return one table row per threshold for ``dataset``."""
    folder, records = prepare(dataset, size, scratch, anchors)
    truth = read_truth(folder)
    name = f"{dataset} {records:,}" if dataset == GENERATED else dataset
    rows = []
    for value in values:
        workdir = scratch / f"run-{dataset}-{size}-{value}"
        workdir.mkdir()
        matching = {"auto_merge": value, "review": min(value, REVIEW)}
        run = run_accord(dataset, folder, workdir, matching)
        predicted = {record: run.predicted.get(record, f"missing:{record}") for record in truth}
        rows.append(_row(name, value, score(predicted, truth)))
        print(rows[-1], flush=True)
    return rows


def _row(name: str, value: float, scores: Scores) -> str:
    false_pairs = scores.predicted_pairs - scores.true_positive_pairs
    return (
        f"| {name} | {value:g} | {scores.pair_precision:.4f} | {scores.pair_recall:.4f} | "
        f"{scores.pair_f1:.4f} | {false_pairs:,} | {scores.bcubed_f1:.4f} |"
    )


HEADER = [
    "| dataset | auto_merge | pair P | pair R | pair F1 | false pairs | B³ F1 |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--datasets",
        type=names(ALL, "dataset"),
        default=",".join(ALL),
        help=f"comma-separated datasets out of {', '.join(ALL)} (default: all)",
    )
    parser.add_argument(
        "--sizes",
        type=counts_between(MIN_RECORDS, MAX_RECORDS),
        default="10000,100000",
        help="comma-separated record counts for the generated dataset (default: 10000,100000)",
    )
    parser.add_argument(
        "--thresholds",
        type=thresholds,
        default=DEFAULT_THRESHOLDS,
        help=f"auto_merge values (default: {DEFAULT_THRESHOLDS})",
    )
    parser.add_argument(
        "--anchors", type=Path, default=DEFAULT_ANCHORS, help="folder of the public datasets"
    )
    parser.add_argument(
        "--out", type=report_file, default=REPO_ROOT / "docs" / "benchmarks.md", help="report file"
    )
    return parser


def main() -> None:
    """Parse the command line, run the sweep and write its section of the report."""
    args = _parser().parse_args()
    logging.basicConfig(level=logging.ERROR)
    datasets: list[str] = args.datasets
    rows = []
    with tempfile.TemporaryDirectory(prefix="accord-threshold-") as scratch:
        for dataset in datasets:
            for size in args.sizes if dataset == GENERATED else [0]:
                rows += sweep(dataset, size, args.thresholds, Path(scratch), args.anchors)
    arguments = ["--datasets", ",".join(datasets), "--thresholds"]
    arguments.append(",".join(f"{value:g}" for value in args.thresholds))
    if GENERATED in datasets:
        arguments += ["--sizes", ",".join(str(size) for size in args.sizes)]
    heading = section_heading("bench.bench_threshold", arguments)
    write_section(args.out, "threshold", [*heading, *HEADER, *rows])
    print(f"wrote the threshold section of {args.out}")


if __name__ == "__main__":
    main()
