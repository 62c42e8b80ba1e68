"""Run one tool on one prepared dataset in its own process and write the result as JSON.

Usage (the benchmark runner starts this; it is not meant to be run by hand)::

    python -m bench.worker SPEC.json

The spec names the tool, dataset, prepared data folder, a scratch folder, the
result file and optionally a file for a pyinstrument profile. The result
holds the phase times, the total, the entity count and the scores, or the
error with its traceback.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import socket
import sys
import time
import traceback
from collections.abc import Callable, Hashable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from accord.evaluation import score
from bench.datasets import read_truth
from bench.timing import ToolRun

ToolFunction = Callable[[str, Path, Path], ToolRun]


def _loopback(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # a Unix socket path
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def block_remote_connections() -> None:
    """Make every socket connection to an address outside loopback raise ``OSError``.

    The benchmarked tools have optional features that call hosted services
    when credentials are present. The benchmark must only measure local work.
    """
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> None:
        if not _loopback(address):
            raise OSError(f"connection to {address!r} blocked: the benchmark runs offline")
        original_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        if not _loopback(address):
            raise OSError(f"connection to {address!r} blocked: the benchmark runs offline")
        return original_connect_ex(self, address)

    setattr(socket.socket, "connect", connect)  # noqa: B010
    setattr(socket.socket, "connect_ex", connect_ex)  # noqa: B010


def load_tool(tool: str) -> ToolFunction:
    """Import ``bench.tool_<tool>`` and return its ``run_<tool>`` function."""
    module = importlib.import_module(f"bench.tool_{tool}")
    function: ToolFunction = getattr(module, f"run_{tool}")
    return function


def run_tool(tool: ToolFunction, spec: dict[str, Any]) -> tuple[ToolRun, float]:
    """Run the tool, under pyinstrument when the spec asks for a profile."""
    args = (spec["dataset"], Path(spec["folder"]), Path(spec["workdir"]))
    profile = spec.get("profile")
    start = time.perf_counter()
    if not profile:
        run = tool(*args)
        return run, time.perf_counter() - start
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.01)
    profiler.start()
    run = tool(*args)
    profiler.stop()
    elapsed = time.perf_counter() - start
    Path(profile).write_text(profiler.output_text(show_all=False), "utf-8")
    run.notes.append("timed under the pyinstrument profiler")
    return run, elapsed


def summarize(run: ToolRun, total: float, truth: dict[str, str]) -> dict[str, Any]:
    """Score a run against the truth. A record missing from the output counts as alone."""
    predicted: dict[str, Hashable] = {
        record: run.predicted.get(record, f"missing:{record}") for record in truth
    }
    missing = sum(1 for record in truth if record not in run.predicted)
    notes = list(run.notes)
    if missing:
        notes.append(f"{missing} records missing from the output, scored as singletons")
    return {
        "status": "ok",
        "phases": run.phases,
        "total": total,
        "entities": len(set(predicted.values())),
        "records": len(truth),
        "scores": asdict(score(predicted, truth)),
        "notes": notes,
    }


def main(argv: list[str]) -> int:
    """Run the spec in ``argv[0]`` and write its result file; return the exit code."""
    spec = json.loads(Path(argv[0]).read_text("utf-8"))
    block_remote_connections()
    try:
        tool = load_tool(spec["tool"])
        run, total = run_tool(tool, spec)
        result = summarize(run, total, read_truth(Path(spec["folder"])))
        code = 0
    except Exception as exc:
        result = {
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
        }
        code = 1
    Path(spec["result"]).write_text(json.dumps(result), "utf-8")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
