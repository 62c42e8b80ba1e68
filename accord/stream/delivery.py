"""Deliver committed micro-batches: fire their triggers and sync their entities.

The ``stream_batches`` table lists every committed micro-batch with the
entities it touched and, once its triggers and syncs have finished, when it
was delivered. Delivery reads the undelivered batches from that table, so a
batch is delivered after a crash exactly as after a normal commit, and
delivery may run on a thread of its own while the next micro-batch is
applied.

Undelivered batches are delivered together: their triggers fire batch by
batch in run order, then one sync sends the current golden state of every
entity they touched. A sync sends only what differs from the state last
sent, so an entity touched by three batches gets one request with its
latest values, never an older value after a newer one.
"""

from __future__ import annotations

import json
import threading

from accord.config.loader import LoadedProject
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.stream.changelog import now_utc
from accord.sync import run_sync
from accord.sync.writers import WriterCache
from accord.triggers import fire_triggers

logger = get_logger(__name__)

RETRY_SECONDS = 30.0
FAILURE_PAUSE_SECONDS = 5.0


def undelivered(store: Store) -> list[tuple[int, list[str]]]:
    """Return the run ID and touched entity IDs of each undelivered micro-batch, in run order."""
    rows = store.connection.execute(
        "SELECT run_id, entity_ids FROM stream_batches WHERE delivered_at IS NULL ORDER BY run_id"
    ).fetchall()
    return [(int(run_id), json.loads(entity_ids)) for run_id, entity_ids in rows]


def deliver_batches(
    loaded: LoadedProject,
    store: Store,
    batches: list[tuple[int, list[str]]],
    writers: WriterCache | None = None,
) -> bool:
    """Fire the triggers of ``batches`` in order, sync their entities once, mark them delivered.

    A failure, or a destination that left changes pending, leaves every
    batch of the call undelivered, to be repeated. Repeating is safe:
    triggers and syncs are idempotent, and a sync sends only what differs
    from the state last sent.

    Returns:
        True when every batch was delivered.
    """
    if not batches:
        return True
    project = loaded.project
    runs = [run_id for run_id, _ in batches]
    entity_ids = sorted({entity for _, entities in batches for entity in entities})
    try:
        if project.triggers:
            for run_id in runs:
                fire_triggers(loaded, store, run_id)
        if project.destinations and entity_ids:
            report = run_sync(
                loaded, store, None, entity_ids=entity_ids, examples=0, writers=writers
            )
            waiting = [item for item in report.destinations if item.pending or item.error]
            if waiting:
                # A destination that kept changes pending was not planned for these
                # entities, so the batches stay undelivered and are synced again.
                logger.warning(
                    "runs %d to %d: destination %s did not take every change; retried later",
                    runs[0],
                    runs[-1],
                    ", ".join(item.destination for item in waiting),
                )
                return False
    except Exception as exc:
        logger.error(
            "runs %d to %d: triggers or sync of %d entities failed, retried later: %s: %s",
            runs[0],
            runs[-1],
            len(entity_ids),
            type(exc).__name__,
            exc,
        )
        return False
    placeholders = ", ".join("?" for _ in runs)
    with store.transaction() as connection:
        connection.execute(
            f"UPDATE stream_batches SET delivered_at = ? WHERE run_id IN ({placeholders})",
            [now_utc(), *runs],
        )
    return True


def deliver_pending(
    loaded: LoadedProject, store: Store, writers: WriterCache | None = None
) -> bool:
    """Deliver every undelivered micro-batch and resend changes a destination did not take.

    A destination that was down leaves its changes pending in the sync
    outbox; they are sent again here even when no new batch came in.

    Returns:
        True when nothing is left to deliver or resend.
    """
    batches = undelivered(store)
    if not deliver_batches(loaded, store, batches, writers):
        return False
    if _synced(loaded, batches) or not _outbox_pending(store):
        # A sync resends every destination's pending changes before it plans new ones.
        return True
    try:
        run_sync(loaded, store, None, entity_ids=[], examples=0, writers=writers)
    except Exception as exc:
        logger.error("resending pending changes failed: %s: %s", type(exc).__name__, exc)
        return False
    return not _outbox_pending(store)


def _synced(loaded: LoadedProject, batches: list[tuple[int, list[str]]]) -> bool:
    """Return whether delivering ``batches`` ran a sync of every destination."""
    return bool(loaded.project.destinations) and any(entities for _, entities in batches)


def _outbox_pending(store: Store) -> bool:
    rows = store.connection.execute(
        "SELECT count(*) FROM sync_outbox WHERE status = 'pending'"
    ).fetchall()
    return bool(rows[0][0])


class DeliveryThread:
    """Delivers committed micro-batches on a thread of its own, in run order.

    :meth:`wake` after each commit starts a delivery of everything
    undelivered. The thread also retries undelivered batches and pending
    outbox changes every ``RETRY_SECONDS``, and pauses
    ``FAILURE_PAUSE_SECONDS`` after a failed delivery so that a destination
    that is down is not called in a loop.
    """

    def __init__(self, loaded: LoadedProject, store: Store) -> None:
        self.loaded = loaded
        # A cursor is a connection of its own, so this thread never shares one.
        self.store = Store(store.connection.cursor(), store.path)
        self.writers = WriterCache()
        self.woken = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="accord-delivery", daemon=True)

    def start(self) -> None:
        """Start the thread; it first delivers what an earlier worker left undelivered."""
        self.woken.set()
        self.thread.start()

    def wake(self) -> None:
        """Ask for a delivery of every undelivered micro-batch."""
        self.woken.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Deliver what is committed, then stop the thread."""
        self.stopping.set()
        self.woken.set()
        self.thread.join(timeout)
        if self.thread.is_alive():
            logger.warning("delivery thread did not finish within %.0f s", timeout)
        else:
            self.writers.close()
            self.store.close()

    def _run(self) -> None:
        while True:
            self.woken.wait(RETRY_SECONDS)
            self.woken.clear()
            stopping = self.stopping.is_set()
            try:
                delivered = deliver_pending(self.loaded, self.store, self.writers)
            except Exception as exc:
                logger.error("delivery failed, retrying: %s: %s", type(exc).__name__, exc)
                delivered = False
            if stopping:
                return
            if not delivered:
                self.stopping.wait(FAILURE_PAUSE_SECONDS)
