"""Write benchmark results into ``docs/benchmarks.md`` between the resolution markers.

Everything outside the markers is kept as it is, so other sections of the
page survive a run. The raw results are kept inside the markers as JSON in an
HTML comment. A run merges its results into them, replacing earlier results
for the same dataset, size and tool, then renders every table again.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.datasets import DATASETS, GENERATED

START = "<!-- bench:resolution:start -->"
END = "<!-- bench:resolution:end -->"
DATA_START = "<!-- bench:resolution:data"
DATA_END = "-->"
PACKAGES = ("accord", "splink", "duckdb", "goldenmatch", "pandas", "pyarrow")
TOOL_ORDER = ("accord", "splink", "goldenmatch")
ANCHORS = ("splink", "goldenmatch")
TRACEBACK_LINES = 25
# Phases in the order each tool runs them.
PHASE_ORDER = (
    "prepare",
    "extract",
    "process",
    "store",
    "resolve",
    "merge",
    "configure",
    "training",
    "prediction",
    "clustering",
    "dedupe",
    "match",
    "other",
)
CONFIGURATIONS = """\
How each tool is set up:

- Accord runs with its default matching settings. The project file per public
  dataset is in `bench/tool_accord.py`: it maps the columns to canonical fields,
  sets the phone region and, for the historical figures, accepts birth dates
  before 1900. Generated data uses the `accord.yaml` that `bench.generate` writes.
- Splink 5 runs on DuckDB with the comparisons, blocking rules, deterministic
  rules and EM blocking rules of its own examples for FEBRL 3, FEBRL 4, fake_1000
  and historical_50k, `estimate_u_using_random_sampling(max_pairs=1e7)`, and
  clusters at a match probability of 0.95. RLdata and the generated data get a
  configuration in the same style (`bench/tool_splink.py`); the generated sources
  are mapped to common columns in SQL (lower case, national phone digits, ISO dates).
- GoldenMatch runs `auto_configure_probabilistic_df` and `dedupe_df` with no tuning,
  the path its own comparison with Splink uses, and `match_df` for the two FEBRL 4
  sources (`bench/tool_goldenmatch.py`).
"""

HEADER = """# Benchmarks

Measured numbers for Accord, each section written by the script named in it.
Sections between `<!-- bench:... -->` markers are generated: edit the
scripts, not the tables.

"""


@dataclass(frozen=True)
class RunInfo:
    """The command line and start time of one benchmark run."""

    command: str
    started: str


def machine() -> str:
    """Return a one-paragraph description of this machine and the package versions."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    return (
        f"{os.cpu_count()} CPUs, {pages / 2**30:.1f} GiB memory, "
        f"{platform.system()} {platform.machine()}, Python {platform.python_version()}; "
        + ", ".join(versions)
        + "."
    )


def _key(result: dict[str, Any]) -> tuple[str, int, str]:
    return (result["dataset"], int(result["size"]), result["tool"])


def read_results(text: str) -> list[dict[str, Any]]:
    """Return the results stored in the data comment of a page, if any."""
    start = text.find(DATA_START)
    if start < 0:
        return []
    end = text.find(DATA_END, start + len(DATA_START))
    lines = text[start + len(DATA_START) : end].strip().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def merge(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return ``old`` with every result of the same dataset, size and tool replaced by ``new``."""
    merged = {_key(result): result for result in old}
    merged.update({_key(result): result for result in new})
    return list(merged.values())


def _number(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _phases(result: dict[str, Any]) -> str:
    phases: dict[str, float] = result["phases"]
    names = [name for name in PHASE_ORDER if name in phases]
    names += sorted(name for name in phases if name not in PHASE_ORDER)
    return ", ".join(f"{name} {phases[name]:.1f}" for name in names)


def _tool_row(result: dict[str, Any]) -> str:
    peak = _number(result["peak_mb"], 0)
    if result["status"] != "ok":
        error = result["error"].replace("|", "\\|").replace("\n", " ")[:200]
        return f"| {result['tool']} | failed: {error} | | {peak} | | | | | | |"
    scores = result["scores"]
    notes = "; ".join(result.get("notes", []))
    cells = [
        result["tool"],
        _phases(result),
        _number(result["total"]),
        peak,
        f"{result['entities']:,}",
        f"{scores['pair_precision']:.4f}",
        f"{scores['pair_recall']:.4f}",
        f"{scores['pair_f1']:.4f}",
        f"{scores['bcubed_f1']:.4f}",
        notes,
    ]
    return "| " + " | ".join(cells) + " |"


def _tool_rank(result: dict[str, Any]) -> tuple[int, str]:
    tool: str = result["tool"]
    return (TOOL_ORDER.index(tool) if tool in TOOL_ORDER else len(TOOL_ORDER), tool)


def _ordered(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(results, key=_tool_rank)


def _title(dataset: str, size: int) -> str:
    if dataset == GENERATED:
        return f"Generated multi-source customers, {size:,} records"
    return DATASETS[dataset].title if dataset in DATASETS else dataset


def dataset_table(dataset: str, size: int, results: list[dict[str, Any]]) -> list[str]:
    """Return the markdown lines of one dataset's table."""
    lines = [f"### {_title(dataset, size)}", ""]
    scored = [r for r in results if r["status"] == "ok"]
    if scored:
        truth = scored[0]["scores"]
        lines += [
            f"{truth['records']:,} records, {truth['true_clusters']:,} true entities, "
            f"{truth['true_pairs']:,} true pairs.",
            "",
        ]
    lines += [
        "| tool | phases (s) | total (s) | peak MB | entities | pair P | pair R | pair F1 "
        "| B³ F1 | notes |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    lines += [_tool_row(result) for result in _ordered(results)]
    return [*lines, ""]


def _ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "n/a"


def ratio_table(groups: dict[tuple[str, int], list[dict[str, Any]]]) -> list[str]:
    """Return the table of Accord's F1, time and memory relative to each anchor.

    The table is left out when no dataset has a successful Accord run and a
    successful anchor run to compare it with.
    """
    rows: list[str] = []
    for (dataset, size), results in groups.items():
        by_tool = {r["tool"]: r for r in results if r["status"] == "ok"}
        accord = by_tool.get("accord")
        if accord is None:
            continue
        for anchor_name in ANCHORS:
            anchor = by_tool.get(anchor_name)
            if anchor is None:
                continue
            label = f"generated {size:,}" if dataset == GENERATED else dataset
            cells = [
                label,
                anchor_name,
                _ratio(accord["scores"]["pair_f1"], anchor["scores"]["pair_f1"]),
                _ratio(accord["scores"]["bcubed_f1"], anchor["scores"]["bcubed_f1"]),
                _ratio(accord["total"], anchor["total"]),
                _ratio(accord["peak_mb"], anchor["peak_mb"]),
            ]
            rows.append("| " + " | ".join(cells) + " |")
    if not rows:
        return []
    return [
        "### Accord relative to each anchor",
        "",
        "Each ratio is Accord's value divided by the anchor's: an F1 ratio above 1 means "
        "Accord is more accurate, a time or memory ratio above 1 means Accord takes longer "
        "or uses more memory.",
        "",
        "| dataset | anchor | pair F1 ratio | B³ F1 ratio | time ratio | memory ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        *rows,
        "",
    ]


def scaling_table(results: list[dict[str, Any]]) -> list[str]:
    """Return the table of every tool on the generated data by size."""
    generated = sorted(
        (r for r in results if r["dataset"] == GENERATED),
        key=lambda r: (int(r["size"]), _tool_rank(r)),
    )
    if not generated:
        return []
    lines = [
        "### Scaling on generated data",
        "",
        "| records | tool | total (s) | records/s | peak MB | pair F1 | B³ F1 |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in generated:
        size = f"{int(result['size']):,}"
        peak = _number(result["peak_mb"], 0)
        if result["status"] != "ok":
            error = result["error"].replace("|", "\\|").replace("\n", " ")[:120]
            lines.append(f"| {size} | {result['tool']} | failed: {error} | | {peak} | | |")
            continue
        scores = result["scores"]
        rate = int(result["size"]) / result["total"] if result["total"] else 0.0
        cells = [
            size,
            result["tool"],
            _number(result["total"]),
            _number(rate, 0),
            peak,
            f"{scores['pair_f1']:.4f}",
            f"{scores['bcubed_f1']:.4f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def failures(results: list[dict[str, Any]]) -> list[str]:
    """Return the end of the traceback of every failed result."""
    failed = [r for r in results if r["status"] != "ok"]
    if not failed:
        return []
    lines = ["### Failures", ""]
    for result in failed:
        size = f"{int(result['size']):,} records"
        lines += [f"{result['tool']} on {result['dataset']} ({size}): {result['error']}", ""]
        trace = result.get("traceback", "").strip().splitlines()[-TRACEBACK_LINES:]
        if trace:
            lines += ["```text", *trace, "```", ""]
    return lines


def _groups(results: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    order = [*DATASETS, GENERATED]
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for result in sorted(
        results,
        key=lambda r: (
            order.index(r["dataset"]) if r["dataset"] in order else len(order),
            int(r["size"]),
        ),
    ):
        groups.setdefault((result["dataset"], int(result["size"])), []).append(result)
    return groups


def _runs(results: list[dict[str, Any]]) -> list[str]:
    runs = sorted({(r.get("started", ""), r.get("command", "")) for r in results})
    return [f"- {started}: `{command}`" for started, command in runs]


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {key: _rounded(item) for key, item in value.items()}
    return value


def _data_block(results: list[dict[str, Any]]) -> list[str]:
    # ">" appears only inside JSON strings, so escaping it keeps "-->" out of the comment.
    rows = [
        json.dumps(_rounded(result), sort_keys=True).replace(">", "\\u003e")
        for result in sorted(results, key=_key)
    ]
    return [DATA_START, *rows, DATA_END]


def render(results: list[dict[str, Any]]) -> str:
    """Return the whole generated section, markers included."""
    groups = _groups(results)
    lines = [
        START,
        "## Entity resolution: Accord, Splink and GoldenMatch",
        "",
        "Written by `python -m bench` (`bench/run.py`); the next run replaces everything "
        "between these markers. Every tool runs in its own process; peak MB is that "
        "process's maximum resident set size. Phase times are wall-clock seconds, and the "
        "total excludes starting Python and importing the tool. Accord's `other` phase "
        "covers opening, committing and closing the store; closing writes the run into the "
        "store file. All accuracy figures come from `accord.evaluation.score` on the same "
        "record IDs.",
        "",
        f"Machine: {machine()}",
        "",
        "Runs:",
        "",
        *_runs(results),
        "",
        CONFIGURATIONS,
    ]
    for (dataset, size), group in groups.items():
        lines += dataset_table(dataset, size, group)
    lines += ratio_table(groups)
    lines += scaling_table(results)
    lines += failures(results)
    lines += [*_data_block(results), END]
    return "\n".join(lines) + "\n"


def update(path: Path, new: list[dict[str, Any]], run: RunInfo) -> None:
    """Merge ``new`` into the results stored in ``path`` and rewrite its generated section."""
    for result in new:
        result.setdefault("started", run.started)
        result.setdefault("command", run.command)
    text = path.read_text("utf-8") if path.exists() else HEADER
    results = merge(read_results(text), new)
    section = render(results)
    start, end = text.find(START), text.find(END)
    if start >= 0 and end > start:
        rest = text[end + len(END) :].lstrip("\n")
        text = text[:start] + section + ("\n" + rest if rest else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")


def section_heading(script: str, arguments: list[str]) -> list[str]:
    """Return the lines that open a script's section: its command, date, machine and load."""
    command = " ".join(["python -m", script, *arguments])
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    return [
        f"Command: `{command}`, run {started}; 1-minute load average at the end {load:.2f}.",
        f"Machine: {machine()}",
        "",
    ]


def write_section(path: Path, name: str, lines: list[str]) -> None:
    """Replace the section ``name`` of ``path`` with ``lines``, or append it when missing.

    The section lies between ``<!-- bench:NAME:start -->`` and
    ``<!-- bench:NAME:end -->``; the text around it is kept.
    """
    start_marker, end_marker = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
    section = "\n".join([start_marker, *lines, end_marker])
    text = path.read_text("utf-8") if path.exists() else HEADER
    start, end = text.find(start_marker), text.find(end_marker)
    if start >= 0 and end > start:
        text = text[:start] + section + text[end + len(end_marker) :]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
