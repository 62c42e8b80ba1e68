"""A small project whose CRM arrives as a stream of changes, and ways to inspect its store."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from accord.config.loader import LoadedProject, load_project
from accord.pipeline import run
from accord.store.duckdb_store import Store

PROJECT = """\
name: stream-test
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
      updated_at:
        from: updated_at
        cast: timestamp
quality:
  - rule: one_of_present
    fields: [email, phone]
{extra}
"""

FIRST_NAMES = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John"]
LAST_NAMES = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus"]


def write_project(
    folder: Path, extra: str = "", records: list[dict[str, Any]] | None = None
) -> Path:
    """Write the project file and its CRM JSON Lines file; return the project file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "accord.yaml").write_text(PROJECT.format(extra=extra), encoding="utf-8")
    lines = [json.dumps(record) for record in records or []]
    (folder / "crm.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return folder / "accord.yaml"


def person(number: int, version: int = 1, **changes: Any) -> dict[str, Any]:
    """Return CRM record ``number`` at ``version``; the version is its updated_at minute."""
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    record = {
        "id": number,
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}{number}@mailbox.org",
        "phone": None,
        "plan": f"plan-{version}",
        "updated_at": f"2024-01-01T00:{version:02d}:00",
    }
    record.update(changes)
    return record


def batch_store(folder: Path, records: list[dict[str, Any]]) -> Store:
    """Run the batch pipeline on ``records`` in a fresh project and return its open store."""
    loaded = load_project(write_project(folder, records=records))
    store = Store.open(loaded.resolve(loaded.project.store.path))
    run(loaded, store)
    return store


def load(folder: Path) -> LoadedProject:
    """Load the project in ``folder``."""
    return load_project(folder / "accord.yaml")


def live_records(store: Store) -> dict[str, dict[str, Any]]:
    """Return the canonical data of every live record, by source key."""
    rows = store.connection.execute(
        "SELECT source_key, data FROM source_records WHERE deleted_at IS NULL"
    ).fetchall()
    return {row[0]: json.loads(row[1]) for row in rows}


def clusters(store: Store) -> set[frozenset[str]]:
    """Return the entities as sets of member record keys."""
    rows = store.connection.execute(
        "SELECT entity_id, list(source || ':' || source_key) FROM entity_members GROUP BY 1"
    ).fetchall()
    return {frozenset(row[1]) for row in rows}


def statuses(store: Store) -> dict[int, str]:
    """Return the status of every change in the log, by sequence number."""
    rows = store.connection.execute("SELECT seq, status FROM change_log").fetchall()
    return {int(row[0]): row[1] for row in rows}


def free_port() -> int:
    """Return a TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST ``body`` and return the status code and the decoded JSON answer."""
    request = urllib.request.Request(
        url, body, {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def get(url: str) -> tuple[int, str]:
    """GET ``url`` and return the status code and the body text."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def start_worker(
    project: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start 'accord serve' for ``project`` as a subprocess that logs to ``log``."""
    command = [sys.executable, "-m", "accord.cli.main", "-p", str(project), "serve"]
    with log.open("ab") as output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until ``url`` answers, failing when the process exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"worker exited with code {process.returncode} before it was up")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"worker did not answer {url} within {timeout} s")
