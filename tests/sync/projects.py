"""A small project whose CRM is a SQLite table that Accord reads and writes back.

The CRM (``crm.sqlite``, table ``contacts``) is both a source and the
``crm`` destination; billing is a CSV file and the authority for
``subscription_status``. Tests add destinations and triggers as YAML.
"""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from accord.config.loader import LoadedProject, load_project
from accord.pipeline import RunSummary, run
from accord.store.duckdb_store import Store
from accord.sync import SyncReport, run_sync

BASE = """\
name: sync-test
standardize:
  default_region: US
sources:
  - name: crm
    kind: sql
    url: sqlite:///crm.sqlite
    table: contacts
    primary_key: contact_id
    fields:
      first_name: first_name
      last_name: last_name
      email: email
      phone: phone
      lifecycle_stage:
        from: lead_status
        values: {New Lead: lead, Contacted: lead, Open Deal: opportunity, Closed Won: customer}
      subscription_status: subscription_status
      updated_at: updated_at
  - name: billing
    kind: csv
    path: billing.csv
    primary_key: cid
    fields:
      full_name: name
      email: email
      subscription_status: status
      plan: plan
survivorship:
  fields:
    subscription_status:
      rules: [source_priority, most_recent]
      sources: [billing]
"""

CRM_DESTINATION = """\
  - name: crm
    kind: sql
    url: sqlite:///crm.sqlite
    table: contacts
    key: {source: crm, column: contact_id}
    mode: update
    fields:
      subscription_status: subscription_status
      plan: plan
      lifecycle_stage:
        to: lead_status
        values: {lead: New Lead, opportunity: Open Deal, customer: Closed Won}
"""

CONTACTS = [
    (1, "Ada", "Lovelace", "ada@analytical.org", "+1 415 555 0100", "Closed Won", None, None),
    (2, "Alan", "Turing", "alan@bletchley.org", "(415) 555-0101", "Contacted", "active", None),
    (3, "Grace", "Hopper", "grace@cobol.org", "+1 415 555 0102", "Open Deal", None, None),
]

BILLING = [
    ("b1", "Lovelace, Ada", "ada@analytical.org", "active", "pro"),
    ("b2", "Alan Turing", "alan@bletchley.org", "active", "starter"),
    ("b3", "Grace Hopper", "grace@cobol.org", "past_due", "pro"),
]


class CrmProject:
    """The project folder with helpers to change the tools, run and sync."""

    def __init__(
        self,
        folder: Path,
        destinations: str = CRM_DESTINATION,
        triggers: str = "",
        billing: list[tuple[str, ...]] | None = None,
    ) -> None:
        self.folder = folder
        self.crm = folder / "crm.sqlite"
        self.billing = billing or BILLING
        self._create_crm()
        self.write_billing(self.billing)
        text = BASE + "destinations:\n" + destinations
        if triggers:
            text += "triggers:\n" + textwrap.dedent(triggers)
        (folder / "accord.yaml").write_text(text, encoding="utf-8")
        self.loaded: LoadedProject = load_project(folder / "accord.yaml")

    def _create_crm(self) -> None:
        with sqlite3.connect(self.crm) as connection:
            connection.execute(
                """CREATE TABLE contacts (
                    contact_id INTEGER PRIMARY KEY, first_name TEXT, last_name TEXT,
                    email TEXT, phone TEXT, lead_status TEXT, subscription_status TEXT,
                    plan TEXT, updated_at TEXT)"""
            )
            connection.executemany(
                "INSERT INTO contacts VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?)",
                [(*row[:7], "2024-01-01T00:00:00") for row in CONTACTS],
            )

    def write_billing(self, rows: list[tuple[str, ...]]) -> None:
        lines = ["cid,name,email,status,plan"]
        lines += [",".join(f'"{value}"' for value in row) for row in rows]
        (self.folder / "billing.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def set_billing_status(self, cid: str, status: str) -> None:
        self.billing = [
            (*row[:3], status, row[4]) if row[0] == cid else row for row in self.billing
        ]
        self.write_billing(self.billing)

    def set_crm(self, contact_id: int, column: str, value: Any) -> None:
        with sqlite3.connect(self.crm) as connection:
            connection.execute(
                f"UPDATE contacts SET {column} = ?, updated_at = '2025-06-01T00:00:00' "
                "WHERE contact_id = ?",
                [value, contact_id],
            )

    def crm_row(self, contact_id: int) -> dict[str, Any]:
        with sqlite3.connect(self.crm) as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute(
                "SELECT * FROM contacts WHERE contact_id = ?", [contact_id]
            ).fetchone()
        return dict(row)

    def open_store(self) -> Store:
        return Store.open(self.loaded.resolve(self.loaded.project.store.path))

    def run(self) -> RunSummary:
        with self.open_store() as store:
            return run(self.loaded, store)

    def sync(self, *destinations: str, **options: Any) -> SyncReport:
        with self.open_store() as store:
            return run_sync(self.loaded, store, list(destinations) or None, **options)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.open_store() as store:
            return store.connection.execute(sql, params or []).fetchall()

    def entity_of(self, source: str, key: str) -> str:
        rows = self.query(
            "SELECT entity_id FROM entity_members WHERE source = ? AND source_key = ? "
            "AND entity_id LIKE 'per_%'",
            [source, key],
        )
        return str(rows[0][0])


def extra_customers(count: int) -> list[tuple[str, ...]]:
    """Return the billing rows plus ``count`` customers found only in billing."""
    names = ["Ivy", "Otto", "Rosa", "Hugo", "Lena", "Omar", "Tess", "Ezra", "Nina", "Axel"]
    rows = list(BILLING)
    for number in range(count):
        first = names[number % len(names)]
        last = f"Mill{number:03d}"
        email = f"{first.lower()}.{last.lower()}@orbit{number:03d}.net"
        rows.append((f"x{number:03d}", f"{first} {last}", email, "active", "starter"))
    return rows


def create_audience(url: str) -> None:
    """Create the ``audience`` table that audience destinations write."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "CREATE TABLE audience (entity_id VARCHAR(64) PRIMARY KEY, email VARCHAR(200), "
                "plan VARCHAR(50) CHECK (plan <> 'reject-me'))"
            )
        )
    engine.dispose()


def audience_rows(url: str) -> list[dict[str, Any]]:
    """Return the rows of the ``audience`` table ordered by entity ID."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT * FROM audience ORDER BY entity_id"))
        found = [dict(row._mapping) for row in rows]
    engine.dispose()
    return found
