"""Canonical JSON, signatures and idempotency keys of the changes sync sends."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "X-Accord-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def canonical_json(value: Any) -> str:
    """Serialize ``value`` with sorted keys and no spaces, so equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def json_body(value: Any) -> bytes:
    """Return the UTF-8 request body for ``value``."""
    return canonical_json(value).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """Return the ``X-Accord-Signature`` header value: ``sha256=`` and the HMAC-SHA256 hex digest.

    A receiver recomputes the HMAC of the raw request body with the shared
    secret and compares it with :func:`hmac.compare_digest`.
    """
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def replay_key(idempotency_key: str, replay: int) -> str:
    """Return the idempotency key of the ``replay``-th replay of a dead-lettered change.

    A receiver that stored the rejection under the original key would
    return it again, so a replay sends a key of its own.
    """
    return hashlib.sha256(f"{idempotency_key}|replay|{replay}".encode()).hexdigest()
