"""Send changes on parallel lanes while the changes of one record keep their order.

Changes that share a record key or an entity ID go to the same lane, and a
lane sends its changes one after another in outbox order. Lanes run on a
thread pool, so a destination receives at most ``concurrency`` requests at once
and never two requests for one record or entity at the same time. With a
concurrency of 1 every change is sent in input order. After a
transient failure no lane starts another request: the failed change, the
rest of its lane and every change not yet started stay pending, as they do
when the changes are sent one by one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from accord.sync.errors import DeliveryError, TransientDeliveryError
from accord.sync.writers.base import Change, Outcome, pending, rejected, sent

SendOne = Callable[[Change], None]
"""Function that sends one change and raises ``TransientDeliveryError`` or ``DeliveryError``."""


def lanes(changes: Sequence[Change]) -> list[list[int]]:
    """Return the positions of ``changes`` grouped into lanes, each lane in input order.

    Two changes share a lane when they share a record key or an entity ID,
    directly or through other changes. Lanes are ordered by their first change.
    """
    parent = list(range(len(changes)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    first_of: dict[tuple[str, str], int] = {}
    for index, change in enumerate(changes):
        for key in (("record", change.record_key), ("entity", change.entity_id)):
            other = first_of.setdefault(key, index)
            if other != index:
                parent[root(index)] = root(other)
    grouped: dict[int, list[int]] = {}
    for index in range(len(changes)):
        grouped.setdefault(root(index), []).append(index)
    return sorted(grouped.values(), key=lambda lane: lane[0])


class LaneSender:
    """Sends changes on up to ``concurrency`` lanes at once through one send function."""

    def __init__(self, concurrency: int, name: str) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency = concurrency
        self.name = name
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stop the lane threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def send(self, changes: list[Change], send_one: SendOne) -> list[Outcome]:
        """Send ``changes`` and return their outcomes in input order."""
        run = _Run(changes, send_one)
        if self.concurrency == 1:
            # One lane in input order, as a sequential writer sends.
            run.send_lane(list(range(len(changes))))
            return run.outcomes()
        groups = lanes(changes)
        if len(groups) == 1:
            run.send_lane(groups[0])
        else:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.concurrency, f"accord-send-{self.name}")
            futures = [self._pool.submit(run.send_lane, lane) for lane in groups]
            for future in futures:
                future.result()
        return run.outcomes()


class _Run:
    """The outcomes of one ``LaneSender.send`` call, filled in by its lanes."""

    def __init__(self, changes: list[Change], send_one: SendOne) -> None:
        self.changes = changes
        self.send_one = send_one
        self.results: list[Outcome | None] = [None] * len(changes)
        self.failure: str | None = None
        self.lock = threading.Lock()

    def send_lane(self, lane: list[int]) -> None:
        for position, index in enumerate(lane):
            with self.lock:
                failure = self.failure
            if failure is not None:
                self._keep_pending(lane[position:], failure)
                return
            change = self.changes[index]
            try:
                self.send_one(change)
            except TransientDeliveryError as exc:
                with self.lock:
                    if self.failure is None:
                        self.failure = str(exc)
                self._keep_pending(lane[position:], str(exc))
                return
            except DeliveryError as exc:
                self.results[index] = rejected(change, str(exc), exc.status_code, exc.response_body)
                continue
            self.results[index] = sent(change)

    def _keep_pending(self, indexes: list[int], error: str) -> None:
        outcomes = pending([self.changes[index] for index in indexes], error)
        for index, outcome in zip(indexes, outcomes, strict=True):
            self.results[index] = outcome

    def outcomes(self) -> list[Outcome]:
        done = [outcome for outcome in self.results if outcome is not None]
        if len(done) != len(self.results):
            raise RuntimeError("a lane finished without an outcome for each of its changes")
        return done
