"""File writer: the whole destination as CSV, JSON Lines or Parquet, replaced atomically.

A file has no per-record API, so each sync that has changes writes every
record the destination has (the last sent state with the new changes
applied) to a temporary file in the same folder and renames it over the
old one. Readers see the old file or the new one, never a partial file.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from accord.config.models import FileDestination
from accord.sync.payload import canonical_json
from accord.sync.writers.base import Change, Outcome, sent

CurrentRecords = Callable[[], dict[str, dict[str, Any]]]


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target`` and rename it over ``target`` on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return canonical_json(value)


def write_csv(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as UTF-8 CSV with a header; nested values become JSON text."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({name: _cell(row.get(name)) for name in columns})


def write_jsonl(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as JSON Lines, one object per line with keys in ``columns`` order."""
    with path.open("w", encoding="utf-8") as handle:
        _write_lines(handle, columns, rows)


def _write_lines(handle: IO[str], columns: list[str], rows: list[dict[str, Any]]) -> None:
    for row in rows:
        item = {name: row.get(name) for name in columns}
        handle.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")


def write_parquet(path: Path, columns: list[str], rows: list[dict[str, Any]]) -> None:
    """Write ``rows`` as Parquet; a column whose values have mixed types is written as text."""
    arrays = {}
    for name in columns:
        values = [_cell(row.get(name)) for row in rows]
        try:
            arrays[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arrays[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
        if pa.types.is_null(arrays[name].type):
            arrays[name] = arrays[name].cast(pa.string())
    pq.write_table(pa.table(arrays), path)


_FORMATS = {"csv": write_csv, "jsonl": write_jsonl, "parquet": write_parquet}


class FileWriter:
    """Rewrites one file with every record of the destination."""

    def __init__(self, destination: FileDestination, root: Path, current: CurrentRecords) -> None:
        self.destination = destination
        # Every change goes into one rewrite of the file.
        self.batch_size = 2**62
        self.path = _resolve(destination.path, root)
        self.current = current
        self.columns = [destination.key.column, *(m.to for m in destination.fields.values())]

    def close(self) -> None:
        """Nothing to release."""

    def write(self, changes: list[Change]) -> list[Outcome]:
        """Apply ``changes`` to the last sent records and write the file."""
        records = self.current()
        for change in changes:
            if change.operation == "delete":
                records.pop(change.record_key, None)
            else:
                records[change.record_key] = change.record
        key = self.destination.key.column
        rows = [{key: record_key, **records[record_key]} for record_key in sorted(records)]
        with atomic_path(self.path) as temporary:
            _FORMATS[self.destination.kind](temporary, self.columns, rows)
        return [sent(change) for change in changes]


def _resolve(path: str, root: Path) -> Path:
    candidate = Path(os.path.expandvars(path)).expanduser()
    return candidate if candidate.is_absolute() else root / candidate
