"""SQL reader: a table or a query, read through SQLAlchemy in chunks.

Rows stream from a server-side cursor (``yield_per``) and become Arrow
arrays one chunk at a time. Incremental reads filter on the cursor column
in the database with a bound parameter, and list every key with a
key-only query so that deletions are seen on incremental reads too.
The password never appears in logs or errors: URLs are rendered with
``hide_password=True`` and driver messages are scrubbed of it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    NoSuchModuleError,
    NoSuchTableError,
    SQLAlchemyError,
)
from sqlalchemy.pool import NullPool

from accord.config.models import SqlSource
from accord.errors import SourceError, TransientError
from accord.logs import get_logger
from accord.sources.base import (
    Capabilities,
    ReadResult,
    is_missing_key_value,
    make_source_key,
)
from accord.sources.cursor import parse_number
from accord.sources.records import finish_read, require_columns, table_row_locator
from accord.sources.sql_dates import register_date_loaders
from accord.sources.values import (
    OutOfRange,
    OutOfRangeText,
    column_array,
    table_from_columns,
    to_plain,
)

logger = get_logger(__name__)

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_CONNECT_TIMEOUT_SECONDS = 10
# Driver messages with these words mean that retrying cannot help.
_PERMANENT_CONNECT_ERRORS = (
    "authentication failed",
    "access denied",
    "does not exist",
    "unknown database",
    "no password supplied",
    "permission denied",
)
_SUBQUERY_ALIAS = "accord_source"
_T = TypeVar("_T")


class SqlReader:
    """Reads a table or query from a SQL database."""

    capabilities = Capabilities(incremental=True, detects_deletes=True)

    def __init__(self, source: SqlSource, project_dir: Path, chunk_size: int = 10_000) -> None:
        """Prepare to read ``source``.

        Args:
            source: The source settings.
            project_dir: Relative SQLite database paths start here.
            chunk_size: Rows fetched from the database per round trip.
        """
        self.source = source
        self.project_dir = project_dir
        self.chunk_size = chunk_size

    def read(self, since: str | None) -> ReadResult:
        """Read the rows changed after ``since``, or every row when it is None.

        Raises:
            SourceError: When the URL, table, query or a column is wrong, or
                the database rejects the credentials.
            TransientError: When the database cannot be reached.
        """
        url = resolve_url(self.source, self.project_dir)
        database = Database(self.source.name, url)
        engine = database.create_engine()
        try:
            register_date_loaders(engine)
            with database.connect(engine) as connection:
                return self._read(connection, database, since)
        finally:
            engine.dispose()

    def _read(self, connection: Connection, database: Database, since: str | None) -> ReadResult:
        source = self.source
        relation = database.run(lambda: self._relation(connection), "read the columns of")
        require_columns(relation.columns, source, relation.label)
        incremental = since is not None and source.cursor is not None
        present: set[str] | None = None
        statement: sa.Select[Any] = sa.select(sa.literal_column("*")).select_from(
            relation.from_clause
        )
        if incremental:
            listing = database.run(lambda: self._list_keys(connection, relation), "list keys of")
            present = listing.keys
            if listing.cursor_sample is None:
                table = _empty_table(relation.columns)
                return self._finish(table, since, relation, present, {})
            bound = since_parameter(since or "", listing.cursor_sample, source)
            statement = statement.where(sa.column(source.cursor or "") > bound)
        logger.info(
            "source '%s': reading %s from %s (%s)",
            source.name,
            relation.label,
            database.safe_url,
            "incremental" if incremental else "full",
        )
        out_of_range: dict[str, OutOfRange] = {}
        table = database.run(
            lambda: self._fetch(connection, statement, out_of_range), "read rows of"
        )
        return self._finish(table, since, relation, present, out_of_range)

    def _finish(
        self,
        table: pa.Table,
        since: str | None,
        relation: Relation,
        present: set[str] | None,
        out_of_range: dict[str, OutOfRange],
    ) -> ReadResult:
        result = finish_read(
            table,
            self.source,
            since,
            table_row_locator(table),
            origin=relation.label,
            filter_since=False,
            out_of_range=out_of_range,
        )
        if present is not None and result.present_keys is not None:
            result.present_keys |= present
        return result

    def _relation(self, connection: Connection) -> Relation:
        source = self.source
        if source.table is not None:
            return table_relation(connection, source.table, source.db_schema, source.name)
        return query_relation(connection, source.query or "", source.name)

    def _list_keys(self, connection: Connection, relation: Relation) -> KeyListing:
        source = self.source
        key_columns: list[sa.ColumnClause[Any]] = [sa.column(name) for name in source.key_columns]
        statement = sa.select(*key_columns, sa.column(source.cursor or "")).select_from(
            relation.from_clause
        )
        listing = KeyListing(keys=set(), cursor_sample=None)
        result = connection.execution_options(yield_per=self.chunk_size).execute(statement)
        width = len(key_columns)
        for partition in result.partitions():
            for row in partition:
                values = [to_plain(value) for value in row[:width]]
                if not any(is_missing_key_value(value) for value in values):
                    listing.keys.add(make_source_key(values))
                if listing.cursor_sample is None and row[width] is not None:
                    listing.cursor_sample = row[width]
        logger.info("source '%s': listed %d keys", source.name, len(listing.keys))
        return listing

    def _fetch(
        self,
        connection: Connection,
        statement: sa.Select[Any],
        out_of_range: dict[str, OutOfRange],
    ) -> pa.Table:
        """Fetch every row, adding the dates that Python cannot represent to ``out_of_range``."""
        result = connection.execution_options(yield_per=self.chunk_size).execute(statement)
        names = list(result.keys())
        _reject_duplicate_names(names, self.source.name)
        chunks: list[list[pa.Array]] = [[] for _ in names]
        first_row = 0
        for partition in result.partitions():
            for index, values in enumerate(zip(*partition, strict=True)):
                for offset, value in enumerate(values):
                    if type(value) is OutOfRangeText:
                        out_of_range.setdefault(names[index], {})[first_row + offset] = str(value)
                chunks[index].append(column_array([to_plain(value) for value in values]))
            first_row += len(partition)
        return table_from_columns(names, chunks)


@dataclass
class Relation:
    """The table or subquery to select from, with its column names."""

    from_clause: sa.FromClause
    columns: list[str]
    label: str


@dataclass
class KeyListing:
    """Every key in the source and one non-null cursor value, in the driver's type."""

    keys: set[str]
    cursor_sample: object | None


def table_relation(connection: Connection, table: str, schema: str | None, source: str) -> Relation:
    """Describe ``table`` from the database catalog.

    Raises:
        SourceError: When the table does not exist; the message lists the tables found.
    """
    inspector = sa.inspect(connection)
    label = f"table '{schema}.{table}'" if schema else f"table '{table}'"
    try:
        columns = [str(column["name"]) for column in inspector.get_columns(table, schema=schema)]
    except NoSuchTableError:
        names = sorted(
            inspector.get_table_names(schema=schema) + inspector.get_view_names(schema=schema)
        )
        found = ", ".join(names) or "none"
        raise SourceError(
            source,
            f"{label} not found. Tables and views found: {found}. Check 'table' and 'schema'.",
        ) from None
    from_clause = sa.table(table, *[sa.column(name) for name in columns], schema=schema)
    return Relation(from_clause, columns, label)


def query_relation(connection: Connection, query: str, source: str) -> Relation:
    """Wrap ``query`` as a subquery and find its column names with an empty select."""
    body = query.strip().rstrip(";").strip()
    subquery = sa.text(body).columns().subquery(_SUBQUERY_ALIAS)
    probe: sa.Select[Any] = (
        sa.select(sa.literal_column("*")).select_from(subquery).where(sa.false())
    )
    result = connection.execute(probe)
    columns = list(result.keys())
    result.close()
    _reject_duplicate_names(columns, source)
    return Relation(subquery, columns, "the query")


def _reject_duplicate_names(names: Sequence[str], source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise SourceError(
                source,
                f"the result has two columns named '{name}'. Give them distinct names "
                "with AS in 'query'.",
            )
        seen.add(name)


def _empty_table(columns: Sequence[str]) -> pa.Table:
    return pa.table({name: pa.array([], type=pa.string()) for name in columns})


def since_parameter(since: str, sample: object, source: SqlSource) -> sa.BindParameter[object]:
    """Bind ``since`` with the Python type of the cursor column's values.

    The saved cursor is text, but a typed column compares only with a value
    of its own type. ``sample`` is one value read from the column and shows
    that type.

    Raises:
        SourceError: When ``since`` cannot be converted to that type.
    """
    try:
        value = _convert_since(since, sample)
    except (ValueError, InvalidOperation):
        raise SourceError(
            source.name,
            f"saved cursor '{since}' does not fit cursor column '{source.cursor}', whose "
            f"values are {type(sample).__name__}. Run a full refresh to reset the cursor.",
        ) from None
    if isinstance(value, dt.datetime):
        kind = sa.DateTime(timezone=value.tzinfo is not None)
        return sa.bindparam("accord_since", value, type_=kind)
    return sa.bindparam("accord_since", value)


def _convert_since(since: str, sample: object) -> object:
    if sample is None or isinstance(sample, bool | str):
        return since
    if isinstance(sample, int | float):
        number = parse_number(since)
        if number is None:
            raise ValueError(since)
        return number
    if isinstance(sample, Decimal):
        return Decimal(since)
    if isinstance(sample, dt.datetime):
        return _convert_datetime(dt.datetime.fromisoformat(since), sample)
    if isinstance(sample, dt.date):
        return dt.date.fromisoformat(since)
    return since


def _convert_datetime(value: dt.datetime, sample: dt.datetime) -> dt.datetime:
    if sample.tzinfo is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    if sample.tzinfo is None and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _substitute(text: str, source: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = os.environ.get(name)
        if value is None:
            raise SourceError(
                source,
                f"environment variable {name} used in 'url' is not set. Set it before "
                "running, or write the value into 'url'.",
            )
        return value

    return _PLACEHOLDER.sub(replace, text)


def resolve_url(source: SqlSource, project_dir: Path) -> URL:
    """Parse the source URL, replacing ``${VAR}`` from the environment.

    Placeholders are replaced inside each parsed URL part, so a password
    with ``@`` or ``/`` needs no escaping. A relative SQLite database path
    starts at ``project_dir``.

    Raises:
        SourceError: When a variable is not set, the URL is invalid, or the
            SQLite database file does not exist.
    """
    url = _parse_with_placeholders(source.url, source.name)
    if url.get_backend_name() == "sqlite":
        url = _resolve_sqlite_path(url, project_dir, source.name)
    return url


def _parse_with_placeholders(raw: str, source: str) -> URL:
    if _PLACEHOLDER.fullmatch(raw.strip()):
        return _parse_url(_substitute(raw.strip(), source), source)
    try:
        template = make_url(raw)
    except (ArgumentError, ValueError):
        return _parse_url(_substitute(raw, source), source)
    parts: dict[str, str] = {}
    for name in ("username", "password", "host", "database"):
        value = getattr(template, name)
        if isinstance(value, str) and _PLACEHOLDER.search(value):
            parts[name] = _substitute(value, source)
    query = {
        key: _substitute(value, source) if isinstance(value, str) else value
        for key, value in template.query.items()
    }
    return template.set(query=query, **parts)  # type: ignore[arg-type]


def _parse_url(text: str, source: str) -> URL:
    try:
        return make_url(text)
    except (ArgumentError, ValueError):
        raise SourceError(
            source,
            "'url' is not a valid SQLAlchemy URL. Write it as "
            "dialect+driver://user:password@host:port/database, for example "
            "postgresql+psycopg://app:${DB_PASSWORD}@db.example.com/crm.",
        ) from None


def _resolve_sqlite_path(url: URL, project_dir: Path, source: str) -> URL:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return url
    path = Path(database).expanduser()
    if not path.is_absolute():
        path = (project_dir / path).resolve()
    if not path.is_file():
        raise SourceError(
            source,
            f"SQLite database file not found: {path}. Check the path in 'url'. Relative "
            f"paths start at {project_dir}.",
        )
    return url.set(database=str(path))


class Database:
    """Connection settings and error translation for one source database."""

    def __init__(self, source: str, url: URL) -> None:
        """Keep the URL. Messages and logs show only its rendering without the password."""
        self.source = source
        self.url = url
        self.safe_url = url.render_as_string(hide_password=True)
        self.host = url.host or url.database or "the database"

    def create_engine(self) -> Engine:
        """Create an engine without a pool, so each read opens one connection.

        Raises:
            SourceError: When SQLAlchemy has no dialect or driver for the URL.
        """
        try:
            return sa.create_engine(self.url, poolclass=NullPool, connect_args=self._connect_args())
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise SourceError(
                self.source,
                f"no database driver for '{self.url.drivername}' in {self.safe_url}: "
                f"{self.scrub(str(exc))}. Install the driver package or fix the URL scheme.",
            ) from None

    def _connect_args(self) -> dict[str, object]:
        backend = self.url.get_backend_name()
        if (
            backend in ("postgresql", "mysql", "mariadb")
            and "connect_timeout" not in self.url.query
        ):
            return {"connect_timeout": _CONNECT_TIMEOUT_SECONDS}
        return {}

    @contextmanager
    def connect(self, engine: Engine) -> Iterator[Connection]:
        """Open a connection, translating failures to SourceError or TransientError."""
        try:
            connection = engine.connect()
        except DBAPIError as exc:
            raise self._connect_error(exc) from None
        with connection:
            yield connection

    def _connect_error(self, exc: DBAPIError) -> SourceError | TransientError:
        detail = self.driver_message(exc)
        if any(word in detail.lower() for word in _PERMANENT_CONNECT_ERRORS):
            return SourceError(
                self.source,
                f"the database at {self.host} rejected the connection ({self.safe_url}): "
                f"{detail}. Check the user, password and database name in 'url'.",
            )
        logger.warning("source '%s': cannot connect to %s", self.source, self.safe_url)
        return TransientError(
            f"source '{self.source}': cannot connect to {self.host} ({self.safe_url}): "
            f"{detail}. Check that the database server is running and reachable, then retry."
        )

    def run(self, step: Callable[[], _T], action: str) -> _T:
        """Run one database step, translating driver errors.

        Args:
            step: The function that talks to the database.
            action: What the step does, such as "read rows of", for messages.

        Raises:
            TransientError: When the connection was lost.
            SourceError: When the database rejected the statement.
        """
        try:
            return step()
        except DBAPIError as exc:
            detail = self.driver_message(exc)
            if exc.connection_invalidated:
                raise TransientError(
                    f"source '{self.source}': lost the connection to {self.host} while "
                    f"trying to {action} the source: {detail}. Retry the run."
                ) from None
            raise SourceError(
                self.source,
                f"cannot {action} the source at {self.safe_url}: {detail}. Check 'table', "
                "'schema', 'query' and the column names in the source settings.",
            ) from None
        except SQLAlchemyError as exc:
            raise SourceError(
                self.source,
                f"cannot {action} the source at {self.safe_url}: {self.scrub(str(exc))}.",
            ) from None

    def driver_message(self, exc: DBAPIError) -> str:
        """Return the first lines of the driver's message, without the password."""
        text = str(exc.orig) if exc.orig is not None else str(exc)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return self.scrub("; ".join(lines[:3]))[:500]

    def scrub(self, text: str) -> str:
        """Replace the password in ``text`` with ``***``."""
        password = self.url.password
        if password:
            text = text.replace(str(password), "***")
        return text
