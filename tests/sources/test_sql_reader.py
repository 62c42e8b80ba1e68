"""SqlReader against real SQLite files and the PostgreSQL and MariaDB servers."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from accord.config.models import SqlSource
from accord.errors import SourceError, TransientError
from accord.sources import open_reader
from accord.sources.base import ReadResult
from accord.sources.sql import SqlReader

CREATE_CONTACTS = {
    "sqlite": (
        "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, postcode TEXT, "
        "balance NUMERIC, active BOOLEAN, born DATE, updated_at TEXT)"
    ),
    "postgresql": (
        "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT, postcode TEXT, "
        "balance NUMERIC(10, 2), active BOOLEAN, born DATE, updated_at TIMESTAMPTZ)"
    ),
    "mariadb": (
        "CREATE TABLE contacts (id INT PRIMARY KEY, email VARCHAR(200), postcode VARCHAR(20), "
        "balance DECIMAL(10, 2), active BOOLEAN, born DATE, updated_at DATETIME(6))"
    ),
}
INSERT_CONTACT = sa.text(
    "INSERT INTO contacts (id, email, postcode, balance, active, born, updated_at) "
    "VALUES (:id, :email, :postcode, :balance, :active, :born, :updated_at)"
)
UPDATE_TIMES = [dt.datetime(2024, 3, day, 9, 0, tzinfo=dt.UTC) for day in (1, 2, 3, 4, 5)]


@dataclass
class Database:
    """A database with a ``contacts`` table, and how to write to it."""

    backend: str
    url: str
    engine: sa.Engine

    def execute(self, statement: str | sa.TextClause, params: Any = None) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(statement) if isinstance(statement, str) else statement, params
            )

    def add_contact(self, number: int, email: str | None, updated: dt.datetime) -> None:
        self.execute(
            INSERT_CONTACT,
            {
                "id": number,
                "email": email,
                "postcode": f"0{number}234",
                "balance": self.decimal_value(Decimal(f"{number}0.50")),
                "active": number % 2 == 1,
                "born": self.date_value(dt.date(1990, 5, number)),
                "updated_at": self.time_value(updated),
            },
        )

    def time_value(self, value: dt.datetime) -> object:
        if self.backend == "sqlite":
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if self.backend == "mariadb":
            return value.replace(tzinfo=None)
        return value

    def decimal_value(self, value: Decimal) -> object:
        return float(value) if self.backend == "sqlite" else value

    def date_value(self, value: dt.date) -> object:
        return value.isoformat() if self.backend == "sqlite" else value


def parse_instant(text: str) -> dt.datetime:
    """Parse a returned timestamp; values without an offset count as UTC."""
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with three contacts, on each backend."""
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.db'}"
    elif backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("mariadb_url")
    engine = sa.create_engine(url)
    db = Database(backend, url, engine)
    db.execute(CREATE_CONTACTS[backend])
    for number in (1, 2, 3):
        db.add_contact(number, f"person{number}@example.com", UPDATE_TIMES[number - 1])
    try:
        yield db
    finally:
        engine.dispose()


def sql_source(url: str, **settings: Any) -> SqlSource:
    values: dict[str, Any] = {
        "kind": "sql",
        "name": "crm",
        "url": url,
        "table": "contacts",
        "primary_key": "id",
        "fields": {"email": "email"},
    }
    values.update(settings)
    return SqlSource.model_validate(values)


def read(db: Database, since: str | None = None, **settings: Any) -> ReadResult:
    return open_reader(sql_source(db.url, **settings), Path.cwd()).read(since)


def by_id(result: ReadResult) -> list[dict[str, Any]]:
    return sorted(result.rows.to_pylist(), key=lambda row: row["id"])


def test_full_read_returns_plain_values(database: Database) -> None:
    result = read(database, cursor="updated_at")
    rows = by_id(result)

    assert [row["id"] for row in rows] == [1, 2, 3]
    assert rows[0]["postcode"] == "01234"
    assert rows[0]["balance"] == 10.5
    assert rows[0]["born"] == "1990-05-01"
    assert bool(rows[0]["active"]) is True
    assert parse_instant(rows[2]["updated_at"]) == UPDATE_TIMES[2]
    assert parse_instant(result.cursor or "") == UPDATE_TIMES[2]
    assert result.complete is True
    assert result.present_keys == {"1", "2", "3"}


def test_incremental_read_sees_changes_and_deletes(database: Database) -> None:
    first = read(database, cursor="updated_at")
    database.execute("DELETE FROM contacts WHERE id = 1")
    database.execute(
        sa.text("UPDATE contacts SET email = :email, updated_at = :updated WHERE id = 2"),
        {"email": "new@example.com", "updated": database.time_value(UPDATE_TIMES[3])},
    )
    database.add_contact(4, "person4@example.com", UPDATE_TIMES[4])

    second = read(database, since=first.cursor, cursor="updated_at")

    assert [row["id"] for row in by_id(second)] == [2, 4]
    assert by_id(second)[0]["email"] == "new@example.com"
    assert second.present_keys == {"2", "3", "4"}
    assert second.complete is False
    assert parse_instant(second.cursor or "") == UPDATE_TIMES[4]


def test_incremental_read_without_changes(database: Database) -> None:
    first = read(database, cursor="updated_at")

    second = read(database, since=first.cursor, cursor="updated_at")

    assert second.rows.num_rows == 0
    assert second.cursor == first.cursor
    assert second.present_keys == {"1", "2", "3"}
    assert second.rows.column_names[:2] == ["id", "email"]


def test_numeric_cursor(database: Database) -> None:
    result = read(database, since="1", cursor="id")

    assert [row["id"] for row in by_id(result)] == [2, 3]
    assert result.cursor == "3"


def test_query_is_wrapped_for_cursor(database: Database) -> None:
    first_time = read(database, cursor="updated_at").rows
    since = sorted(first_time.column("updated_at").to_pylist())[1]
    query = "SELECT id, email, updated_at FROM contacts WHERE id >= 2 ;"

    result = read(database, since=since, table=None, query=query, cursor="updated_at")

    assert result.rows.column_names == ["id", "email", "updated_at"]
    assert [row["id"] for row in by_id(result)] == [3]
    assert result.present_keys == {"2", "3"}


def test_small_chunks_return_every_row(database: Database) -> None:
    database.add_contact(4, None, UPDATE_TIMES[3])
    reader = SqlReader(sql_source(database.url), Path.cwd(), chunk_size=1)

    result = reader.read(None)

    assert [row["id"] for row in by_id(result)] == [1, 2, 3, 4]
    assert result.rows.schema.field("email").type == "string"


def test_composite_key(database: Database) -> None:
    result = read(database, primary_key=["id", "email"])

    assert "1|person1@example.com" in (result.present_keys or set())


def test_null_key_becomes_issue(database: Database) -> None:
    database.add_contact(4, None, UPDATE_TIMES[3])

    result = read(database, primary_key="email")

    assert result.rows.num_rows == 3
    assert len(result.issues) == 1
    assert "'email' is missing or empty" in result.issues[0].message
    assert result.issues[0].location.startswith("row ")


def test_missing_table_lists_tables(database: Database) -> None:
    with pytest.raises(SourceError) as caught:
        read(database, table="customers")

    message = str(caught.value)
    assert "table 'customers' not found" in message
    assert "contacts" in message


def test_missing_key_column_lists_columns(database: Database) -> None:
    with pytest.raises(SourceError) as caught:
        read(database, primary_key="contact_id")

    message = str(caught.value)
    assert "primary key column 'contact_id' not found in table 'contacts'" in message
    assert "'postcode'" in message


def test_invalid_query_is_source_error(database: Database) -> None:
    with pytest.raises(SourceError, match="cannot read the columns of the source"):
        read(database, table=None, query="SELECT nothing FROM nowhere")


def test_sqlite_relative_path_starts_at_project(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "data").mkdir(parents=True)
    engine = sa.create_engine(f"sqlite:///{project / 'data' / 'crm.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE contacts (id INTEGER, email TEXT)"))
        connection.execute(sa.text("INSERT INTO contacts VALUES (1, 'a@example.com')"))
    engine.dispose()

    result = open_reader(sql_source("sqlite:///data/crm.db"), project).read(None)

    assert result.rows.to_pylist() == [{"id": 1, "email": "a@example.com"}]


def test_sqlite_missing_file_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="SQLite database file not found"):
        open_reader(sql_source("sqlite:///missing.db"), tmp_path).read(None)

    assert not (tmp_path / "missing.db").exists()


def test_url_variable_is_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE contacts (id INTEGER, email TEXT)"))
        connection.execute(sa.text("INSERT INTO contacts VALUES (1, 'a@example.com')"))
    engine.dispose()
    monkeypatch.setenv("ACCORD_TEST_DB_DIR", str(tmp_path))

    url = "sqlite:///${ACCORD_TEST_DB_DIR}/crm.db"
    result = open_reader(sql_source(url), Path.cwd()).read(None)

    assert result.rows.num_rows == 1


def test_missing_url_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCORD_TEST_DB_PASSWORD", raising=False)
    url = "postgresql+psycopg://app:${ACCORD_TEST_DB_PASSWORD}@127.0.0.1/crm"

    with pytest.raises(SourceError, match="ACCORD_TEST_DB_PASSWORD used in 'url' is not set"):
        open_reader(sql_source(url), Path.cwd()).read(None)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("scheme", ["postgresql+psycopg", "mysql+pymysql"])
def test_unreachable_server_hides_password(scheme: str, monkeypatch: pytest.MonkeyPatch) -> None:
    password = "s3cret-Pa55/word"
    monkeypatch.setenv("ACCORD_TEST_DB_PASSWORD", password)
    url = f"{scheme}://app:${{ACCORD_TEST_DB_PASSWORD}}@127.0.0.1:{_closed_port()}/crm"

    with pytest.raises(TransientError) as caught:
        open_reader(sql_source(url), Path.cwd()).read(None)

    message = str(caught.value)
    assert "cannot connect to 127.0.0.1" in message
    assert "***" in message
    assert password not in message
    assert caught.value.__cause__ is None


def test_postgres_password_with_special_characters(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text('CREATE TABLE contacts (id INTEGER, "updatedAt" TIMESTAMPTZ)'))
        connection.execute(sa.text("INSERT INTO contacts VALUES (1, '2024-01-01T00:00:00Z')"))
        connection.execute(sa.text("INSERT INTO contacts VALUES (2, '2024-02-01T00:00:00Z')"))
    engine.dispose()
    monkeypatch.setenv("ACCORD_TEST_DB_PASSWORD", "p@ss/w:rd%")
    url = postgres_url.replace("postgres@", "postgres:${ACCORD_TEST_DB_PASSWORD}@")

    result = open_reader(sql_source(url, cursor="updatedAt"), Path.cwd()).read(
        "2024-01-15T00:00:00+00:00"
    )

    assert result.rows.column("id").to_pylist() == [2]


def test_postgres_schema_is_used(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE SCHEMA crm"))
        connection.execute(sa.text("CREATE TABLE crm.people (id TEXT, email TEXT)"))
        connection.execute(sa.text("INSERT INTO crm.people VALUES ('007', 'bond@example.com')"))
    engine.dispose()

    result = open_reader(sql_source(postgres_url, table="people", schema="crm"), Path.cwd()).read(
        None
    )

    assert result.rows.to_pylist() == [{"id": "007", "email": "bond@example.com"}]
    assert result.present_keys == {"007"}


def test_postgres_unknown_database_is_source_error(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/accord_no_such_database"

    with pytest.raises(SourceError, match="does not exist"):
        open_reader(sql_source(url), Path.cwd()).read(None)


def test_mariadb_wrong_password_is_source_error(mariadb_url: str) -> None:
    password = "wrong-Pa55word"
    url = mariadb_url.replace("root:@", f"root:{password}@")

    with pytest.raises(SourceError) as caught:
        open_reader(sql_source(url), Path.cwd()).read(None)

    message = str(caught.value)
    assert "rejected the connection" in message
    assert "Access denied" in message
    assert password not in message


NUMERIC_ROWS = [
    ("12345678901234567890", "1234567890123456.78", "10.50"),
    ("12345678901234567891", "0.10", "-3.25"),
]


def test_postgres_numeric_keeps_every_digit(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE accounts (id NUMERIC(20, 0), wide NUMERIC(20, 2), small NUMERIC)")
        )
        for row in NUMERIC_ROWS:
            connection.execute(
                sa.text("INSERT INTO accounts VALUES (CAST(:id AS NUMERIC), :wide, :small)"),
                {"id": row[0], "wide": Decimal(row[1]), "small": Decimal(row[2])},
            )
    engine.dispose()

    result = open_reader(sql_source(postgres_url, table="accounts"), Path.cwd()).read(None)
    rows = sorted(result.rows.to_pylist(), key=lambda row: str(row["id"]))

    assert result.issues == []
    assert result.present_keys == {"12345678901234567890", "12345678901234567891"}
    assert [row["id"] for row in rows] == ["12345678901234567890", "12345678901234567891"]
    assert [row["wide"] for row in rows] == ["1234567890123456.78", "0.1"]
    assert [row["small"] for row in rows] == [10.5, -3.25]


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_postgres_infinite_dates_are_value_issues(postgres_url: str, driver: str) -> None:
    url = postgres_url.replace("postgresql+psycopg://", f"postgresql+{driver}://")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text("CREATE TABLE people (id INTEGER, born DATE, seen TIMESTAMPTZ, at TIMESTAMP)")
        )
        connection.execute(
            sa.text(
                "INSERT INTO people VALUES "
                "(1, 'infinity', '2024-01-01 00:00+00', '2024-01-01'), "
                "(2, '1990-01-02', '-infinity', '10183-01-01 00:00'), "
                "(3, '0044-03-15 BC', NULL, NULL), "
                "(4, '2000-01-01', NULL, NULL)"
            )
        )
    engine.dispose()

    result = open_reader(sql_source(url, table="people"), Path.cwd()).read(None)
    rows = by_id(result)

    born = [row["born"] for row in rows]
    assert born == ["infinity", "1990-01-02", "0044-03-15 BC", "2000-01-01"]
    assert rows[1]["at"] == "10183-01-01 00:00:00"
    assert result.present_keys == {"1", "2", "3", "4"}
    found = sorted((issue.key, issue.column, issue.value) for issue in result.value_issues)
    assert found == [
        ("1", "born", "infinity"),
        ("2", "at", "10183-01-01 00:00:00"),
        ("2", "seen", "-infinity"),
        ("3", "born", "0044-03-15 BC"),
    ]
