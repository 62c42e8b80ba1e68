"""The worker as a subprocess: SIGTERM shutdown and durability across SIGKILL."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from accord.store.duckdb_store import Store
from stream.helpers import (
    batch_store,
    clusters,
    free_port,
    get,
    live_records,
    person,
    post,
    start_worker,
    wait_until_up,
    write_project,
)

KEYS = 30
VERSIONS = 4
# Time, level and logger name begin every line of the worker's log.
LOG_LINE = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "


def project(folder: Path, port: int) -> Path:
    return write_project(folder, f"stream:\n  port: {port}\n  batch_size: 25\n")


def changes() -> list[dict[str, Any]]:
    """Return every version of every record, versions in order, keys interleaved."""
    return [person(n, version=v) for v in range(1, VERSIONS + 1) for n in range(KEYS)]


def send_until_accepted(url: str, body: bytes, deadline: float) -> None:
    """POST until the worker returns 202, as a client retries after a crash."""
    while time.monotonic() < deadline:
        try:
            status, _ = post(url, body)
        except OSError:
            time.sleep(0.2)
            continue
        if status == 202:
            return
        time.sleep(0.2)
    raise AssertionError("the worker did not accept the change in time")


def wait_drained(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, text = get(f"{base}/health")
        if status == 200 and not json.loads(text)["pending"]:
            return
        time.sleep(0.2)
    raise AssertionError("changes still pending")


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


@pytest.mark.slow
def test_sigterm_exits_cleanly(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = start_worker(project(tmp_path, port), tmp_path / "worker.log")
    try:
        wait_until_up(f"{base}/health", worker)
        status, _ = post(f"{base}/ingest/crm", json.dumps([person(1), person(2)]).encode())
        code = stop(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
    log = (tmp_path / "worker.log").read_text()
    assert status == 202
    assert code == 0
    assert re.search(LOG_LINE + r"accord\.stream\.worker \[MainThread\] worker stopped$", log, re.M)
    assert all(re.match(LOG_LINE, line) for line in log.splitlines())


@pytest.mark.slow
def test_sigkill_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    project_file = project(tmp_path / "stream", port)
    log = tmp_path / "worker.log"
    all_changes = changes()
    kill_at = len(all_changes) // 2
    worker = start_worker(project_file, log)
    try:
        wait_until_up(f"{base}/health", worker)
        deadline = time.monotonic() + 120
        for index, change in enumerate(all_changes):
            if index == kill_at:
                worker.kill()
                worker.wait(timeout=30)
                worker = start_worker(project_file, log)
            send_until_accepted(f"{base}/ingest/crm", json.dumps(change).encode(), deadline)
        wait_drained(base)
        code = stop(worker)
    finally:
        if worker.poll() is None:
            worker.kill()
    final = [person(n, version=VERSIONS) for n in range(KEYS)]
    expected = batch_store(tmp_path / "batch", final)
    with Store.open(tmp_path / "stream" / "accord.duckdb") as store:
        versions = store.connection.execute(
            "SELECT source_key, list(data->>'plan' ORDER BY version) FROM record_versions "
            "GROUP BY source_key"
        ).fetchall()
        statuses = dict(
            store.connection.execute(
                "SELECT status, count(*) FROM change_log GROUP BY status"
            ).fetchall()
        )
        assert code == 0
        assert live_records(store) == live_records(expected)
        assert clusters(store) == clusters(expected)
        assert "pending" not in statuses
        assert "failed" not in statuses
        for key, plans in versions:
            assert plans == sorted(set(plans)), f"record {key} went back to an older version"
