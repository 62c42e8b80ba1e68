"""Parallel sending: lanes keep the order of each record's changes and stop on failure."""

from __future__ import annotations

import threading
import time

import pytest

from accord.sync.errors import DeliveryError, TransientDeliveryError
from accord.sync.writers.base import Change
from accord.sync.writers.lanes import LaneSender, lanes


def change(change_id: int, record_key: str, entity_id: str | None = None) -> Change:
    return Change(
        change_id=change_id,
        record_key=record_key,
        entity_id=entity_id or f"per_{record_key}",
        operation="update",
        record={"email": f"{record_key}@example.com"},
        fields=["email"],
        idempotency_key=f"key-{change_id}",
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ([change(1, "a"), change(2, "b"), change(3, "c")], [[0], [1], [2]]),
        ([change(1, "a"), change(2, "b"), change(3, "a")], [[0, 2], [1]]),
        # Two record keys of one entity share a lane.
        ([change(1, "a", "per_x"), change(2, "b"), change(3, "c", "per_x")], [[0, 2], [1]]),
        # a and b share an entity, b and c a record key: all three share a lane.
        (
            [
                change(1, "a", "per_x"),
                change(2, "b", "per_x"),
                change(3, "b", "per_y"),
                change(4, "c", "per_y"),
                change(5, "d"),
            ],
            [[0, 1, 2, 3], [4]],
        ),
        ([], []),
    ],
)
def test_lanes_group_shared_keys(changes: list[Change], expected: list[list[int]]) -> None:
    assert lanes(changes) == expected


class Recorder:
    """A send function that records the order of calls and the requests in flight."""

    def __init__(
        self,
        fail: dict[int, Exception] | None = None,
        delay: float = 0.01,
        delays: dict[int, float] | None = None,
    ) -> None:
        self.fail = fail or {}
        self.delay = delay
        self.delays = delays or {}
        self.calls: list[int] = []
        self.in_flight: set[str] = set()
        self.max_in_flight = 0
        self.overlapping_keys: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, item: Change) -> None:
        with self.lock:
            if item.record_key in self.in_flight:
                self.overlapping_keys.append(item.record_key)
            self.in_flight.add(item.record_key)
            self.max_in_flight = max(self.max_in_flight, len(self.in_flight))
            self.calls.append(item.change_id)
        time.sleep(self.delays.get(item.change_id, self.delay))
        with self.lock:
            self.in_flight.discard(item.record_key)
        error = self.fail.get(item.change_id)
        if error is not None:
            raise error


def test_sender_keeps_order_per_record() -> None:
    changes = [change(i, f"r{i % 3}") for i in range(1, 13)]
    recorder = Recorder()
    sender = LaneSender(4, "hook")
    try:
        outcomes = sender.send(changes, recorder)
    finally:
        sender.close()
    assert [o.change_id for o in outcomes] == list(range(1, 13))
    assert {o.status for o in outcomes} == {"sent"}
    assert recorder.overlapping_keys == []
    for key in ("r0", "r1", "r2"):
        sent_ids = [c for c in recorder.calls if changes[c - 1].record_key == key]
        assert sent_ids == sorted(sent_ids)


def test_sender_runs_lanes_in_parallel() -> None:
    changes = [change(i, f"r{i}") for i in range(1, 21)]
    recorder = Recorder(delay=0.05)
    sender = LaneSender(4, "hook")
    try:
        outcomes = sender.send(changes, recorder)
    finally:
        sender.close()
    assert len(outcomes) == 20
    assert recorder.max_in_flight == 4


def test_sender_of_one_keeps_input_order() -> None:
    changes = [change(1, "a"), change(2, "b"), change(3, "a"), change(4, "c")]
    recorder = Recorder(delay=0.0)
    outcomes = LaneSender(1, "hook").send(changes, recorder)
    assert recorder.calls == [1, 2, 3, 4]
    assert [o.status for o in outcomes] == ["sent"] * 4


def test_sender_of_one_stops_at_transient_failure() -> None:
    changes = [change(1, "a"), change(2, "b"), change(3, "c")]
    recorder = Recorder(fail={2: TransientDeliveryError("hook", "HTTP 503")}, delay=0.0)
    outcomes = LaneSender(1, "hook").send(changes, recorder)
    assert recorder.calls == [1, 2]
    assert [o.status for o in outcomes] == ["sent", "pending", "pending"]
    assert outcomes[2].error is not None and "HTTP 503" in outcomes[2].error


def test_transient_failure_keeps_lane_pending() -> None:
    # r0 fails while r1 is in flight; r0's later change and the r2 lane, which starts
    # on the thread r0 frees, stay unsent.
    changes = [change(1, "r0"), change(2, "r1"), change(3, "r0"), change(4, "r2")]
    failure = TransientDeliveryError("hook", "timed out")
    recorder = Recorder(fail={1: failure}, delay=0.01, delays={2: 0.1})
    sender = LaneSender(2, "hook")
    try:
        outcomes = sender.send(changes, recorder)
    finally:
        sender.close()
    by_id = {o.change_id: o for o in outcomes}
    assert [o.change_id for o in outcomes] == [1, 2, 3, 4]
    assert by_id[1].status == "pending"
    assert by_id[3].status == "pending"
    assert 3 not in recorder.calls
    assert by_id[2].status == "sent"
    assert by_id[4].status == "pending"
    assert 4 not in recorder.calls


def test_rejected_change_does_not_stop_lane() -> None:
    changes = [change(1, "a"), change(2, "a"), change(3, "b")]
    error = DeliveryError("hook", "rejected with HTTP 400", 400, '{"error": "bad"}')
    recorder = Recorder(fail={1: error}, delay=0.0)
    sender = LaneSender(4, "hook")
    try:
        outcomes = sender.send(changes, recorder)
    finally:
        sender.close()
    assert [o.status for o in outcomes] == ["rejected", "sent", "sent"]
    assert outcomes[0].status_code == 400
    assert outcomes[0].response_body == '{"error": "bad"}'


def test_sender_rejects_zero_concurrency() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LaneSender(0, "hook")
