"""Turn the rows of one source read into stored records and quarantine entries.

The batch run and the streaming worker both call :func:`process_rows`, so a
record goes through the same map, standardize and validate steps whichever
way it arrives.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from accord.config.models import Project, SourceBase
from accord.field_query import unused_name
from accord.logs import get_logger
from accord.mapping import case_clashes, map_batch
from accord.quality import check_rules
from accord.sources.base import ReadIssue, ValueIssue, make_source_key
from accord.sources.values import json_text
from accord.standardize.parallel import StandardizePool
from accord.standardize.stage import SourceContext, standardize_columns
from accord.store.duckdb_store import scratch

logger = get_logger(__name__)

# Below the 2 GiB that the 32-bit offsets of an Arrow string array can address.
MAX_STRING_CHUNK_BYTES = 1 << 30

_FALSE_FLAGS = {"", "false", "f", "no", "n", "0", "null", "none"}


@dataclass(frozen=True)
class QuarantineEntry:
    """One reason why one source row was not stored."""

    source_key: str | None
    location: str
    rule: str
    field: str | None
    value: str | None
    reason: str
    raw: str | None


@dataclass
class ProcessedBatch:
    """The outcome of processing one read of one source.

    ``accepted`` has columns ``source_key``, ``raw`` and ``data`` (JSON
    text). ``read`` counts every row the source returned, including rows the
    reader could not parse, so ``read == len(accepted) + len(deleted_keys) +
    quarantined`` always holds.
    """

    source: str
    read: int
    accepted: pa.Table
    deleted_keys: list[str]
    quarantine: list[QuarantineEntry]
    quarantined: int
    warnings: Counter[str] = field(default_factory=Counter)


def _row_location(row: int) -> str:
    return f"row {row + 1}"


def is_flagged(value: Any) -> bool:
    """Return whether a deleted-flag value marks its record deleted."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() not in _FALSE_FLAGS


def source_keys(source: SourceBase, rows: pa.Table) -> list[str]:
    """Return the source key of every row."""
    if rows.num_rows == 0:
        # A JSON source without records has no columns at all.
        return []
    columns = [rows.column(name).to_pylist() for name in source.key_columns]
    return [make_source_key(values) for values in zip(*columns, strict=True)]


def process_rows(
    project: Project,
    source: SourceBase,
    rows: pa.Table,
    read_issues: list[ReadIssue] | None = None,
    pool: StandardizePool | None = None,
    value_issues: list[ValueIssue] | None = None,
    row_numbers: Sequence[int] | None = None,
    seen_keys: dict[str, int] | None = None,
) -> ProcessedBatch:
    """Map, standardize and validate the rows of one read of ``source``.

    With a ``pool``, large reads are standardized in its worker processes,
    with the same result as without it. The rows named by ``value_issues``
    are quarantined under the rule ``out_of_range``. ``row_numbers`` gives
    the position of each of ``rows`` in the whole read, for the locations of
    quarantine entries when ``rows`` is part of a read. ``seen_keys`` maps
    each key of the earlier parts of the read to its first position, so a
    duplicate across parts is quarantined too. This call adds its own keys.
    """
    keys = source_keys(source, rows)
    quarantine = [_parse_entry(issue) for issue in read_issues or []]
    bad_rows: dict[int, list[QuarantineEntry]] = {}

    positions = row_numbers if row_numbers is not None else range(len(keys))
    first_positions = seen_keys if seen_keys is not None else {}
    for row, entry in _duplicate_keys(keys, positions, first_positions):
        bad_rows.setdefault(row, []).append(entry)
    for row, entry in _out_of_range_entries(keys, value_issues or []):
        bad_rows.setdefault(row, []).append(entry)

    deleted_rows = _flagged_rows(source, rows)
    mapped = map_batch(source, rows)
    for issue in mapped.issues:
        entry = QuarantineEntry(
            keys[issue.row],
            _row_location(issue.row),
            issue.rule,
            issue.field,
            issue.value[:200],
            issue.reason,
            None,
        )
        bad_rows.setdefault(issue.row, []).append(entry)

    context = SourceContext(source=source.name, region=source.region, date_order=source.date_order)
    if pool is not None:
        standardized = pool.standardize(mapped.columns, project.standardize, context)
    else:
        standardized = standardize_columns(mapped.columns, project.standardize, context)
    warnings: Counter[str] = Counter()
    for std_issue in standardized.issues:
        if std_issue.quarantine:
            entry = QuarantineEntry(
                keys[std_issue.row],
                _row_location(std_issue.row),
                "standardize",
                std_issue.field,
                std_issue.value,
                std_issue.reason,
                None,
            )
            bad_rows.setdefault(std_issue.row, []).append(entry)
        else:
            warnings[std_issue.field] += 1

    for quality_issue in check_rules(
        project.quality, standardized.columns, rows.num_rows, source.name
    ):
        if quality_issue.row in deleted_rows:
            continue
        entry = QuarantineEntry(
            keys[quality_issue.row],
            _row_location(quality_issue.row),
            quality_issue.rule,
            quality_issue.field,
            quality_issue.value,
            quality_issue.reason,
            None,
        )
        bad_rows.setdefault(quality_issue.row, []).append(entry)

    if row_numbers is not None:
        bad_rows = {
            row: [replace(entry, location=_row_location(row_numbers[row])) for entry in entries]
            for row, entries in bad_rows.items()
        }
    return _assemble(
        source, rows, keys, standardized.columns, bad_rows, deleted_rows, quarantine, warnings
    )


def merge_batches(batches: Sequence[ProcessedBatch]) -> ProcessedBatch:
    """Combine the outcomes of processing the parts of one read."""
    warnings: Counter[str] = Counter()
    for batch in batches:
        warnings.update(batch.warnings)
    return ProcessedBatch(
        source=batches[0].source,
        read=sum(batch.read for batch in batches),
        accepted=pa.concat_tables([batch.accepted for batch in batches]),
        deleted_keys=[key for batch in batches for key in batch.deleted_keys],
        quarantine=[entry for batch in batches for entry in batch.quarantine],
        quarantined=sum(batch.quarantined for batch in batches),
        warnings=warnings,
    )


def _assemble(
    source: SourceBase,
    rows: pa.Table,
    keys: list[str],
    columns: dict[str, list[Any]],
    bad_rows: dict[int, list[QuarantineEntry]],
    deleted_rows: set[int],
    quarantine: list[QuarantineEntry],
    warnings: Counter[str],
) -> ProcessedBatch:
    deleted_rows = deleted_rows - set(bad_rows)
    kept_rows = [row not in bad_rows and row not in deleted_rows for row in range(rows.num_rows)]
    keep = [row for row, kept in enumerate(kept_rows) if kept]
    raw_all = raw_json(rows)
    for row, entries in sorted(bad_rows.items()):
        raw = raw_all[row].as_py()
        quarantine.extend(
            QuarantineEntry(e.source_key, e.location, e.rule, e.field, e.value, e.reason, raw)
            for e in entries
        )
    data = _data_json(
        {name: [values[row] for row in keep] for name, values in columns.items()}, len(keep)
    )
    accepted = pa.table(
        {
            "source_key": pa.array([keys[row] for row in keep], pa.string()),
            # A filter works chunk by chunk; take would combine the chunks into one array.
            "raw": raw_all.filter(pa.array(kept_rows, pa.bool_())),
            "data": data,
        }
    )
    parse_failures = sum(1 for entry in quarantine if entry.rule == "parse")
    if bad_rows or parse_failures:
        logger.info(
            "source %s: %d rows quarantined, %d unparseable",
            source.name,
            len(bad_rows),
            parse_failures,
        )
    return ProcessedBatch(
        source=source.name,
        read=rows.num_rows + parse_failures,
        accepted=accepted,
        deleted_keys=[keys[row] for row in sorted(deleted_rows)],
        quarantine=quarantine,
        quarantined=len(bad_rows) + parse_failures,
        warnings=warnings,
    )


def _parse_entry(issue: ReadIssue) -> QuarantineEntry:
    return QuarantineEntry(None, issue.location, "parse", None, None, issue.message, None)


def _duplicate_keys(
    keys: list[str], positions: Sequence[int], first: dict[str, int]
) -> list[tuple[int, QuarantineEntry]]:
    """Return the rows whose key an earlier row has, and add the new keys to ``first``.

    ``positions`` and ``first`` hold positions in the whole read.
    """
    duplicates = []
    for row, key in enumerate(keys):
        if key in first:
            reason = (
                f"duplicate primary key '{key[:80]}' (first seen at "
                f"{_row_location(first[key])}); the first row was kept"
            )
            location = _row_location(positions[row])
            entry = QuarantineEntry(key, location, "duplicate_key", None, key[:200], reason, None)
            duplicates.append((row, entry))
        else:
            first[key] = positions[row]
    return duplicates


def _out_of_range_entries(
    keys: list[str], issues: list[ValueIssue]
) -> list[tuple[int, QuarantineEntry]]:
    by_key: dict[str, list[ValueIssue]] = {}
    for issue in issues:
        by_key.setdefault(issue.key, []).append(issue)
    entries = []
    for row, key in enumerate(keys):
        for issue in by_key.get(key, []):
            entry = QuarantineEntry(
                key,
                _row_location(row),
                "out_of_range",
                issue.column,
                issue.value[:200],
                issue.reason,
                None,
            )
            entries.append((row, entry))
    return entries


def _flagged_rows(source: SourceBase, rows: pa.Table) -> set[int]:
    if not source.deleted_flag or source.deleted_flag not in rows.column_names:
        # JSON records may leave the flag out; other sources fail in the mapping's column check.
        return set()
    values = rows.column(source.deleted_flag).to_pylist()
    return {row for row, value in enumerate(values) if is_flagged(value)}


def raw_json(rows: pa.Table) -> pa.ChunkedArray:
    """Return every row as a JSON object text, keyed by column name, in Arrow string chunks."""
    if rows.num_rows == 0:
        return pa.chunked_array([], pa.string())
    if case_clashes(rows.column_names):
        # DuckDB would rename one of two names that differ only in case.
        texts = [json_text(row, compact=True) for row in rows.to_pylist()]
        return string_chunks(pa.chunked_array([pa.array(texts, pa.large_string())]))
    # DuckDB binds a name to a column before a table alias, so to_json(b) over a
    # table aliased b with a column b would convert that column.
    alias = unused_name("accord_row", rows.column_names)
    with scratch("batch", rows) as connection:
        result = connection.sql(
            f"SELECT to_json({alias})::VARCHAR AS raw FROM batch AS {alias}"
        ).to_arrow_table()
    return string_chunks(result.column(0))


def string_chunks(
    column: pa.ChunkedArray, max_bytes: int = MAX_STRING_CHUNK_BYTES
) -> pa.ChunkedArray:
    """Return ``column`` as ``string`` chunks of at most ``max_bytes`` of text each.

    An Arrow ``string`` array addresses its text with 32-bit offsets, so it
    cannot hold 2 GiB or more. The raw text of a few million records exceeds
    that, so the text is cut into chunks instead of being combined into one
    array. A single value longer than ``max_bytes`` gets a chunk of its own.
    """
    chunks: list[pa.Array] = []
    for chunk in column.chunks:
        large = chunk.cast(pa.large_string())
        lengths = pc.fill_null(pc.binary_length(large), 0).to_numpy(zero_copy_only=False)
        ends = np.cumsum(lengths, dtype=np.int64)
        start = 0
        while start < len(large):
            base = ends[start - 1] if start else 0
            stop = int(np.searchsorted(ends, base + max_bytes, side="right"))
            stop = max(stop, start + 1)
            # Copied first, because a slice keeps offsets into the whole text buffer.
            piece = pa.concat_arrays([large.slice(start, stop - start)])
            chunks.append(piece.cast(pa.string()))
            start = stop
    return pa.chunked_array(chunks, pa.string())


def _data_json(columns: dict[str, list[Any]], count: int) -> pa.ChunkedArray:
    if count == 0:
        return pa.chunked_array([], pa.string())
    if not columns:
        return pa.chunked_array([pa.array(["{}"] * count, pa.string())])
    table = pa.table({name: _arrow_column(values) for name, values in sorted(columns.items())})
    return raw_json(table)


def _arrow_column(values: list[Any]) -> pa.Array:
    """Return ``values`` as one Arrow array, as text when they mix types or exceed 64 bits."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if value is None else str(value) for value in values], pa.string())
