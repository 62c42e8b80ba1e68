"""Triggers: act on the golden-record changes of a run.

A trigger matches the run's ``golden_changes`` (a field changed, changed to
a value, changed from one value to another) or its ``entity_events`` (an
entity created, entities merged). Each match is a firing, and every action
of the trigger runs for it. An action adds the entity to a suppression
list, POSTs a signed webhook, publishes to NATS or a Redis stream, or syncs
the entity to named destinations at once. Suppression runs first, so a destination that
exports the list in the same run sees the new entry, and syncs run last,
once per destination for all the entities that asked for it.

Each action of each firing is one ``trigger_log`` row and one log line. An
action that succeeded is not repeated when the same run's triggers fire
again, so a retry after a failure only redoes what failed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from accord.config.loader import LoadedProject
from accord.config.models import (
    NatsAction,
    RedisAction,
    SuppressAction,
    SyncAction,
    Trigger,
    TriggerAction,
    WebhookAction,
)
from accord.errors import AccordError, NotFoundError
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.sync.http import HttpSender
from accord.sync.messaging import publish_nats, publish_redis
from accord.sync.payload import json_body
from accord.sync.report import SyncReport
from accord.sync.runner import run_sync
from accord.sync.suppression import add_to_list
from accord.sync.writers.webhook import read_secret, signed_headers

logger = get_logger(__name__)


@dataclass(frozen=True)
class Firing:
    """One golden-record change that matched one trigger.

    ``old_value`` and ``new_value`` are JSON text; ``other_id`` is the
    entity absorbed by a merge.
    """

    trigger: str
    entity_id: str
    event: str
    field: str | None = None
    old_value: str | None = None
    new_value: str | None = None
    other_id: str | None = None

    @property
    def message_id(self) -> str:
        """Return a stable ID of this firing, used to deduplicate messages."""
        parts = [self.trigger, self.entity_id, self.event, self.field or "", self.other_id or ""]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


@dataclass(frozen=True)
class ActionResult:
    """Result of one action for one firing: ``ok`` or ``failed``, with a detail."""

    firing: Firing
    action: str
    result: str
    detail: str


@dataclass
class TriggerReport:
    """The firings of one run's triggers and the result of each action."""

    run_id: int
    firings: list[Firing] = dataclasses.field(default_factory=list)
    results: list[ActionResult] = dataclasses.field(default_factory=list)
    syncs: list[SyncReport] = dataclasses.field(default_factory=list)

    @property
    def failed(self) -> list[ActionResult]:
        """Return the actions that failed."""
        return [result for result in self.results if result.result == "failed"]


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _scalar_text(value: Any) -> str | None:
    """Return a configured value as ``json_extract_string`` renders it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def find_firings(
    connection: duckdb.DuckDBPyConnection, trigger: Trigger, run_id: int
) -> list[Firing]:
    """Return the changes of run ``run_id`` that match ``trigger``, by entity."""
    when = trigger.when
    if when.event != "changed":
        rows = connection.execute(
            """
            SELECT entity_id, other_id FROM entity_events
            WHERE run_id = ? AND event = ? ORDER BY entity_id, other_id
            """,
            [run_id, when.event],
        ).fetchall()
        return [Firing(trigger.name, entity, when.event, other_id=other) for entity, other in rows]
    old, new = _scalar_text(when.from_), _scalar_text(when.to)
    rows = connection.execute(
        """
        SELECT entity_id, CAST(old_value AS VARCHAR), CAST(new_value AS VARCHAR)
        FROM golden_changes
        WHERE run_id = ? AND field = ?
          AND old_value IS DISTINCT FROM new_value
          AND (CAST(? AS VARCHAR) IS NULL OR json_extract_string(old_value, '$') = ?)
          AND (CAST(? AS VARCHAR) IS NULL OR json_extract_string(new_value, '$') = ?)
        ORDER BY entity_id
        """,
        [run_id, when.field, old, old, new, new],
    ).fetchall()
    return [
        Firing(trigger.name, entity, "changed", when.field, old_value, new_value)
        for entity, old_value, new_value in rows
    ]


def latest_run(connection: duckdb.DuckDBPyConnection) -> int:
    """Return the ID of the latest succeeded run.

    Raises:
        NotFoundError: When no run has succeeded yet.
    """
    row = connection.execute("SELECT max(run_id) FROM runs WHERE status = 'succeeded'").fetchone()
    if not row or row[0] is None:
        raise NotFoundError("no run has succeeded yet; run 'accord run' first")
    return int(row[0])


def fire_triggers(loaded: LoadedProject, store: Store, run_id: int | None = None) -> TriggerReport:
    """Run every trigger of the project on the changes of one run.

    Call it after the run has committed, outside any open store
    transaction, because suppression entries, the trigger log and syncs
    commit on their own.

    Args:
        loaded: The project.
        store: The open store, writable.
        run_id: The run whose changes to act on; the latest succeeded run when None.

    Returns:
        The firings and the result of every action.
    """
    connection = store.connection
    run_id = latest_run(connection) if run_id is None else run_id
    report = TriggerReport(run_id)
    done = _done_actions(connection, run_id)
    to_sync: dict[str, list[Firing]] = defaultdict(list)
    for trigger in loaded.project.triggers:
        firings = find_firings(connection, trigger, run_id)
        report.firings.extend(firings)
        for firing in firings:
            key = (firing.trigger, firing.entity_id, firing.event, firing.field)
            for action in trigger.actions:
                if isinstance(action, SyncAction):
                    for destination in action.destinations:
                        if (*key, f"sync:{destination}") not in done:
                            to_sync[destination].append(firing)
                    continue
                if (*key, _action_name(action)) in done:
                    continue
                result = _run_action(store, action, firing, run_id)
                _log_result(store, run_id, result)
                report.results.append(result)
    for destination, firings in to_sync.items():
        _sync_now(loaded, store, destination, firings, run_id, report)
    return report


def _action_name(action: TriggerAction) -> str:
    if isinstance(action, SyncAction):
        return "sync:" + ",".join(action.destinations)
    if isinstance(action, SuppressAction):
        return f"suppress:{action.list_name}"
    if isinstance(action, NatsAction):
        return f"nats:{action.subject}"
    if isinstance(action, RedisAction):
        return f"redis:{action.stream}"
    return f"webhook:{action.url.split('?', 1)[0]}"


def _done_actions(
    connection: duckdb.DuckDBPyConnection, run_id: int
) -> set[tuple[str, str, str, str | None, str]]:
    rows = connection.execute(
        """
        SELECT trigger_name, entity_id, event, field, action FROM trigger_log
        WHERE run_id = ? AND result = 'ok'
        """,
        [run_id],
    ).fetchall()
    return {(row[0], row[1], row[2], row[3], row[4]) for row in rows}


def message(firing: Firing, run_id: int) -> dict[str, Any]:
    """Return the JSON message that webhook, NATS and Redis actions send for a firing."""
    return {
        "trigger": firing.trigger,
        "run_id": run_id,
        "entity_id": firing.entity_id,
        "event": firing.event,
        "field": firing.field,
        "old_value": json.loads(firing.old_value) if firing.old_value else None,
        "new_value": json.loads(firing.new_value) if firing.new_value else None,
        "other_id": firing.other_id,
        "message_id": firing.message_id,
    }


def _run_action(store: Store, action: TriggerAction, firing: Firing, run_id: int) -> ActionResult:
    name = _action_name(action)
    try:
        detail = _perform(store, action, firing, run_id)
    except AccordError as exc:
        return ActionResult(firing, name, "failed", str(exc))
    return ActionResult(firing, name, "ok", detail)


def _perform(store: Store, action: TriggerAction, firing: Firing, run_id: int) -> str:
    if isinstance(action, SuppressAction):
        with store.transaction() as connection:
            added = add_to_list(
                connection, action.list_name, [firing.entity_id], action.reason, _now()
            )
        return f"added to {action.list_name}" if added else f"already on {action.list_name}"
    body = json_body(message(firing, run_id))
    if isinstance(action, NatsAction):
        return publish_nats(action.url, action.subject, body, firing.message_id, action.jetstream)
    if isinstance(action, RedisAction):
        return publish_redis(action.url, action.stream, body, firing.message_id, action.maxlen)
    if isinstance(action, WebhookAction):
        return _post_webhook(action, body, firing)
    raise AccordError(f"trigger action {type(action).__name__} is not supported here")


def _post_webhook(action: WebhookAction, body: bytes, firing: Firing) -> str:
    target = f"trigger {firing.trigger}"
    secret = read_secret(target, action.secret_env)
    sender = HttpSender(target, action.retry)
    try:
        response = sender.send(
            "POST", action.url, body, signed_headers(secret, body, firing.message_id)
        )
    finally:
        sender.close()
    return f"HTTP {response.status_code}"


def _sync_now(
    loaded: LoadedProject,
    store: Store,
    destination: str,
    firings: list[Firing],
    run_id: int,
    report: TriggerReport,
) -> None:
    entities = {firing.entity_id for firing in firings}
    try:
        sync = run_sync(loaded, store, [destination], entity_ids=entities)
    except AccordError as exc:
        outcome, detail = "failed", str(exc)
    else:
        report.syncs.append(sync)
        item = sync.destinations[0]
        outcome = "ok" if item.ok else "failed"
        detail = (
            f"sync {sync.sync_id} to {destination}: sent {item.sent}, rejected {item.rejected}, "
            f"pending {item.pending}"
        )
        if item.error:
            detail += f"; {item.error}"
    for firing in firings:
        result = ActionResult(firing, f"sync:{destination}", outcome, detail)
        _log_result(store, run_id, result)
        report.results.append(result)


def _log_result(store: Store, run_id: int, result: ActionResult) -> None:
    firing = result.firing
    # Field values can be personal data, so the log names the field only; the
    # trigger_log table keeps the values.
    change = (
        f"{firing.field} changed"
        if firing.field
        else (f"{firing.event} {firing.other_id or ''}".strip())
    )
    # One line per entity and action: successes at DEBUG, as a run can fire
    # thousands; the caller reports totals.
    level = logging.DEBUG if result.result == "ok" else logging.WARNING
    logger.log(
        level,
        "run %d trigger %s on entity %s (%s): %s %s: %s",
        run_id,
        firing.trigger,
        firing.entity_id,
        change,
        result.action,
        result.result,
        result.detail,
    )
    with store.transaction() as connection:
        connection.execute(
            "INSERT INTO trigger_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                firing.trigger,
                firing.entity_id,
                firing.event,
                firing.field,
                firing.old_value,
                firing.new_value,
                result.action,
                result.result,
                result.detail,
                _now(),
            ],
        )
