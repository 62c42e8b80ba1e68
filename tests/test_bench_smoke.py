"""End-to-end check of the resolution benchmark in bench/: data, tool process, scores, report.

Timings are measured but never asserted: they depend on the machine.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The bench package is not installed with Accord; it runs from the repository root.
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench import arguments, bench_threshold, report  # noqa: E402
from bench.datasets import DATASETS, prepare_public, read_truth  # noqa: E402
from bench.run import main, parse_args  # noqa: E402
from bench.timing import ToolRun  # noqa: E402
from bench.tool_accord import run_accord  # noqa: E402
from bench.worker import summarize  # noqa: E402

OTHER_SECTION = "## Sync diff\n\nWritten by another script.\n"


@pytest.fixture(scope="module")
def generated_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Report of Accord on 10,000 generated records, written into a page with another section."""
    out = tmp_path_factory.mktemp("bench") / "benchmarks.md"
    out.write_text(f"# Benchmarks\n\n{OTHER_SECTION}", "utf-8")
    code = main(
        ["--datasets", "generated", "--sizes", "10000", "--tools", "accord", "--out", str(out)]
    )
    assert code == 0
    return out


@pytest.mark.slow
def test_generated_accord_result(generated_report: Path) -> None:
    results = report.read_results(generated_report.read_text("utf-8"))
    assert len(results) == 1
    result = results[0]
    assert result["status"] == "ok", result.get("traceback")
    assert (result["tool"], result["dataset"], result["size"]) == ("accord", "generated", 10000)
    assert result["records"] == 10000
    assert result["scores"]["records"] == 10000
    assert set(result["phases"]) >= {"extract", "process", "store", "resolve", "merge"}
    assert result["total"] > 0
    assert result["peak_mb"] > 0
    # Accord links most generated duplicates; a broken pipeline scores far lower.
    assert result["scores"]["pair_f1"] > 0.9
    assert result["scores"]["bcubed_f1"] > 0.9


@pytest.mark.slow
def test_generated_report_tables(generated_report: Path) -> None:
    text = generated_report.read_text("utf-8")
    assert text.startswith("# Benchmarks\n")
    assert OTHER_SECTION in text
    assert text.count(report.START) == 1
    assert text.count(report.END) == 1
    assert "### Generated multi-source customers, 10,000 records" in text
    assert "### Scaling on generated data" in text
    assert "| accord | extract " in text


def test_score_hand_made_clustering() -> None:
    truth = {"a": "1", "b": "1", "c": "1", "d": "2"}
    run = ToolRun(predicted={"a": "x", "b": "x", "c": "y"})
    result = summarize(run, total=1.0, truth=truth)
    scores = result["scores"]
    # Predicted {a, b}, {c}, {d}: one true pair of three, no false pair.
    assert result["entities"] == 3
    assert scores["true_positive_pairs"] == 1
    assert scores["predicted_pairs"] == 1
    assert scores["true_pairs"] == 3
    assert scores["pair_precision"] == pytest.approx(1.0)
    assert scores["pair_recall"] == pytest.approx(1 / 3)
    assert scores["pair_f1"] == pytest.approx(0.5)
    # B-cubed recall: a and b find 2 of 3, c finds 1 of 3, d finds 1 of 1.
    assert scores["bcubed_precision"] == pytest.approx(1.0)
    assert scores["bcubed_recall"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    assert result["notes"] == ["1 records missing from the output, scored as singletons"]


def test_score_false_merge() -> None:
    truth = {"a": "1", "b": "1", "c": "2", "d": "2"}
    run = ToolRun(predicted={"a": "x", "b": "x", "c": "x", "d": "y"})
    scores = summarize(run, total=1.0, truth=truth)["scores"]
    # Predicted pairs ab, ac, bc: only ab is true; cd is missed.
    assert scores["pair_precision"] == pytest.approx(1 / 3)
    assert scores["pair_recall"] == pytest.approx(1 / 2)
    assert scores["bcubed_precision"] == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)


def _result(tool: str, size: int, f1: float) -> dict[str, object]:
    scores = {
        "records": size,
        "true_clusters": 1,
        "true_pairs": 1,
        "pair_precision": f1,
        "pair_recall": f1,
        "pair_f1": f1,
        "bcubed_f1": f1,
    }
    return {
        "status": "ok",
        "tool": tool,
        "dataset": "generated",
        "size": size,
        "phases": {"resolve": 1.0},
        "total": 1.0,
        "peak_mb": 100.0,
        "entities": 1,
        "scores": scores,
        "notes": [],
    }


def test_report_merges_results(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    out.write_text(f"# Benchmarks\n\n{OTHER_SECTION}", "utf-8")
    run = report.RunInfo(command="python -m bench", started="2026-01-01 00:00 UTC")
    report.update(out, [_result("accord", 10000, 0.5), _result("splink", 10000, 0.6)], run)
    report.update(out, [_result("accord", 10000, 0.7), _result("accord", 100000, 0.8)], run)

    text = out.read_text("utf-8")
    results = {(r["tool"], r["size"]): r for r in report.read_results(text)}
    assert set(results) == {("accord", 10000), ("splink", 10000), ("accord", 100000)}
    assert results[("accord", 10000)]["scores"]["pair_f1"] == 0.7
    assert text.count(report.START) == 1
    assert OTHER_SECTION in text
    assert "| generated 10,000 | splink | 1.17 |" in text


def test_failed_tool_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "benchmarks.md"
    argv = ["--datasets", "generated", "--sizes", "10000", "--tools", "accord"]
    code = main([*argv, "--timeout", "1", "--out", str(out)])
    assert code == 0
    result = report.read_results(out.read_text("utf-8"))[0]
    assert result["status"] == "error"
    assert result["error"] == "timed out after 1 s"
    assert "| accord | failed: timed out after 1 s |" in out.read_text("utf-8")


@pytest.mark.shared_data
def test_accord_on_rldata500(anchors_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "rldata500"
    records = prepare_public(DATASETS["rldata500"], anchors_dir, folder)
    truth = read_truth(folder)
    assert records == 500
    assert len(set(truth.values())) == 450

    workdir = tmp_path / "work"
    workdir.mkdir()
    run = run_accord("rldata500", folder, workdir)
    result = summarize(run, total=1.0, truth=truth)
    assert result["records"] == 500
    assert not [note for note in result["notes"] if "quarantined" in note or "missing" in note]
    assert result["scores"]["pair_precision"] > 0.9
    assert result["scores"]["pair_recall"] > 0.5


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "# Benchmarks\n\nIntro.\n",
            "# Benchmarks\n\nIntro.\n\n<!-- bench:demo:start -->\nnew\n<!-- bench:demo:end -->\n",
        ),
        (
            "Intro.\n\n<!-- bench:demo:start -->\nold\nrows\n<!-- bench:demo:end -->\n\nAfter.\n",
            "Intro.\n\n<!-- bench:demo:start -->\nnew\n<!-- bench:demo:end -->\n\nAfter.\n",
        ),
        (
            "<!-- bench:other:start -->\nkept\n<!-- bench:other:end -->\n",
            "<!-- bench:other:start -->\nkept\n<!-- bench:other:end -->\n\n"
            "<!-- bench:demo:start -->\nnew\n<!-- bench:demo:end -->\n",
        ),
    ],
    ids=["appended", "replaced in place", "other section kept"],
)
def test_write_section_replaces_only_its_own_section(
    tmp_path: Path, before: str, after: str
) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(before, "utf-8")
    report.write_section(page, "demo", ["new"])
    assert page.read_text("utf-8") == after


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (arguments.positive_int, "0"),
        (arguments.positive_int, "-10"),
        (arguments.positive_int, "ten"),
        (arguments.count, "-1"),
        (arguments.positive_float, "nan"),
        (arguments.positive_float, "inf"),
        (arguments.positive_float, "-5"),
        (arguments.share, "5"),
        (arguments.rates, "20,abc"),
        (arguments.rates, "200,0"),
        (arguments.counts, "10000,-1"),
    ],
)
def test_benchmark_arguments_reject_values_that_measure_nothing(
    parse: Callable[[str], object], text: str
) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)


def test_report_file_argument_rejects_a_folder(tmp_path: Path) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is a folder"):
        arguments.report_file(str(tmp_path))
    assert arguments.rates("200,50") == [200.0, 50.0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sizes", "abc"], "argument --sizes: 'abc' is not a whole number"),
        (["--sizes", "0"], "argument --sizes: 0 is out of range: use 10,000 to 10,000,000"),
        (["--sizes", "-5"], "argument --sizes: -5 is out of range: use 10,000 to 10,000,000"),
        (["--sizes", "10"], "argument --sizes: 10 is out of range: use 10,000 to 10,000,000"),
        (["--sizes", "10000,10000001"], "10,000,001 is out of range: use 10,000 to 10,000,000"),
        (["--sizes", "10000,"], "argument --sizes: '' is not a whole number"),
        (["--sizes", ""], "argument --sizes: '' is not a whole number"),
        (["--datasets", ","], "argument --datasets: ',' lists no dataset; choose from febrl3"),
        (["--datasets", ""], "argument --datasets: '' lists no dataset"),
        (["--datasets", "nosuch"], "argument --datasets: unknown dataset: nosuch; choose from"),
        (["--datasets", "generated,nosuch"], "unknown dataset: nosuch;"),
        (["--tools", ","], "argument --tools: ',' lists no tool; choose from accord"),
        (["--tools", "nosuch"], "argument --tools: unknown tool: nosuch; choose from accord"),
        (["--timeout", "0"], "argument --timeout: 0 is not at least 1"),
        (["--memory-gb", "nan"], "argument --memory-gb: 'nan' is not a finite number above 0"),
    ],
)
def test_bench_command_rejects_bad_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_args(argv)
    assert caught.value.code == 2
    assert message in capsys.readouterr().err


def test_bench_command_rejects_folder_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        parse_args(["--out", str(tmp_path)])
    assert caught.value.code == 2
    assert f"argument --out: {tmp_path} is a folder" in capsys.readouterr().err


def test_bench_command_parses_lists() -> None:
    args = parse_args(["--datasets", "rldata500, generated", "--sizes", "10000,10000000"])
    assert args.datasets == ["rldata500", "generated"]
    assert args.sizes == [10_000, 10_000_000]
    assert args.tools == ["accord", "splink", "goldenmatch"]


def test_bench_sizes_help_states_range(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "each from 10,000 to 10,000,000" in help_text


@pytest.mark.parametrize(
    "runs",
    [
        [("accord", 10000, "ok")],
        [("splink", 10000, "ok"), ("goldenmatch", 10000, "ok")],
        [("accord", 10000, "ok"), ("goldenmatch", 10000, "error")],
        [("accord", 10000, "error"), ("splink", 10000, "ok")],
        [("accord", 10000, "ok"), ("splink", 100000, "ok")],
    ],
)
def test_ratio_table_left_out_without_pair(
    runs: list[tuple[str, int, str]], tmp_path: Path
) -> None:
    results = [{**_result(tool, size, 0.5), "status": status} for tool, size, status in runs]
    for result in results:
        if result["status"] == "error":
            result["error"] = "timed out after 1 s"
    out = tmp_path / "benchmarks.md"
    run = report.RunInfo(command="python -m bench", started="2026-01-01 00:00 UTC")
    report.update(out, results, run)
    text = out.read_text("utf-8")
    assert "### Generated multi-source customers, 10,000 records" in text
    assert "Accord relative to each anchor" not in text
    assert "| dataset | anchor | pair F1 ratio" not in text


@pytest.mark.shared_data
def test_threshold_sweep_on_rldata500(anchors_dir: Path, tmp_path: Path) -> None:
    rows = bench_threshold.sweep("rldata500", 0, [0.95, 0.5], tmp_path, anchors_dir)

    assert len(rows) == 2
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    assert [row[:2] for row in cells] == [["rldata500", "0.95"], ["rldata500", "0.5"]]
    recalls = [float(row[3]) for row in cells]
    # A lower threshold never links fewer pairs.
    assert recalls[1] >= recalls[0] > 0.5


@pytest.mark.parametrize("text", ["", "1.5", "0.9,-0.1", "high"])
def test_threshold_list_rejects_bad_values(text: str) -> None:
    with pytest.raises((argparse.ArgumentTypeError, ValueError)):
        bench_threshold.thresholds(text)
