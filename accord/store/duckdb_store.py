"""The embedded store: one DuckDB file holding every table Accord keeps."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import duckdb
import pyarrow as pa

from accord.errors import StoreError
from accord.logs import get_logger
from accord.store.schema import MIGRATIONS, SCHEMA_VERSION

logger = get_logger(__name__)


def connect(location: str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB connection without DuckDB's own progress bar.

    DuckDB draws a progress bar on stdout during long queries; Accord reports
    progress itself, and services must not write to stdout.
    """
    connection = duckdb.connect(location, read_only=read_only)
    connection.execute("SET enable_progress_bar = false")
    if _settings["memory_limit"]:
        connection.execute("SET memory_limit = ?", [_settings["memory_limit"]])
    return connection


_settings: dict[str, str | None] = {"memory_limit": None}
_scratch = threading.local()


@contextmanager
def scratch(name: str, table: pa.Table) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield this thread's in-memory connection with ``table`` registered as ``name``.

    Opening an in-memory database costs tens of milliseconds, which small
    batches of the stream worker would pay on every call, so each thread
    keeps one for short queries over Arrow tables.
    """
    connection = getattr(_scratch, "connection", None)
    if connection is None:
        connection = connect()
        # Mapping expressions run here, and a TIMESTAMPTZ result must not depend on
        # the host's time zone.
        connection.execute("SET TimeZone = 'UTC'")
        # Expressions come from the project file, and the queries here only read the
        # registered Arrow table: files, URLs and extension downloads are refused.
        connection.execute("SET enable_external_access = false")
        _scratch.connection = connection
    connection.register(name, table)
    try:
        yield connection
    finally:
        connection.unregister(name)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)\s*$", re.IGNORECASE)
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


# Smallest store.memory_limit a project file may set. With DuckDB 2.0.1 a run
# of three records fails with an out-of-memory error under a 1KB cap and
# passes under 64MB. A run gives the idle store only a quarter of the cap.
# NOTE: 64MB is a floor against unusable caps, not a size for real data.
MIN_MEMORY_LIMIT = 64 * 10**6
MIN_MEMORY_LIMIT_TEXT = "64MB"


def memory_limit_bytes(limit: str) -> int | None:
    """Return a DuckDB memory limit such as '2GB' or '1.5 GiB' in bytes, or None if unreadable.

    A number without a unit is unreadable because DuckDB 2.0 rejects it.
    """
    match = _SIZE.match(limit)
    if match is None:
        return None
    unit = (match.group(2) or "b").lower()
    return int(float(match.group(1)) * _UNITS[unit])


@contextmanager
def memory_shared_with(connection: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Split the memory cap between ``connection`` and the connections opened in the block.

    ``connection`` keeps a quarter of the cap for the block and every
    connection opened in it gets three quarters, so the idle store and one
    working connection (training or pair scoring) together stay within the cap: 500MB and
    1.5GB of a 2GB cap. DuckDB spills the store's data beyond its
    quarter to disk. Without a cap, or when ``connection`` cannot release
    enough memory, nothing changes.
    """
    limit = _settings["memory_limit"]
    size = memory_limit_bytes(limit) if limit else None
    if limit is None or size is None:
        yield
        return
    store_limit = f"{size // 4}B"
    try:
        connection.execute("SET memory_limit = ?", [store_limit])
    except duckdb.Error as exc:
        logger.warning(
            "failed to lower the store's memory limit to %s, keeping %s: %s",
            store_limit,
            limit,
            exc,
        )
        yield
        return
    _settings["memory_limit"] = f"{size - size // 4}B"
    try:
        yield
    finally:
        _settings["memory_limit"] = limit
        try:
            connection.execute("SET memory_limit = ?", [limit])
        except duckdb.TransactionException:
            # An error in the block aborted the transaction, which takes no SET before
            # its rollback. Store.transaction sets the cap again after the rollback.
            logger.debug("memory limit %s waits for the rollback of the aborted transaction", limit)


def original_error(exc: BaseException) -> BaseException:
    """Return the error that aborted the transaction when ``exc`` only reports the abort.

    After a failed statement, every later statement of the transaction, such
    as a clean-up in a ``finally`` block, fails with "transaction is aborted",
    and that error would hide the first one.
    """
    while isinstance(exc, duckdb.TransactionException) and exc.__context__ is not None:
        exc = exc.__context__
    return exc


def set_memory_limit(limit: str | None) -> None:
    """Cap the memory of each DuckDB connection opened from now on; None keeps DuckDB's default.

    DuckDB spills to disk beyond the cap, so large runs keep a bounded
    footprint at little cost in time.
    """
    _settings["memory_limit"] = limit


class Store:
    """A connection to the store file, with its schema brought up to date.

    A run writes inside :meth:`transaction`, so an error or a killed process
    leaves the last committed state intact.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: str) -> None:
        self.connection = connection
        self.path = path

    @classmethod
    def open(cls, path: str | Path, read_only: bool = False) -> Store:
        """Open (creating when missing) the store at ``path`` and migrate its schema."""
        location = str(path)
        if location != ":memory:":
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = connect(location, read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"store {location} is in use by another Accord process; wait for it to "
                    "finish or stop it (the embedded store allows one writer at a time)"
                ) from exc
            raise StoreError(f"cannot open store {location}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open store {location}: {exc}") from exc
        store = cls(connection, location)
        if not read_only:
            store.migrate()
        else:
            store.check_version()
        return store

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run the block in one transaction: commit on success, roll back on any error."""
        self.connection.execute("BEGIN TRANSACTION")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            if _settings["memory_limit"]:
                # A block that lowered the cap may have failed before it could restore it.
                self.connection.execute("SET memory_limit = ?", [_settings["memory_limit"]])
            raise
        self.connection.execute("COMMIT")

    def schema_version(self) -> int:
        """Return the schema version recorded in the store, 0 for an empty file."""
        exists = self.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'accord_meta'"
        ).fetchone()
        if not exists or exists[0] == 0:
            return 0
        row = self.connection.execute(
            "SELECT value FROM accord_meta WHERE key = 'schema_version'"
        ).fetchone()
        return int(row[0]) if row else 0

    def check_version(self) -> int:
        """Return the schema version, raising when a newer Accord wrote the store."""
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"store {self.path} has schema version {version}, but this Accord knows up to "
                f"{SCHEMA_VERSION}; upgrade Accord to open it"
            )
        return version

    def migrate(self) -> None:
        """Apply every migration the store lacks, in one transaction."""
        version = self.check_version()
        if version == SCHEMA_VERSION:
            return
        with self.transaction() as connection:
            if version == 0:
                connection.execute("CREATE TABLE accord_meta (key VARCHAR, value VARCHAR)")
                connection.execute("INSERT INTO accord_meta VALUES ('schema_version', '0')")
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    connection.execute(statement)
            connection.execute(
                "UPDATE accord_meta SET value = ? WHERE key = 'schema_version'",
                [str(SCHEMA_VERSION)],
            )
        logger.info("store %s migrated from schema %d to %d", self.path, version, SCHEMA_VERSION)

    def table_exists(self, name: str) -> bool:
        """Return whether a table exists in the store."""
        row = self.connection.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()
        return bool(row and row[0])
