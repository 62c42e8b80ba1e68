"""NATS JetStream intake: a durable pull consumer, acknowledged after the commit."""

from __future__ import annotations

import asyncio
import threading

import nats
import nats.errors
import nats.js.errors
from nats.js.client import JetStreamContext

from accord.config.models import NatsIntake, SourceBase
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.stream.intakes import commit_messages, parse_messages
from accord.stream.metrics import Metrics

logger = get_logger(__name__)

FETCH_TIMEOUT_SECONDS = 1.0


def consume(
    store: Store,
    metrics: Metrics,
    source: SourceBase,
    settings: NatsIntake,
    stop: threading.Event,
) -> None:
    """Consume the subject until ``stop`` is set."""
    asyncio.run(_consume(store, metrics, source, settings, stop))


async def _ensure_stream(js: JetStreamContext, settings: NatsIntake) -> None:
    try:
        await js.stream_info(settings.stream)
    except nats.js.errors.NotFoundError:
        await js.add_stream(name=settings.stream, subjects=[settings.subject])
        logger.info("created JetStream stream %s for %s", settings.stream, settings.subject)


async def _consume(
    store: Store,
    metrics: Metrics,
    source: SourceBase,
    settings: NatsIntake,
    stop: threading.Event,
) -> None:
    client = await nats.connect(settings.url, connect_timeout=5, allow_reconnect=True)
    try:
        js = client.jetstream()
        await _ensure_stream(js, settings)
        subscription = await js.pull_subscribe(
            settings.subject, durable=settings.durable, stream=settings.stream
        )
        logger.info(
            "NATS intake of source %s: consumer %s on %s",
            source.name,
            settings.durable,
            settings.subject,
        )
        while not stop.is_set():
            try:
                messages = await subscription.fetch(settings.batch, timeout=FETCH_TIMEOUT_SECONDS)
            except nats.errors.TimeoutError:
                continue
            bodies = [
                (f"{settings.stream}:{message.metadata.sequence.stream}", message.data)
                for message in messages
            ]
            valid, rejected = parse_messages(source, bodies, "nats")
            commit_messages(store, metrics, source.name, valid, rejected)
            for message in messages:
                await message.ack()
    finally:
        await client.close()
