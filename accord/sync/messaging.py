"""Publish one JSON message to NATS or to a Redis stream.

Both carry a message ID for deduplication: the ``Nats-Msg-Id`` header,
which JetStream uses to drop a repeat within its duplicate window, and an
``id`` field of the Redis stream entry for consumers to check.
"""

from __future__ import annotations

import asyncio

from accord.logs import get_logger
from accord.sync.errors import TransientDeliveryError

logger = get_logger(__name__)

CONNECT_TIMEOUT_SECONDS = 5


def publish_nats(
    url: str, subject: str, payload: bytes, message_id: str, jetstream: bool = False
) -> str:
    """Publish ``payload`` to ``subject`` and return a description of the result.

    With ``jetstream``, the publish waits for the stream's acknowledgement;
    otherwise it waits until the server has received it (a flush).

    Raises:
        TransientDeliveryError: When the server cannot be reached or does
            not acknowledge in time.
    """
    try:
        return asyncio.run(_publish_nats(url, subject, payload, message_id, jetstream))
    except (OSError, TimeoutError) as exc:
        raise TransientDeliveryError(f"nats {subject}", f"publish failed: {exc}") from exc
    except Exception as exc:
        # nats-py raises its own error classes, which do not share a base with OSError.
        if type(exc).__module__.startswith("nats"):
            raise TransientDeliveryError(
                f"nats {subject}", f"publish failed: {type(exc).__name__}: {exc}"
            ) from exc
        raise


async def _publish_nats(
    url: str, subject: str, payload: bytes, message_id: str, jetstream: bool
) -> str:
    import nats

    client = await nats.connect(
        url,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        allow_reconnect=False,
        max_reconnect_attempts=0,
    )
    try:
        headers = {"Nats-Msg-Id": message_id}
        if jetstream:
            ack = await client.jetstream().publish(
                subject, payload, timeout=CONNECT_TIMEOUT_SECONDS, headers=headers
            )
            duplicate = " (duplicate)" if ack.duplicate else ""
            return f"stream {ack.stream} sequence {ack.seq}{duplicate}"
        await client.publish(subject, payload, headers=headers)
        await client.flush(timeout=CONNECT_TIMEOUT_SECONDS)
        return f"published to {subject}"
    finally:
        await client.close()


def publish_redis(
    url: str, stream: str, payload: bytes, message_id: str, maxlen: int | None = None
) -> str:
    """Append ``payload`` to ``stream`` with XADD and return the entry ID.

    Raises:
        TransientDeliveryError: When the server cannot be reached.
    """
    import redis

    client = redis.Redis.from_url(
        url, socket_timeout=CONNECT_TIMEOUT_SECONDS, socket_connect_timeout=CONNECT_TIMEOUT_SECONDS
    )
    try:
        entry = client.xadd(
            stream,
            {"id": message_id, "payload": payload},
            maxlen=maxlen,
            approximate=maxlen is not None,
        )
    except redis.RedisError as exc:
        raise TransientDeliveryError(
            f"redis {stream}", f"XADD failed: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        client.close()
    return f"stream {stream} entry {entry.decode() if isinstance(entry, bytes) else entry}"
