"""Sync reports: the changes planned, sent, rejected and fixed per destination."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass
class FieldChanges:
    """How many planned changes send one tool field."""

    field: str
    count: int


@dataclass
class DestinationReport:
    """The plan and the delivery of one destination in one sync.

    ``fixed`` counts, per golden field, the conflicts that sent changes
    fixed; ``fixed_examples`` lists some of them as ``record_key``/``field``.
    """

    destination: str
    kind: str
    mode: str
    inserts: int = 0
    updates: int = 0
    deletes: int = 0
    confirmed: int = 0
    forgotten: int = 0
    field_changes: list[FieldChanges] = dataclasses.field(default_factory=list)
    examples: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    resumed: int = 0
    replayed: int = 0
    sent: int = 0
    rejected: int = 0
    pending: int = 0
    fixed: dict[str, int] = dataclasses.field(default_factory=dict)
    fixed_examples: list[dict[str, str]] = dataclasses.field(default_factory=list)
    error: str | None = None

    @property
    def planned(self) -> int:
        """Return the number of changes planned in this sync."""
        return self.inserts + self.updates + self.deletes

    @property
    def ok(self) -> bool:
        """Return whether every change was delivered."""
        return self.error is None and self.rejected == 0 and self.pending == 0


@dataclass
class SyncReport:
    """A whole sync: one report per destination."""

    sync_id: int | None
    dry_run: bool
    destinations: list[DestinationReport] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Return whether every destination delivered every change."""
        return all(report.ok for report in self.destinations)

    @property
    def sent(self) -> int:
        """Return the number of changes delivered, over all destinations."""
        return sum(report.sent for report in self.destinations)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain data for JSON."""
        return dataclasses.asdict(self)
