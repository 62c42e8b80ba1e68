"""The intake threads that a project's ``stream.sources`` settings ask for.

Each runner takes the worker's stop event, returns when it is set, and only
acknowledges a message after its change is committed to the change log.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence

from accord.config.loader import LoadedProject
from accord.config.models import SourceBase
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.stream.changelog import REJECTED, commit_changes
from accord.stream.changes import Change, InvalidChange, parse_change, parse_json
from accord.stream.metrics import Metrics

logger = get_logger(__name__)

Runner = Callable[[threading.Event], None]


def intake_runners(
    loaded: LoadedProject, store: Store, metrics: Metrics
) -> list[tuple[str, Runner]]:
    """Return a named runner for every configured NATS, Redis, PostgreSQL and poll intake.

    Each intake's module, and the client library it needs, is imported only
    when a source configures that intake.
    """
    runners: list[tuple[str, Runner]] = []
    for name, settings in loaded.project.stream.sources.items():
        source = loaded.project.source(name)
        if settings.nats is not None:
            from accord.stream import nats_intake

            runner = functools.partial(nats_intake.consume, store, metrics, source, settings.nats)
            runners.append((f"nats:{name}", runner))
        if settings.redis is not None:
            from accord.stream import redis_intake

            runner = functools.partial(redis_intake.consume, store, metrics, source, settings.redis)
            runners.append((f"redis:{name}", runner))
        if settings.postgres is not None:
            from accord.stream import postgres_intake

            runner = functools.partial(
                postgres_intake.consume, store, metrics, source, settings.postgres
            )
            runners.append((f"postgres:{name}", runner))
        if settings.poll is not None:
            from accord.stream import polling

            runner = functools.partial(polling.poll, loaded, store, metrics, source, settings.poll)
            runners.append((f"poll:{name}", runner))
    return runners


def parse_messages(
    source: SourceBase, messages: Sequence[tuple[str, bytes | str]], intake: str
) -> tuple[list[Change], list[Change]]:
    """Parse ``(position, body)`` messages into valid changes and rejected ones.

    A rejected message keeps its text in the payload under ``message`` so it
    can be inspected; it is never processed.
    """
    valid: list[Change] = []
    rejected: list[Change] = []
    for position, body in messages:
        try:
            valid.append(parse_change(source, parse_json(body), intake, position))
        except InvalidChange as exc:
            logger.error(
                "intake %s of source %s: message at %s rejected: %s",
                intake,
                source.name,
                position,
                exc,
            )
            payload = {"message": _storable_text(body)[:10_000], "error": _storable_text(str(exc))}
            rejected.append(Change(source.name, "", "update", payload, intake, position))
    return valid, rejected


def _storable_text(body: bytes | str) -> str:
    """Return ``body`` as text that the JSON payload column accepts.

    Invalid UTF-8 bytes become U+FFFD and unpaired surrogates become ``?``.
    """
    if isinstance(body, bytes):
        return body.decode("utf-8", errors="replace")
    return body.encode("utf-8", errors="replace").decode("utf-8")


def commit_messages(
    store: Store, metrics: Metrics, source: str, valid: list[Change], rejected: list[Change]
) -> None:
    """Commit valid changes as pending and rejected ones as rejected, then count them."""
    cursor = store.connection.cursor()
    try:
        received = commit_changes(cursor, valid)
        failed = commit_changes(cursor, rejected, REJECTED, "invalid message") if rejected else 0
    finally:
        cursor.close()
    metrics.add("accord_changes_received_total", source, received)
    if failed:
        metrics.add("accord_changes_failed_total", source, failed)
