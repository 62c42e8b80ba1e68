"""Time real-time resolution and the worker's end-to-end latency.

Usage::

    python -m bench.bench_realtime --records 2000 --probes 200 --rate 200,50 --seconds 60

Part (a) fills a fresh store with ``--records`` synthetic people (a tenth of
them near-duplicates) through a batch run, then resolves ``--probes`` new
records one at a time in process: blocking candidates by shared last-name
key or email key from the store, each scored with ``score_pair`` and the
trained model. Part (b) batch-resolves and syncs ``--existing`` customers,
starts ``accord serve`` on that store as a subprocess with a webhook
destination served by this script, POSTs one new customer to
``/ingest/crm`` at ``--rate`` per second for ``--seconds`` seconds from a
pool of sender threads, and measures the time from each change's scheduled
send time until the destination receives it, counting changes that never
arrive and changes that arrive more than once. Every request goes to
127.0.0.1. Each part prints its markdown table and replaces its section of
``docs/benchmarks.md`` (``--out``); nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import pyarrow as pa

from accord.config.loader import load_project
from accord.pipeline import run
from accord.resolve.clustering import Edge, cluster
from accord.resolve.incremental import ResolutionState, load_state
from accord.store.duckdb_store import Store, connect
from bench.arguments import count, counts, positive_float, positive_int, rates, report_file
from bench.datasets import REPO_ROOT
from bench.report import section_heading, write_section

FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "John",
    "Katherine",
    "Margaret",
    "Niklaus",
    "Radia",
    "Tim",
    "Linus",
    "Guido",
    "Anita",
    "Shafi",
    "Leslie",
]
SYLLABLES = [
    "lo",
    "ve",
    "tu",
    "ring",
    "hop",
    "per",
    "dijk",
    "stra",
    "lis",
    "kov",
    "knu",
    "th",
    "al",
    "len",
    "ba",
    "ckus",
    "ham",
    "ming",
    "mo",
    "ore",
]

PROJECT = """\
name: bench-realtime
standardize:
  default_region: US
sources:
  - name: crm
    kind: jsonl
    path: crm.jsonl
    primary_key: id
    cursor: updated_at
    fields:
      first_name: first_name
      last_name: last_name
      email: email
      phone: phone
      plan: plan
      updated_at: {{from: updated_at, cast: timestamp}}
{extra}
"""

DESTINATION = """\
destinations:
  - name: hook
    kind: webhook
    url: http://127.0.0.1:{port}/hook
    secret_env: BENCH_REALTIME_SECRET
    requests_per_commit: 50
    fields: {{email: email, plan: plan}}
stream:
  port: {worker_port}
  batch_size: 500
  idle_seconds: 0.05
"""


def distinct_last_name(number: int) -> str:
    """Return a last name spelled from the digits of ``number`` in base 20, unique per number."""
    parts = []
    for _ in range(5):
        number, digit = divmod(number, len(SYLLABLES))
        parts.append(SYLLABLES[digit])
    return "".join(parts).capitalize()


# Sender threads of the load generator. Each waits for one response at a time.
SENDERS = 32
FREE_MAIL = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "mailbox.org"]


def email_domain(number: int) -> str:
    """Return the email domain of customer ``number``.

    Three in four customers use a free-mail provider. The rest work at one
    of 500 companies, each with its own domain, so organizations form as
    they do in a customer base of consumers and small businesses.
    """
    if number % 4:
        return FREE_MAIL[number % len(FREE_MAIL)]
    return f"{distinct_last_name(number // 4 % 500).lower()}-corp.com"


def make_person(number: int, rng: random.Random, distinct: bool = False) -> dict[str, Any]:
    """Return a synthetic CRM record with a random first name.

    The last name is random too, or with ``distinct`` unique to ``number``,
    so that no two records can be taken for one customer. Every number gets
    its own phone.
    """
    first = rng.choice(FIRST)
    if distinct:
        last = distinct_last_name(number)
    else:
        last = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize()
    return {
        "id": number,
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}{number}@{email_domain(number)}",
        "phone": f"+1415{2_000_000 + number:07d}",
        "plan": "basic",
        "updated_at": "2024-01-01T00:00:00",
    }


def near_duplicate(record: dict[str, Any], number: int) -> dict[str, Any]:
    """Return a copy of ``record`` under a new id and email with a typo in the last name."""
    last = record["last_name"]
    email = f"{record['first_name'].lower()}.{last.lower()}.{number}@mailbox.org"
    return {**record, "id": number, "last_name": last[:-1] + "x", "email": email}


def percentile(values: list[float], share: float) -> float:
    """Return the value at ``share`` (0 to 1) of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def free_port() -> int:
    """Return a free TCP port of 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_project(folder: Path, records: list[dict[str, Any]], extra: str = "") -> Path:
    """Write the project file and its JSON Lines data; return the project file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accord.yaml").write_text(PROJECT.format(extra=extra), encoding="utf-8")
    lines = "".join(json.dumps(record) + "\n" for record in records)
    (folder / "crm.jsonl").write_text(lines, encoding="utf-8")
    return folder / "accord.yaml"


def _state_and_probes(
    folder: Path, records: int, probes: int, seed: int
) -> tuple[ResolutionState, list[str], float] | None:
    """Batch-resolve the people and probes, then load the incremental state of the store."""
    rng = random.Random(seed)
    people = [make_person(number, rng) for number in range(records)]
    people += [near_duplicate(rng.choice(people), records + i) for i in range(records // 10)]
    probe_people = [near_duplicate(rng.choice(people), 10 * records + i) for i in range(probes)]
    loaded = load_project(write_project(folder, people + probe_people))
    store = Store.open(loaded.resolve(loaded.project.store.path))
    started = time.perf_counter()
    run(loaded, store)
    batch_seconds = time.perf_counter() - started
    state = load_state(store.connection, loaded.project)
    store.close()
    if state is None:
        print("no usable match model was trained; part (a) skipped")
        return None
    return state, [f"crm:{person['id']}" for person in probe_people], batch_seconds


def _resolve_in_process(state: ResolutionState, record_id: str, record: dict[str, Any]) -> int:
    """Resolve one record against the state as the worker does, without the store writes.

    Returns the number of records in the area.
    """
    state.add(record_id, record)
    area = state.area([record_id], {})
    nodes = {node for node in area if node in state.records}
    stitched = state.stitched_rows(nodes)
    scored = state.scored_columns(nodes, state.project.matching.review)
    edges = [Edge(a, b, 1.0) for a, b, *_ in stitched]
    edges += [
        Edge(a, b, weight)
        for a, b, weight in zip(
            scored["record_id_l"], scored["record_id_r"], scored["match_weight"], strict=True
        )
    ]
    cluster(sorted(nodes), edges)
    return len(nodes)


def _splink_timings(
    state: ResolutionState, probes: list[tuple[str, dict[str, Any]]], count: int
) -> list[float]:
    """Time Splink's predict_between for each of ``count`` probes against the stored records."""
    from splink import DuckDBAPI, Linker

    probe_ids = {record_id for record_id, _ in probes}
    rows = [row for key, row in state.records.items() if key not in probe_ids]
    database = DuckDBAPI(connect())
    existing = database.register(
        pa.Table.from_pylist(rows, schema=state.schema), table_name="existing"
    )
    linker = Linker(existing, state.model.settings, log_level=None)
    for column in sorted(state.frequencies):
        linker.table_management.compute_tf_table(column)
    timings = []
    for index, (_, record) in enumerate(probes[:count]):
        table = pa.Table.from_pylist([record], schema=state.schema)
        probe = database.register(table, table_name=f"probe_{index}")
        started = time.perf_counter()
        linker.inference.predict_between(
            existing, probe, threshold_match_probability=state.project.matching.review
        ).as_pyarrow_table()
        timings.append(time.perf_counter() - started)
    return timings


def bench_resolution(
    folder: Path, records: int, probes: int, seed: int, splink_probes: int
) -> list[str]:
    """Return the markdown rows of the time to resolve one new record against the stored entities.

    Accord runs the worker's in-process steps (index update, area, stitching,
    scoring, clustering) on the loaded state; Splink runs ``predict_between``
    of the record against every stored record with the same trained model.
    """
    prepared = _state_and_probes(folder, records, probes, seed)
    if prepared is None:
        return ["No usable match model was trained, so nothing was measured."]
    state, probe_ids, batch_seconds = prepared
    entities = len(set(state.entity_of.values()))
    held = [(record_id, state.remove(record_id)) for record_id in probe_ids]
    probes_with_rows = [(record_id, row) for record_id, row in held if row is not None]
    timings, areas = [], []
    for record_id, row in probes_with_rows:
        started = time.perf_counter()
        areas.append(_resolve_in_process(state, record_id, row))
        timings.append(time.perf_counter() - started)
        state.remove(record_id)
    splink = _splink_timings(state, probes_with_rows, splink_probes)
    stored = len(state.records)
    lines = [
        "| tool | stored records | entities | probes | mean area | p50 ms | p99 ms | batch run s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| accord | {stored:,} | {entities:,} | {len(timings)} | {statistics.mean(areas):.1f} | "
        f"{statistics.median(timings) * 1000:.2f} | {percentile(timings, 0.99) * 1000:.2f} | "
        f"{batch_seconds:.1f} |",
    ]
    if splink:
        lines.append(
            f"| splink predict_between | {stored:,} | {entities:,} | {len(splink)} | | "
            f"{statistics.median(splink) * 1000:.1f} | {percentile(splink, 0.99) * 1000:.1f} | |"
        )
        ratio = statistics.median(splink) / statistics.median(timings)
        lines += ["", f"Splink's p50 divided by Accord's p50: {ratio:.0f}."]
    return lines


class Receiver(ThreadingHTTPServer):
    """Webhook destination on 127.0.0.1 that records when each email arrives."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ReceiverHandler)
        self.arrivals: dict[str, list[float]] = {}
        self.lock = threading.Lock()


class _ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver
    # Keeps connections alive between requests, as production web servers do.
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        event = json.loads(body)
        record = event.get("record") or {}
        email = record.get("email")
        if email:
            with self.server.lock:
                self.server.arrivals.setdefault(email, []).append(time.monotonic())
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


def bench_end_to_end(
    folder: Path,
    rate: float,
    seconds: float,
    seed: int,
    existing: int,
    worker_log: Path | None = None,
) -> str:
    """Return the markdown row of the latency from POST /ingest/crm to the webhook destination.

    The store first contains ``existing`` customers, resolved and synced by a
    batch run, as a worker's store does when it takes over from batch runs.
    With ``worker_log``, the worker logs at info level to that file.
    """
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    worker_port = free_port()
    extra = DESTINATION.format(port=receiver.server_address[1], worker_port=worker_port)
    rng = random.Random(seed)
    people = [make_person(number, rng, distinct=True) for number in range(existing)]
    project = write_project(folder, people, extra)
    env = {**os.environ, "BENCH_REALTIME_SECRET": "bench-secret"}
    if existing:
        accord = [sys.executable, "-m", "accord.cli.main", "-q", "-p", str(project)]
        subprocess.run([*accord, "run"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*accord, "sync"], env=env, check=True, stdout=subprocess.DEVNULL)
        receiver.arrivals.clear()
    level = [] if worker_log else ["-q"]
    command = [sys.executable, "-m", "accord.cli.main", *level, "-p", str(project), "serve"]
    log: IO[str] | int = subprocess.DEVNULL
    if worker_log:
        log = worker_log.open("w", encoding="utf-8")
    worker = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{worker_port}"
    try:
        _wait_up(f"{base}/health")
        load = _send_at_rate(f"{base}/ingest/crm", rate, seconds, rng, existing)
        sent = load.sent
        if load.errors:
            print(f"failed POSTs: {dict(load.errors)}", flush=True)
        _wait_arrivals(receiver, sent, timeout=60)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        receiver.shutdown()
        if not isinstance(log, int):
            log.close()
    latencies = [
        receiver.arrivals[email][0] - at for email, at in sent.items() if email in receiver.arrivals
    ]
    lost = sum(1 for email in sent if email not in receiver.arrivals)
    duplicated = sum(1 for times in receiver.arrivals.values() if len(times) > 1)
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = percentile(latencies, 0.99) * 1000 if latencies else float("nan")
    return (
        f"| {existing:,} | {rate:g} | {load.achieved_rate():.0f} | {seconds:g} | {len(sent):,} | "
        f"{load.failed} | {p50:.0f} | {p99:.0f} | {lost} | {duplicated} |"
    )


def _wait_up(url: str, timeout: float = 300) -> None:
    """Wait until the worker's health endpoint reports it ready to take changes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if json.loads(response.read()).get("ready"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"the worker did not answer {url} within {timeout} s")


@dataclass
class Load:
    """Record of the load generator's sends: accepted changes by email, with scheduled times."""

    sent: dict[str, float] = field(default_factory=dict)
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_start: float = math.inf
    last_start: float = -math.inf
    lock: threading.Lock = field(default_factory=threading.Lock)

    def achieved_rate(self) -> float:
        """Return the POSTs started per second, from the first start to the last."""
        span = self.last_start - self.first_start
        started = len(self.sent) + self.failed
        return (started - 1) / span if span > 0 else float("nan")


def _send_at_rate(url: str, rate: float, seconds: float, rng: random.Random, first: int) -> Load:
    """POST one new customer every 1/``rate`` seconds, however long the responses take.

    The sends are open-loop: each change is scheduled at a fixed time and
    handed to a pool of sender threads, so a slow response does not delay the
    next change. Latency counts from the scheduled time, which includes any
    wait for a free sender.
    """
    load = Load()
    count = int(rate * seconds)
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        for number in range(count):
            scheduled = started + number / rate
            time.sleep(max(0.0, scheduled - time.monotonic()))
            person = make_person(first + number, rng, distinct=True)
            pool.submit(_post, url, person, scheduled, load)
    return load


def _post(url: str, person: dict[str, Any], scheduled: float, load: Load) -> None:
    request = urllib.request.Request(
        url, json.dumps(person).encode(), {"Content-Type": "application/json"}
    )
    start = time.monotonic()
    error = ""
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            if response.status != 202:
                error = f"HTTP {response.status}"
    except OSError as exc:
        error = type(exc).__name__
    with load.lock:
        load.first_start = min(load.first_start, start)
        load.last_start = max(load.last_start, start)
        if not error:
            load.sent[person["email"]] = scheduled
        else:
            load.failed += 1
            load.errors[error] += 1


def _wait_arrivals(receiver: Receiver, sent: dict[str, float], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with receiver.lock:
            if all(email in receiver.arrivals for email in sent):
                return
        time.sleep(0.2)


SERVE_NOTES = [
    "Rate /s is the offered rate and sent /s the rate at which the POSTs started. The "
    f"sends are open-loop from {SENDERS} sender threads, and latency counts from each "
    "change's scheduled send time to its arrival at the webhook destination. Accepted "
    "changes got 202; failed ones got another status or no answer. Lost changes were "
    "accepted but never arrived. The webhook destination speaks HTTP/1.1 and keeps "
    "connections alive.",
]
SERVE_HEADER = [
    "| customers stored | rate /s | sent /s | seconds | accepted | failed | p50 ms | p99 ms "
    "| lost | duplicated |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
]


def main() -> None:
    """Parse the arguments, run both parts and write their sections of the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--records", type=positive_int, default=2000, help="stored records for part (a)"
    )
    parser.add_argument(
        "--probes", type=positive_int, default=200, help="records resolved in part (a)"
    )
    parser.add_argument(
        "--splink-probes", type=count, default=20, help="records Splink resolves in part (a)"
    )
    parser.add_argument("--skip-serve", action="store_true", help="run part (a) only")
    parser.add_argument("--skip-resolve", action="store_true", help="run part (b) only")
    parser.add_argument(
        "--rate",
        type=rates,
        default=[20.0],
        help="comma-separated POSTs per second in part (b), one run each",
    )
    parser.add_argument("--seconds", type=positive_float, default=20.0, help="duration of part (b)")
    parser.add_argument(
        "--existing",
        type=counts,
        default=[10_000],
        help="comma-separated customers in the store before part (b), one run each",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed")
    parser.add_argument("--worker-log", type=Path, help="write the worker's log to this file")
    parser.add_argument(
        "--out", type=report_file, default=REPO_ROOT / "docs" / "benchmarks.md", help="report file"
    )
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if not arguments.skip_resolve:
            lines = bench_resolution(
                Path(folder) / "resolve",
                arguments.records,
                arguments.probes,
                arguments.seed,
                arguments.splink_probes,
            )
            print("\n".join(lines))
            options = ["--records", str(arguments.records), "--probes", str(arguments.probes)]
            options += ["--splink-probes", str(arguments.splink_probes), "--skip-serve"]
            heading = section_heading("bench.bench_realtime", options)
            write_section(arguments.out, "realtime-resolve", [*heading, *lines])
        if not arguments.skip_serve:
            rows = [*SERVE_NOTES, "", *SERVE_HEADER]
            for existing in arguments.existing:
                for rate in arguments.rate:
                    rows.append(
                        bench_end_to_end(
                            Path(folder) / f"serve-{existing}-{rate:g}",
                            rate,
                            arguments.seconds,
                            arguments.seed,
                            existing,
                            arguments.worker_log,
                        )
                    )
                    print(rows[-1], flush=True)
            rate_list = ",".join(f"{rate:g}" for rate in arguments.rate)
            existing_list = ",".join(str(existing) for existing in arguments.existing)
            options = ["--skip-resolve", "--rate", rate_list, "--seconds"]
            options += [f"{arguments.seconds:g}", "--existing", existing_list]
            heading = section_heading("bench.bench_realtime", options)
            write_section(arguments.out, "realtime-serve", [*heading, *rows])
        print(f"wrote the real-time sections of {arguments.out}")


if __name__ == "__main__":
    main()
