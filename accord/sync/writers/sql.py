"""SQL table writer: batched upserts, updates of the changed columns, and deletes.

Inserts are upserts in the dialect's own form (PostgreSQL and SQLite
``ON CONFLICT``, MySQL and MariaDB ``ON DUPLICATE KEY UPDATE``), so an
insert sent again after a crash overwrites instead of failing. Each batch
is one database transaction. When a batch fails on a bad value, its
changes are written one at a time to find the rejected ones.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchTableError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from accord.config.models import SqlDestination
from accord.logs import get_logger
from accord.sync.errors import SyncError
from accord.sync.payload import canonical_json
from accord.sync.writers.base import Change, Outcome, pending, rejected, sent

logger = get_logger(__name__)

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Driver messages with these words describe a state that may pass: a lock, a
# timeout or a lost connection.
_TRANSIENT_WORDS = (
    "locked",
    "timeout",
    "timed out",
    "could not connect",
    "connection refused",
    "server has gone away",
    "lost connection",
    "deadlock",
    "too many connections",
)
_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


def destination_url(destination: SqlDestination, root: Path) -> URL:
    """Parse the URL and replace ``${VAR}`` from the environment.

    A relative SQLite database path starts at ``root``, the project folder.

    Raises:
        SyncError: When a variable is not set or the URL is invalid.
    """
    missing = [name for name in _PLACEHOLDER.findall(destination.url) if name not in os.environ]
    if missing:
        raise SyncError(destination.name, f"environment variable {missing[0]} in 'url' is not set")
    text = _PLACEHOLDER.sub(lambda match: os.environ[match.group(1)], destination.url)
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise SyncError(destination.name, "'url' is not a valid SQLAlchemy URL") from None
    database = url.database
    if url.get_backend_name() == "sqlite" and database and database != ":memory:":
        path = Path(database).expanduser()
        if not path.is_absolute():
            url = url.set(database=str(root / path))
    return url


def is_transient(exc: SQLAlchemyError) -> bool:
    """Return whether a database error may pass when retried later."""
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    message = str(exc).lower()
    return any(word in message for word in _TRANSIENT_WORDS)


def coerce(value: Any, column: sa.Column[Any]) -> Any:
    """Convert a JSON value to the Python type of ``column``.

    Raises:
        ValueError: When the value cannot have that type.
    """
    if value is None:
        return None
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return value
    if python_type is str:
        return value if isinstance(value, str) else canonical_json(value)
    if python_type is bool:
        return _to_bool(value)
    if python_type is int:
        return _to_int(value)
    if python_type in (float, Decimal):
        return python_type(str(value))
    if python_type is dt.datetime:
        return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if python_type is dt.date:
        return dt.date.fromisoformat(str(value)[:10])
    if python_type in (dict, list):
        return value
    return value


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    number = float(value)
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


class SqlWriter:
    """Writes changes to one table."""

    def __init__(self, destination: SqlDestination, root: Path) -> None:
        self.destination = destination
        self.batch_size = destination.batch_size
        self.url = destination_url(destination, root)
        self.engine = sa.create_engine(self.url, poolclass=NullPool)
        self.table = self._reflect()
        self.key = self.table.c[destination.key.column]

    def close(self) -> None:
        """Dispose of the engine."""
        self.engine.dispose()

    def _reflect(self) -> sa.Table:
        destination = self.destination
        where = self.url.render_as_string(hide_password=True)
        try:
            table = sa.Table(
                destination.table,
                sa.MetaData(),
                schema=destination.db_schema,
                autoload_with=self.engine,
            )
        except NoSuchTableError:
            raise SyncError(
                destination.name, f"table '{destination.table}' not found in {where}"
            ) from None
        except SQLAlchemyError as exc:
            raise SyncError(
                destination.name,
                f"cannot read table '{destination.table}' in {where}: {type(exc).__name__}",
            ) from None
        wanted = [destination.key.column, *(m.to for m in destination.fields.values())]
        missing = [name for name in wanted if name not in table.c]
        if missing:
            raise SyncError(
                destination.name,
                f"table '{destination.table}' has no column {', '.join(missing)}; add the "
                "column or fix the field mapping",
            )
        return table

    def write(self, changes: list[Change]) -> list[Outcome]:
        """Write ``changes`` in one transaction, or one at a time when that fails on a value."""
        outcomes: dict[int, Outcome] = {}
        rows: list[tuple[Change, dict[str, Any]]] = []
        for change in changes:
            try:
                rows.append((change, self._row(change)))
            except ValueError as exc:
                outcomes[change.change_id] = rejected(change, f"invalid value: {exc}")
        try:
            self._write_rows(rows)
        except SQLAlchemyError as exc:
            if is_transient(exc):
                return self._pending_after(changes, outcomes, exc)
            for change, row in rows:
                outcomes[change.change_id] = self._write_alone(change, row)
        else:
            outcomes.update({change.change_id: sent(change) for change, _ in rows})
        return [outcomes[change.change_id] for change in changes]

    def _pending_after(
        self, changes: list[Change], outcomes: dict[int, Outcome], exc: SQLAlchemyError
    ) -> list[Outcome]:
        message = f"database error: {type(exc).__name__}"
        waiting = {o.change_id: o for o in pending(changes, message)}
        return [outcomes.get(change.change_id, waiting[change.change_id]) for change in changes]

    def _write_alone(self, change: Change, row: dict[str, Any]) -> Outcome:
        try:
            self._write_rows([(change, row)])
        except SQLAlchemyError as exc:
            if is_transient(exc):
                return pending([change], f"database error: {type(exc).__name__}")[0]
            detail = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            return rejected(change, f"database rejected the row: {detail}")
        return sent(change)

    def _row(self, change: Change) -> dict[str, Any]:
        columns = self.table.c
        row = {self.key.name: coerce(change.record_key, self.key)}
        names = change.fields if change.operation == "update" else list(change.record)
        if change.operation == "delete":
            names = []
        for name in names:
            row[name] = coerce(change.record.get(name), columns[name])
        return row

    def _write_rows(self, rows: list[tuple[Change, dict[str, Any]]]) -> None:
        inserts = [row for change, row in rows if change.operation == "insert"]
        deletes = [row[self.key.name] for change, row in rows if change.operation == "delete"]
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        for change, row in rows:
            if change.operation == "update":
                updates[tuple(name for name in row if name != self.key.name)].append(row)
        with self.engine.begin() as connection:
            if inserts:
                self._upsert(connection, inserts)
            for names, group in updates.items():
                self._update(connection, names, group)
            if deletes:
                connection.execute(sa.delete(self.table).where(self.key.in_(deletes)))

    def _upsert(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        names = sorted({name for row in rows for name in row} - {self.key.name})
        full = [{name: row.get(name) for name in [self.key.name, *names]} for row in rows]
        connection.execute(
            upsert_statement(self.engine.dialect.name, self.table, self.key, names), full
        )

    def _update(
        self, connection: Connection, names: tuple[str, ...], rows: list[dict[str, Any]]
    ) -> None:
        if not names:
            return
        statement = (
            sa.update(self.table)
            .where(self.key == sa.bindparam("accord_key"))
            .values({name: sa.bindparam(f"accord_{index}") for index, name in enumerate(names)})
        )
        params = [
            {"accord_key": row[self.key.name]}
            | {f"accord_{index}": row[name] for index, name in enumerate(names)}
            for row in rows
        ]
        result = connection.execute(statement, params)
        if self.engine.dialect.supports_sane_multi_rowcount and result.rowcount < len(rows):
            logger.warning(
                "destination %s: %d of %d updated records were not found in table %s",
                self.destination.name,
                len(rows) - result.rowcount,
                len(rows),
                self.destination.table,
            )


def upsert_statement(
    dialect: str, table: sa.Table, key: sa.Column[Any], names: list[str]
) -> sa.Insert:
    """Return an INSERT that updates ``names`` when a row with the same key exists.

    Raises:
        SyncError: For a dialect other than PostgreSQL, SQLite, MySQL and MariaDB.
    """
    if dialect in ("postgresql", "sqlite"):
        module: Any = postgresql if dialect == "postgresql" else sqlite
        statement = module.insert(table)
        if not names:
            return statement.on_conflict_do_nothing(index_elements=[key])
        updates = {name: statement.excluded[name] for name in names}
        return statement.on_conflict_do_update(index_elements=[key], set_=updates)
    if dialect in ("mysql", "mariadb"):
        statement = mysql.insert(table)
        if not names:
            names = [key.name]
        return statement.on_duplicate_key_update({name: statement.inserted[name] for name in names})
    raise SyncError(table.name, f"upserts into {dialect} databases are not supported")
