"""Benchmark entity resolution: Accord against Splink and GoldenMatch on the same data.

Run ``python -m bench`` for the public datasets plus 10,000 generated records,
or ``python -m bench --datasets generated --sizes 100000,300000,1000000`` for
scaling. Each tool runs on each dataset in its own process, limited to
``--timeout`` seconds and ``--memory-gb`` of address space. A tool that fails
or exceeds either limit is reported with the error, and the run goes on. Results
go to ``docs/benchmarks.md`` between the ``bench:resolution`` markers and
replace earlier results for the same dataset, size and tool.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import arguments, report
from bench.datasets import (
    ALL,
    DATASETS,
    DEFAULT_ANCHORS,
    GENERATED,
    PUBLIC,
    REPO_ROOT,
    prepare_generated,
    prepare_public,
)
from bench.generate import MAX_RECORDS, MIN_RECORDS

TOOLS = ("accord", "splink", "goldenmatch")
DEFAULT_SIZES = (10_000,)
DEFAULT_TIMEOUT = 30 * 60
DEFAULT_MEMORY_GB = 20
# Environment variable names that may hold credentials for hosted services.
# Tool processes run without them so no optional feature can call out.
SECRET_NAME = re.compile(r"(API_KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)


@dataclass(frozen=True)
class Job:
    """One tool on one prepared dataset."""

    tool: str
    dataset: str
    size: int
    folder: Path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets",
        type=arguments.names(ALL, "dataset"),
        default=",".join(ALL),
        help=f"comma-separated datasets out of {', '.join(ALL)} (default: all)",
    )
    parser.add_argument(
        "--sizes",
        type=arguments.counts_between(MIN_RECORDS, MAX_RECORDS),
        default=",".join(str(size) for size in DEFAULT_SIZES),
        help="comma-separated record counts for the generated dataset, each from "
        f"{MIN_RECORDS:,} to {MAX_RECORDS:,} (default: 10000); the scaling runs use "
        "100000,300000,1000000",
    )
    parser.add_argument(
        "--tools",
        type=arguments.names(TOOLS, "tool"),
        default=",".join(TOOLS),
        help="comma-separated tools (default: all three)",
    )
    parser.add_argument(
        "--out",
        type=arguments.report_file,
        default=REPO_ROOT / "docs" / "benchmarks.md",
        help="report file",
    )
    parser.add_argument(
        "--anchors", type=Path, default=DEFAULT_ANCHORS, help="folder of the public datasets"
    )
    parser.add_argument(
        "--timeout",
        type=arguments.positive_int,
        default=DEFAULT_TIMEOUT,
        help="seconds per tool and dataset",
    )
    parser.add_argument(
        "--memory-gb",
        type=arguments.positive_float,
        default=DEFAULT_MEMORY_GB,
        help="address-space limit per tool process, in GiB",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="folder for pyinstrument profiles of the Accord runs (default: no profiling)",
    )
    return parser.parse_args(argv)


def child_environment() -> dict[str, str]:
    """Return the environment for tool processes: no credentials, analytics off."""
    environment = {k: v for k, v in os.environ.items() if not SECRET_NAME.search(k)}
    environment["PYTHONPATH"] = str(REPO_ROOT)
    environment["GOLDENMATCH_ANALYTICS"] = "0"
    environment["GOLDENMATCH_SUGGEST_ON_DEDUPE"] = "0"
    return environment


def _limit_memory(limit_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


def _wait(pid: int, deadline: float) -> tuple[int | None, Any]:
    """Wait for ``pid`` until ``deadline``; return (status, rusage), status None on timeout."""
    while True:
        reaped, status, usage = os.wait4(pid, os.WNOHANG)
        if reaped:
            return status, usage
        if time.monotonic() >= deadline:
            return None, None
        time.sleep(0.2)


def run_job(job: Job, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Run one job in a child process and return its result with peak memory."""
    workdir = scratch / f"{job.tool}-{job.dataset}-{job.size}"
    workdir.mkdir(parents=True, exist_ok=True)
    profile = None
    if args.profile and job.tool == "accord":
        args.profile.mkdir(parents=True, exist_ok=True)
        profile = str(args.profile.resolve() / f"accord-{job.dataset}-{job.size}.txt")
    spec = {
        "tool": job.tool,
        "dataset": job.dataset,
        "folder": str(job.folder),
        "workdir": str(workdir),
        "result": str(workdir / "result.json"),
        "profile": profile,
    }
    (workdir / "spec.json").write_text(json.dumps(spec), "utf-8")
    log_path = workdir / "output.log"
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", str(workdir / "spec.json")],
            cwd=REPO_ROOT,
            env=child_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_limit_memory(int(args.memory_gb * 2**30)),
        )
        status, usage = _wait(process.pid, started + args.timeout)
        if status is None:
            os.killpg(process.pid, signal.SIGKILL)
            _, status, usage = os.wait4(process.pid, 0)
            timed_out = True
        else:
            timed_out = False
        process.returncode = os.waitstatus_to_exitcode(status)
    result = _read_result(workdir, log_path, process.returncode, timed_out, args)
    result.update(
        tool=job.tool,
        dataset=job.dataset,
        size=job.size,
        wall=time.monotonic() - started,
        peak_mb=usage.ru_maxrss / 1024,  # Linux reports kilobytes
        finished=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
    return result


def _read_result(
    workdir: Path, log_path: Path, code: int, timed_out: bool, args: argparse.Namespace
) -> dict[str, Any]:
    result_path = workdir / "result.json"
    if timed_out:
        return {"status": "error", "error": f"timed out after {args.timeout} s"}
    if result_path.exists():
        result: dict[str, Any] = json.loads(result_path.read_text("utf-8"))
        return result
    tail = log_path.read_text("utf-8", errors="replace")[-2000:]
    reason = f"killed by signal {-code}" if code < 0 else f"exited with code {code}"
    return {
        "status": "error",
        "error": f"process {reason} without a result (memory limit {args.memory_gb:g} GiB)",
        "traceback": tail,
    }


def prepare(dataset: str, size: int, scratch: Path, anchors: Path) -> tuple[Path, int]:
    """Prepare a dataset in a fresh folder; return the folder and its record count."""
    folder = scratch / f"data-{dataset}-{size}"
    if dataset == GENERATED:
        return folder, prepare_generated(size, folder)
    return folder, prepare_public(DATASETS[dataset], anchors, folder)


def describe(result: dict[str, Any]) -> str:
    """Return a one-line summary of a job result for the console."""
    head = f"{result['dataset']:>15} {result['size']:>9,} {result['tool']:>12}"
    if result["status"] != "ok":
        return f"{head}  FAILED: {result['error']}"
    scores = result["scores"]
    return (
        f"{head}  {result['total']:8.1f} s  {result['peak_mb']:8.0f} MB  "
        f"{result['entities']:>9,} entities  pair F1 {scores['pair_f1']:.4f}  "
        f"B3 F1 {scores['bcubed_f1']:.4f}"
    )


def plan(args: argparse.Namespace) -> list[tuple[str, int]]:
    """Return (dataset, size) pairs to run; a public dataset's size is its record count."""
    datasets: list[str] = args.datasets
    pairs: list[tuple[str, int]] = [(name, 0) for name in datasets if name in PUBLIC]
    if GENERATED in datasets:
        pairs += [(GENERATED, size) for size in args.sizes]
    return pairs


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the report; return the exit code."""
    args = parse_args(argv)
    tools: list[str] = args.tools
    command = "python -m bench" + ("" if not argv else " " + shlex.join(argv))
    run_info = report.RunInfo(
        command=command, started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    )
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="accord-bench-") as temp:
        scratch = Path(temp)
        for dataset, size in plan(args):
            folder, records = prepare(dataset, size, scratch, args.anchors)
            for tool in tools:
                result = run_job(Job(tool, dataset, size or records, folder), args, scratch)
                result["command"] = command
                print(describe(result), flush=True)
                results.append(result)
            report.update(args.out, results, run_info)
    print(f"wrote {args.out}")
    return 0
