"""The contract every source reader fulfils."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa


@dataclass(frozen=True)
class Capabilities:
    """What a source kind can do, declared as data and checked before use."""

    incremental: bool
    detects_deletes: bool


@dataclass(frozen=True)
class ReadIssue:
    """A row the reader could not turn into a record (ragged CSV line, bad JSON line)."""

    location: str  # for example "line 17" or "page 3, item 4"
    message: str
    raw: str | None = None


@dataclass
class ReadResult:
    """The rows of one read, with what the next incremental read starts from.

    ``rows`` has one column per source column; nested objects are flattened
    to dotted names (``requester.email``) and every value is a string, a
    number, a boolean or null. ``complete`` is true when the read returned
    every row the source has, so that absent keys mean deleted rows.
    ``cursor`` is the new high-water mark, or None when the source has no
    cursor column.
    """

    rows: pa.Table
    complete: bool
    cursor: str | None = None
    issues: list[ReadIssue] = field(default_factory=list)


class SourceReader(Protocol):
    """Reads one configured source."""

    capabilities: Capabilities

    def read(self, since: str | None) -> ReadResult:
        """Read rows changed after cursor value ``since``, or every row when it is None."""
        ...
