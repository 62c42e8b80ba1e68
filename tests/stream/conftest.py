"""Fixtures for the worker tests: a running in-process worker and logical replication."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from accord.store.duckdb_store import Store
from accord.stream.worker import Worker
from stream.helpers import load, write_project
from tests.conftest import port_open, unavailable

RESTART = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main restart"


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[[str], Worker]]:
    """Return a function that starts an in-process worker for the test project with ``extra``."""
    started: list[tuple[Worker, threading.Thread]] = []

    def start(extra: str) -> Worker:
        loaded = load(write_project(tmp_path, extra).parent)
        store = Store.open(loaded.resolve(loaded.project.store.path))
        worker = Worker(loaded, store, port=0)
        worker.start()
        thread = threading.Thread(target=worker.run)
        thread.start()
        started.append((worker, thread))
        return worker

    yield start
    for worker, thread in started:
        worker.request_stop()
        thread.join(timeout=60)
        worker.store.close()


def _wal_level() -> str:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        row = conn.execute("SHOW wal_level").fetchone()
    return str(row[0]) if row else ""


@pytest.fixture(scope="session")
def logical_replication() -> None:
    """Make sure the local PostgreSQL server runs with ``wal_level = logical``.

    Sets it with ALTER SYSTEM and restarts the server when needed.
    """
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL is not running on 127.0.0.1:5432")
    if _wal_level() == "logical":
        return
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET wal_level = logical")
    result = subprocess.run(RESTART, shell=True, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or _wal_level() != "logical":
        unavailable(f"cannot enable wal_level=logical: {result.stderr.strip()}")
