"""Redis Streams intake: a consumer group, acknowledged with XACK after the commit."""

from __future__ import annotations

import threading
from typing import Any

import redis

from accord.config.models import RedisIntake, SourceBase
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.stream.intakes import commit_messages, parse_messages
from accord.stream.metrics import Metrics

logger = get_logger(__name__)

BLOCK_MILLISECONDS = 1000


def consume(
    store: Store,
    metrics: Metrics,
    source: SourceBase,
    settings: RedisIntake,
    stop: threading.Event,
) -> None:
    """Read the stream through the consumer group until ``stop`` is set.

    The consumer first reads its own pending entries (delivered before a
    crash but never acknowledged), then new ones.
    """
    # Replies stay bytes, so a message that is not UTF-8 is rejected by
    # parse_messages instead of raising inside the client.
    client: Any = redis.Redis.from_url(settings.url, decode_responses=False)
    try:
        _ensure_group(client, settings)
        logger.info(
            "Redis intake of source %s: group %s on stream %s",
            source.name,
            settings.group,
            settings.stream,
        )
        next_id = "0"
        while not stop.is_set():
            reply = client.xreadgroup(
                settings.group,
                settings.consumer,
                {settings.stream: next_id},
                count=settings.batch,
                block=BLOCK_MILLISECONDS,
            )
            entries = reply[0][1] if reply else []
            if not entries:
                next_id = ">"
                continue
            bodies = [(entry_id.decode(), fields.get(b"data", b"")) for entry_id, fields in entries]
            valid, rejected = parse_messages(source, bodies, "redis")
            commit_messages(store, metrics, source.name, valid, rejected)
            client.xack(settings.stream, settings.group, *[entry_id for entry_id, _ in entries])
    finally:
        client.close()


def _ensure_group(client: Any, settings: RedisIntake) -> None:
    try:
        client.xgroup_create(settings.stream, settings.group, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise
