"""Turn one message of an intake into a change of one source record.

A message is a JSON object of source columns (nested objects are flattened
to dotted names, as the batch readers do), or an envelope
``{"op": "insert" | "update" | "delete", "record": {...}}``. A plain object
is an ``update``, which inserts a record the store lacks. A delete needs only
the primary key columns. An object with an ``op`` of those three values
that is not exactly such an envelope is rejected, because reading it as a
record would blank the record's other fields.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from accord.config.models import SourceBase
from accord.sources.base import is_missing_key_value, make_source_key

OPERATIONS = ("insert", "update", "delete")


class InvalidChange(ValueError):
    """A message that cannot become a change; the text says why."""


@dataclass(frozen=True)
class Change:
    """One raw change of one source record, as an intake received it.

    ``position`` is where the change sits in its intake (a replication LSN,
    a stream sequence, an entry ID); the change log keeps one change per
    source, intake and position.
    """

    source: str
    source_key: str
    op: str
    payload: dict[str, Any]
    intake: str
    position: str | None = None


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return ``record`` with nested objects flattened to dotted column names."""
    flat: dict[str, Any] = {}
    for name, value in record.items():
        column = f"{prefix}{name}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{column}."))
        else:
            flat[column] = value
    return flat


def _unwrap(item: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(item, dict):
        raise InvalidChange(f"expected a JSON object, got {type(item).__name__}")
    if set(item) <= {"op", "record"} and isinstance(item.get("record"), dict):
        op = item.get("op", "update")
        if op not in OPERATIONS:
            raise InvalidChange(f"invalid op {op!r}; use one of {', '.join(OPERATIONS)}")
        return str(op), item["record"]
    if item.get("op") in OPERATIONS:
        # Read as a record, an attempted envelope would overwrite fields with nulls.
        raise InvalidChange(
            f'op {item["op"]!r} needs the envelope {{"op": ..., "record": {{...}}}} with '
            'the record\'s columns under "record" and no other members; send a record that '
            "has its own 'op' column inside an envelope"
        )
    return "update", item


def parse_json(body: bytes | str) -> Any:
    """Parse a message body, rejecting what the change log could not store.

    The change log keeps payloads in a DuckDB JSON column, which rejects a
    string with an unpaired UTF-16 surrogate such as ``"\\ud800"``.

    Raises:
        InvalidChange: When the body is not UTF-8 JSON, is nested too deeply
            or contains an unpaired UTF-16 surrogate.
    """
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidChange(f"invalid JSON: {exc}") from None
    except RecursionError:
        raise InvalidChange("invalid JSON: nested too deeply") from None
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidChange(
            "invalid JSON: a string contains an unpaired UTF-16 surrogate; send valid UTF-8"
        ) from None
    except RecursionError:
        raise InvalidChange("invalid JSON: nested too deeply") from None
    return document


def parse_change(source: SourceBase, item: Any, intake: str, position: str | None = None) -> Change:
    """Build the change that one message describes.

    Raises:
        InvalidChange: When the message is not an object, is nested too deeply
            or lacks a primary key value.
    """
    op, record = _unwrap(item)
    try:
        payload = flatten(record)
    except RecursionError:
        raise InvalidChange("invalid JSON: nested too deeply") from None
    missing = [column for column in source.key_columns if is_missing_key_value(payload.get(column))]
    invalid = [
        column
        for column in source.key_columns
        if isinstance(payload.get(column), (bool, list, dict))
    ]
    if invalid:
        raise InvalidChange(
            f"source '{source.name}': primary key column(s) {', '.join(invalid)} must be a "
            "string or a number"
        )
    if missing:
        raise InvalidChange(
            f"source '{source.name}': primary key column(s) {', '.join(missing)} missing, empty "
            "or not a finite number"
        )
    key = make_source_key([payload[column] for column in source.key_columns])
    return Change(source.name, key, op, payload, intake, position)
