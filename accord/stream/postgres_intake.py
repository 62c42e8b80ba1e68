"""PostgreSQL logical replication intake through the built-in test_decoding plugin.

The worker reads the slot's changes of one table, commits each source
transaction's changes to the change log with their LSN as position, and only
then confirms the LSN with ``send_feedback(flush_lsn=...)``, so the server
keeps the WAL of any change not yet committed to the store. A restart
skips the changes at or below the highest stored LSN, which arrive again
when the worker stopped between its commit and its feedback.

The table needs ``REPLICA IDENTITY FULL`` or a primary key for deletes to
carry the key columns, and the server needs ``wal_level = logical``.
"""

from __future__ import annotations

import os
import re
import select
import threading
from typing import Any

import psycopg2
import psycopg2.errors
import psycopg2.extras

from accord.config.models import PostgresIntake, SourceBase
from accord.logs import get_logger
from accord.store.duckdb_store import Store
from accord.stream.changelog import last_position
from accord.stream.changes import Change, parse_change
from accord.stream.intakes import commit_messages
from accord.stream.metrics import Metrics

logger = get_logger(__name__)

PLUGIN = "test_decoding"
IDLE_SECONDS = 0.5
_CHANGE_LINE = re.compile(r"^table (?P<table>\S+): (?P<op>INSERT|UPDATE|DELETE): (?P<columns>.*)$")
_COLUMN = re.compile(
    r"(?P<name>\"(?:[^\"]|\"\")+\"|[^\s\[]+)\[(?P<type>[^\]]+)\]:(?P<value>'(?:[^']|'')*'|\S+)"
)
_NUMBER_TYPES = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


def format_lsn(lsn: int) -> str:
    """Return an LSN as 16 hex digits, so that text order is LSN order."""
    return f"{lsn:016X}"


def parse_value(type_name: str, text: str) -> Any:
    """Convert one test_decoding column value to a Python value."""
    if text == "null":
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if type_name in ("smallint", "integer", "bigint"):
        return int(text)
    if type_name in _NUMBER_TYPES:
        return float(text)
    if type_name == "boolean":
        return text == "true"
    return text


def parse_line(line: str, table: str) -> tuple[str, dict[str, Any]] | None:
    """Return the operation and columns of one change line of ``table``, or None."""
    match = _CHANGE_LINE.match(line)
    if match is None or match.group("table") != table:
        return None
    columns: dict[str, Any] = {}
    text = match.group("columns")
    if text.startswith("old-key: "):
        text = text.removeprefix("old-key: ").split(" new-tuple: ")[-1]
    for column in _COLUMN.finditer(text):
        name = column.group("name")
        if name.startswith('"'):
            name = name[1:-1].replace('""', '"')
        if column.group("value") == "unchanged-toast-datum":
            continue
        columns[name] = parse_value(column.group("type"), column.group("value"))
    return match.group("op").lower(), columns


def _table_name(table: str) -> str:
    return table if "." in table else f"public.{table}"


def consume(
    store: Store,
    metrics: Metrics,
    source: SourceBase,
    settings: PostgresIntake,
    stop: threading.Event,
) -> None:
    """Stream the slot's changes of ``settings.table`` until ``stop`` is set."""
    dsn = os.path.expandvars(settings.dsn)
    connection = psycopg2.connect(
        dsn, connection_factory=psycopg2.extras.LogicalReplicationConnection
    )
    try:
        cursor = connection.cursor()
        _ensure_slot(cursor, settings.slot)
        cursor.start_replication(slot_name=settings.slot, decode=True)
        logger.info("PostgreSQL intake of source %s: slot %s", source.name, settings.slot)
        _stream(cursor, store, metrics, source, _table_name(settings.table), stop)
    finally:
        connection.close()


def _ensure_slot(cursor: Any, slot: str) -> None:
    try:
        cursor.create_replication_slot(slot, output_plugin=PLUGIN)
        logger.info("created replication slot %s with plugin %s", slot, PLUGIN)
    except psycopg2.errors.DuplicateObject:
        return


def _stream(
    cursor: Any,
    store: Store,
    metrics: Metrics,
    source: SourceBase,
    table: str,
    stop: threading.Event,
) -> None:
    reader = store.connection.cursor()
    try:
        stored = last_position(reader, source.name, "postgres")
    finally:
        reader.close()
    pending: list[Change] = []
    while not stop.is_set():
        message = cursor.read_message()
        if message is None:
            select.select([cursor], [], [], IDLE_SECONDS)
            continue
        payload: str = message.payload
        if payload.startswith("COMMIT"):
            if pending:
                commit_messages(store, metrics, source.name, pending, [])
                stored = pending[-1].position
                pending = []
            cursor.send_feedback(flush_lsn=message.data_start)
            continue
        position = format_lsn(message.data_start)
        if stored is not None and position <= stored:
            continue
        parsed = parse_line(payload, table)
        if parsed is None:
            continue
        op, columns = parsed
        record = {"op": op, "record": columns}
        pending.append(parse_change(source, record, "postgres", position))
