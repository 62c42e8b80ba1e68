"""Group commit: the changes of concurrent intake requests share one transaction.

Each webhook request must be durable before the worker returns 202, and a
DuckDB commit costs milliseconds. Committed one by one, concurrent requests
queue behind each other's commits. Here request threads hand their changes
to one committer thread, which appends everything waiting in one
transaction and then releases every request of the group. A request gets
its response only after the commit that contains its changes.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.stream.changelog import commit_requests
from accord.stream.changes import Change

logger = get_logger(__name__)

# Requests per transaction at most, which bounds one INSERT's size.
MAX_GROUP = 256

# While concurrent requests stream in, a group stays open this long for more. Measured on
# two cores, a commit of one change took 1.4 ms of CPU and one of eight changes 2.0 ms, so
# larger groups leave the cores to the processor and delivery threads.
GATHER_SECONDS = 0.005


@dataclass
class _Request:
    changes: Sequence[Change]
    done: threading.Event = field(default_factory=threading.Event)
    appended: int = 0
    error: BaseException | None = None


class GroupCommitter:
    """A thread that commits the changes of waiting requests together."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._queue: queue.Queue[_Request | None] = queue.Queue()
        # Whether the last group showed concurrent requests: it held several, or
        # another request was waiting when it committed.
        self._concurrent = False
        self._thread = threading.Thread(target=self._run, name="accord-group-commit", daemon=True)
        self._thread.start()

    def commit(self, changes: Sequence[Change]) -> int:
        """Append ``changes`` durably and return how many were new; raise what the commit raised."""
        request = _Request(changes)
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.appended

    def close(self) -> None:
        """Commit the requests already handed over, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        cursor = self._store.connection.cursor()
        try:
            while True:
                group = self._next_group()
                self._commit(cursor, group)
                self._concurrent = len(group) > 1 or not self._queue.empty()
                if group[-1] is None:
                    return
        finally:
            cursor.close()

    def _next_group(self) -> list[_Request | None]:
        """Wait for one request, then gather more, up to MAX_GROUP.

        After a group that showed concurrent requests, the group takes what
        arrives in the next ``GATHER_SECONDS``. Otherwise it takes only what
        is waiting, so one client that sends a request after each response
        never waits.
        """
        group = [self._queue.get()]
        now = time.monotonic()
        deadline = now + GATHER_SECONDS if self._concurrent else now
        while group[-1] is not None and len(group) < MAX_GROUP:
            remaining = deadline - time.monotonic()
            try:
                if remaining > 0:
                    group.append(self._queue.get(timeout=remaining))
                else:
                    group.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return group

    def _commit(self, cursor: duckdb.DuckDBPyConnection, group: list[_Request | None]) -> None:
        requests = [request for request in group if request is not None]
        if not requests:
            return
        try:
            counts = commit_requests(cursor, [request.changes for request in requests])
        except BaseException as exc:
            # Every waiting request must learn of the failure, or it would return 202.
            logger.error("committing %d intake requests failed: %s", len(requests), exc)
            for request in requests:
                request.error = exc
            if not isinstance(exc, Exception):
                raise
        else:
            for request, count in zip(requests, counts, strict=True):
                request.appended = count
        finally:
            for request in requests:
                request.done.set()
