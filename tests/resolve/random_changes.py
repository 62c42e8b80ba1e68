"""Random source changes over a generated benchmark, and the files they leave behind.

``SourceRows`` keeps every source's raw rows by primary key, as the files
store them. ``random_change`` edits it the way customers and operators do
(a moved address, a new email, a typo fixed or made, a duplicate signup, a
deleted account) and returns the change message for the stream; ``write``
writes the rows back as the same kinds of file, for a batch run.
"""

from __future__ import annotations

import copy
import csv
import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

KEYS = {"crm": "contact_id", "billing": "customer_id", "support": "id", "analytics": "user_id"}
CURSORS = {"crm": "updated_at", "billing": "updated", "support": "updated_at"}
# Fields a change may copy from another row of the same source or edit.
EDITABLE = {
    "crm": ["first_name", "last_name", "email", "phone", "street", "postcode", "lead_status"],
    "billing": ["name", "email", "phone", "address_line1", "postal_code", "status"],
    "support": ["name", "email", "phone"],
    "analytics": ["email", "name", "plan"],
}
# Fields mapped through a value list: a typo there quarantines the row.
CODED = {"lead_status", "status", "plan"}
START = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class SourceRows:
    """Raw rows of the four generated sources, by primary key."""

    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    clock: int = 0

    @classmethod
    def read(cls, folder: Path) -> SourceRows:
        """Read the generated files in ``folder``."""
        found = cls()
        for name in ("crm", "billing"):
            with (folder / f"{name}.csv").open(encoding="utf-8-sig", newline="") as handle:
                found.rows[name] = {
                    row[KEYS[name]]: {k: v or None for k, v in row.items()}
                    for row in csv.DictReader(handle)
                }
        lines = (folder / "support.jsonl").read_text(encoding="utf-8").splitlines()
        found.rows["support"] = {
            str(item["requester"]["id"]): item for item in map(json.loads, lines)
        }
        table = pq.read_table(folder / "analytics.parquet")
        found.rows["analytics"] = {str(row["user_id"]): row for row in table.to_pylist()}
        return found

    def write(self, folder: Path, schema: pa.Schema) -> None:
        """Write the rows as crm.csv, billing.csv, support.jsonl and analytics.parquet."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("crm", "billing"):
            rows = list(self.rows[name].values())
            with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        lines = [json.dumps(item) for item in self.rows["support"].values()]
        (folder / "support.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        analytics = pa.Table.from_pylist(list(self.rows["analytics"].values()), schema=schema)
        pq.write_table(analytics, folder / "analytics.parquet")

    def tick(self, source: str, row: dict[str, Any]) -> None:
        """Move the row's cursor past every earlier change."""
        self.clock += 1
        moment = START + timedelta(seconds=self.clock)
        if source == "analytics":
            row["last_seen_at"] = moment
        elif source == "billing":
            row["updated"] = moment.strftime("%Y-%m-%d %H:%M:%S")
        else:
            row[CURSORS[source]] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _get(source: str, row: dict[str, Any], name: str) -> Any:
    if source == "support":
        return row["requester"].get(name)
    return row.get(name)


def _set(source: str, row: dict[str, Any], name: str, value: Any) -> None:
    if source == "support":
        row["requester"][name] = value
    else:
        row[name] = value


def _typo(rng: random.Random, value: Any) -> Any:
    if not isinstance(value, str) or len(value) < 3:
        return value
    at = rng.randrange(len(value))
    return value[:at] + value[at + 1 :]


def _edit(rng: random.Random, data: SourceRows, source: str, row: dict[str, Any]) -> None:
    name = rng.choice(EDITABLE[source])
    kind = rng.random()
    if kind < 0.5 or name in CODED:
        donor = rng.choice(list(data.rows[source].values()))
        _set(source, row, name, copy.deepcopy(_get(source, donor, name)))
    elif kind < 0.8 or source in ("support", "analytics"):
        # Support and analytics rows have few identifying fields; a blank one
        # could leave none, which the quality rules quarantine.
        _set(source, row, name, _typo(rng, _get(source, row, name)))
    else:
        _set(source, row, name, None)


def _new_key(rng: random.Random, source: str) -> Any:
    if source == "support":
        return rng.randrange(10**12, 10**13)
    return f"new-{rng.randrange(10**12)}"


def message(source: str, row: dict[str, Any]) -> dict[str, Any]:
    """Return the stream message for a row: JSON-ready, timestamps as ISO text."""
    return {
        name: value.isoformat() if isinstance(value, datetime) else value
        for name, value in row.items()
    }


def random_change(rng: random.Random, data: SourceRows) -> tuple[str, dict[str, Any]]:
    """Apply one random change to ``data``; return its source and stream message."""
    source = rng.choice(list(KEYS))
    rows = data.rows[source]
    key = rng.choice(list(rows))
    roll = rng.random()
    if roll < 0.12 and len(rows) > 10:
        row = rows.pop(key)
        key_value = row["requester"]["id"] if source == "support" else row[KEYS[source]]
        record = {"requester": {"id": key_value}} if source == "support" else {KEYS[source]: key}
        return source, {"op": "delete", "record": record}
    row = copy.deepcopy(rows[key])
    if roll < 0.35:
        new_key = _new_key(rng, source)
        if source == "support":
            row["requester"]["id"] = new_key
        else:
            row[KEYS[source]] = new_key
        key = str(new_key)
    _edit(rng, data, source, row)
    data.tick(source, row)
    rows[key] = row
    return source, message(source, row)
