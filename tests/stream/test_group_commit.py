"""Concurrent intake requests commit together and each learns its own count."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from accord.store.duckdb_store import Store
from accord.stream.changelog import commit_requests, fetch_pending
from accord.stream.changes import Change
from accord.stream.group_commit import GroupCommitter


def _change(number: int, position: str | None = None) -> Change:
    key = str(number)
    return Change("crm", key, "upsert", {"id": key, "n": number}, "test", position)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "accord.duckdb") as opened:
        yield opened


@pytest.mark.parametrize(
    ("requests", "expected"),
    [
        ([[1, 2], [3]], [2, 1]),
        ([[1, 2], [2, 3]], [2, 1]),
        ([[1], [1], [1]], [1, 0, 0]),
        ([[], [4]], [0, 1]),
    ],
)
def test_commit_requests_counts_each(
    store: Store, requests: list[list[int]], expected: list[int]
) -> None:
    """A position repeated within the group counts for its first request only."""
    changes = [[_change(n, position=f"p{n}") for n in request] for request in requests]

    assert commit_requests(store.connection, changes) == expected
    pending = fetch_pending(store.connection, 100)
    assert len(pending) == sum(expected)


def test_concurrent_requests_all_committed(store: Store) -> None:
    committer = GroupCommitter(store)
    results: dict[int, Any] = {}

    def send(thread: int) -> None:
        changes = [_change(thread * 10 + n) for n in range(3)]
        results[thread] = committer.commit(changes)

    threads = [threading.Thread(target=send, args=(t,)) for t in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    committer.close()

    assert results == {t: 3 for t in range(40)}
    numbers = sorted(change.payload["n"] for change in fetch_pending(store.connection, 1000))
    assert numbers == sorted(t * 10 + n for t in range(40) for n in range(3))


def test_request_order_kept_within_request(store: Store) -> None:
    committer = GroupCommitter(store)
    committer.commit([_change(n) for n in (5, 1, 3)])
    committer.close()

    assert [c.payload["n"] for c in fetch_pending(store.connection, 10)] == [5, 1, 3]


def test_failed_commit_raises_in_request(store: Store) -> None:
    committer = GroupCommitter(store)
    store.connection.execute("DROP TABLE change_log")

    with pytest.raises(duckdb.Error):
        committer.commit([_change(1)])
    committer.close()


def test_close_without_requests_stops(store: Store) -> None:
    committer = GroupCommitter(store)
    committer.close()

    assert not committer._thread.is_alive()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_interrupted_commit_raises_in_request(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request never reports success when its commit was cut short."""

    def interrupt(*args: Any, **kwargs: Any) -> list[int]:
        raise KeyboardInterrupt

    monkeypatch.setattr("accord.stream.group_commit.commit_requests", interrupt)
    committer = GroupCommitter(store)

    with pytest.raises(KeyboardInterrupt):
        committer.commit([_change(1)])
    committer._thread.join(timeout=5)
    assert not committer._thread.is_alive()


def _commit_sizes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the number of requests of each commit the committer makes."""
    sizes: list[int] = []

    def counting(connection: Any, requests: Any, *args: Any) -> list[int]:
        sizes.append(len(requests))
        return commit_requests(connection, requests, *args)

    monkeypatch.setattr("accord.stream.group_commit.commit_requests", counting)
    return sizes


def test_concurrent_requests_gathered(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """After a group of several requests, the next group waits for more."""
    monkeypatch.setattr("accord.stream.group_commit.GATHER_SECONDS", 0.5)
    sizes = _commit_sizes(monkeypatch)
    committer = GroupCommitter(store)
    committer._concurrent = True
    threads = []
    for number in range(4):
        thread = threading.Thread(target=committer.commit, args=([_change(number)],))
        thread.start()
        threads.append(thread)
        threading.Event().wait(0.02)
    for thread in threads:
        thread.join()
    committer.close()

    assert sizes == [4]
    assert len(fetch_pending(store.connection, 10)) == 4


def test_serial_requests_not_delayed(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """One client that sends each request after the previous response never waits to gather."""
    monkeypatch.setattr("accord.stream.group_commit.GATHER_SECONDS", 5.0)
    sizes = _commit_sizes(monkeypatch)
    committer = GroupCommitter(store)
    started = time.monotonic()
    for number in range(5):
        committer.commit([_change(number)])
    elapsed = time.monotonic() - started
    committer.close()

    assert sizes == [1, 1, 1, 1, 1]
    assert elapsed < 5.0
