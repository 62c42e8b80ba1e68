"""Shared fixtures: real servers on loopback and the shared benchmark data.

A missing server or data folder skips its tests locally and fails them
under ``CI=true``, so CI never passes by skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def unavailable(reason: str) -> None:
    """Skip the current test locally, fail it in CI."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true requires it)")
    pytest.skip(reason)


def port_open(host: str, port: int) -> bool:
    """Return whether a TCP server accepts connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def anchors_dir() -> Path:
    """Folder of public benchmark data with ground truth."""
    path = SHARED_DATA / "anchors"
    if not path.is_dir():
        unavailable(f"benchmark data not found at {path}")
    return path


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL is not running on 127.0.0.1:5432")
    import psycopg

    name = f"accord_test_{uuid.uuid4().hex[:10]}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """URL of a fresh, empty MariaDB database, dropped after the test."""
    if not port_open("127.0.0.1", 3306):
        unavailable("MariaDB is not running on 127.0.0.1:3306")
    import pymysql

    name = f"accord_test_{uuid.uuid4().hex[:10]}"
    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="")
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE `{name}`")
        yield f"mysql+pymysql://root:@127.0.0.1:3306/{name}"
    finally:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()
