"""CSV reader: every value is text, empty values are null.

pyarrow parses the file because it is an order of magnitude faster than
the csv module on large files. Python's csv module parses the header, and
parses the whole file a second time only when rows have to be reported
with their physical line numbers, which pyarrow does not track across
quoted newlines.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pacsv

from accord.config.models import CsvSource
from accord.errors import SourceError
from accord.logs import get_logger
from accord.sources.base import Capabilities, ReadIssue, ReadResult
from accord.sources.records import clip_raw, finish_read
from accord.sources.text import decode_text, read_bytes

if TYPE_CHECKING:
    from _csv import Reader as _CsvReader

logger = get_logger(__name__)

CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_ALIASES = {"\\t": "\t", "tab": "\t"}
_SNIFF_CHARS = 65536
_SNIFF_RECORDS = 50
_HEADER_CHARS = 1 << 20
_MIN_BLOCK_BYTES = 1 << 20
_MAX_BLOCK_BYTES = 1 << 30


@dataclass(frozen=True)
class Dialect:
    """Field delimiter and quote character of one file."""

    delimiter: str
    quotechar: str

    def reader(self, lines: Iterable[str], strict: bool = False) -> _CsvReader:
        """Return a csv module reader over ``lines`` with this dialect."""
        return csv.reader(lines, delimiter=self.delimiter, quotechar=self.quotechar, strict=strict)


@dataclass
class RaggedRecord:
    """A record whose field count differs from the header's, as reported by pyarrow."""

    record: int  # 1-based record number: the header is record 1 and blank lines do not count
    expected: int
    actual: int


@dataclass
class ParsedCsv:
    """The rows of a CSV file and the records pyarrow skipped."""

    table: pa.Table
    ragged: list[RaggedRecord] = field(default_factory=list)


class CsvReader:
    """Reads a CSV source file."""

    capabilities = Capabilities(incremental=True, detects_deletes=True)

    def __init__(self, source: CsvSource, path: Path) -> None:
        """Prepare to read ``path`` with the settings of ``source``."""
        self.source = source
        self.path = path

    def read(self, since: str | None) -> ReadResult:
        """Read every row of the file, keeping those changed after ``since``.

        Raises:
            SourceError: When the file is missing, empty, not text, has a
                duplicate or missing column, or has an unclosed quote.
        """
        name = self.source.name
        decoded = decode_text(read_bytes(self.path, name), self.source.encoding, self.path, name)
        text = decoded.text
        if not text.strip():
            raise SourceError(
                name,
                f"{self.path} is empty: a CSV file needs a header row. Write the header "
                "row even when there are no data rows.",
            )
        dialect = Dialect(self._delimiter(text), self.source.quotechar)
        header = parse_header(text, dialect)
        columns = column_names(header, self.path, name)
        check_closed_quotes(text, dialect, self.path, name)
        parsed = parse_rows(text, header, columns, dialect, self.path, name)
        logger.info(
            "source '%s': parsed %d rows from %s (encoding %s, delimiter %r)",
            name,
            parsed.table.num_rows,
            self.path,
            decoded.encoding,
            dialect.delimiter,
        )
        places = RecordPlaces(text, dialect, parsed.ragged)
        return finish_read(
            parsed.table,
            self.source,
            since,
            places.locate_rows,
            origin=f"the header of {self.path}",
            issues=places.ragged_issues(),
        )

    def _delimiter(self, text: str) -> str:
        configured = self.source.delimiter
        if configured is None:
            return sniff_delimiter(text, self.source.quotechar)
        configured = _DELIMITER_ALIASES.get(configured, configured)
        if len(configured) != 1:
            raise SourceError(
                self.source.name,
                f"delimiter {self.source.delimiter!r} must be one character, such as ',', ';' "
                "or '\\t'. Remove 'delimiter' to detect it.",
            )
        return configured


def sniff_delimiter(text: str, quotechar: str) -> str:
    """Return the candidate delimiter that splits the first records most consistently.

    Each candidate parses the first records of ``text``. The best candidate
    gives the most records with as many fields as the header, then the most
    header fields. A file whose header has a single field gives ``,``.
    """
    sample = text[:_SNIFF_CHARS]
    truncated = len(text) > len(sample)
    best, best_score = ",", (0.0, 1)
    for candidate in CANDIDATE_DELIMITERS:
        records = _sample_records(sample, Dialect(candidate, quotechar), truncated)
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        rest = records[1:]
        consistency = sum(len(r) == width for r in rest) / len(rest) if rest else 1.0
        score = (consistency, width)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _sample_records(sample: str, dialect: Dialect, truncated: bool) -> list[list[str]]:
    reader = dialect.reader(io.StringIO(sample, newline=""))
    try:
        records = [r for r in itertools.islice(reader, _SNIFF_RECORDS + 1) if r]
    except csv.Error:
        return []
    if truncated and len(records) > 1:
        records.pop()  # the sample may cut the last record short
    return records[:_SNIFF_RECORDS]


def parse_header(text: str, dialect: Dialect) -> list[str]:
    """Return the raw fields of the first non-blank record."""
    # Only a prefix is wrapped, because StringIO copies the text it is given.
    for record in dialect.reader(io.StringIO(text[:_HEADER_CHARS], newline="")):
        if record:
            return record
    return []


def column_names(header: Sequence[str], path: Path, source: str) -> list[str]:
    """Trim header names, name empty ones ``column_N`` and reject duplicates.

    Raises:
        SourceError: When two columns have the same trimmed name.
    """
    names: list[str] = []
    position_of: dict[str, int] = {}
    for position, raw in enumerate(header, start=1):
        name = raw.strip()
        if not name:
            name = f"column_{position}"
            logger.warning(
                "source '%s': column %d of %s has no name, so it is read as '%s'",
                source,
                position,
                path,
                name,
            )
        if name in position_of:
            raise SourceError(
                source,
                f"duplicate column name '{name}' in the header of {path} (columns "
                f"{position_of[name]} and {position}). Columns found: {', '.join(header)}. "
                "Rename one of them in the header row.",
            )
        position_of[name] = position
        names.append(name)
    return names


def check_closed_quotes(text: str, dialect: Dialect, path: Path, source: str) -> None:
    """Raise SourceError when a quoted field runs to the end of the file.

    An odd number of quote characters is required for an unclosed quote,
    so the strict second parse runs only then.
    """
    if text.count(dialect.quotechar) % 2 == 0:
        return
    reader = dialect.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for _record in reader:
            start = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" not in str(exc):
            return  # a stray quote inside an unquoted field, which pyarrow keeps as text
        raise SourceError(
            source,
            f"{path} line {start}: a quoted field starting on this line is never closed, so "
            "the rest of the file would be read as one value. Close the quote or double "
            f"the {dialect.quotechar} characters inside the field.",
        ) from None


def parse_rows(
    text: str,
    header: Sequence[str],
    columns: Sequence[str],
    dialect: Dialect,
    path: Path,
    source: str,
) -> ParsedCsv:
    """Parse every record with pyarrow, as text, skipping ragged records."""
    parsed = ParsedCsv(table=pa.table({}))

    def skip_ragged(row: pacsv.InvalidRow) -> str:
        parsed.ragged.append(RaggedRecord(row.number, row.expected_columns, row.actual_columns))
        return "skip"

    data = text.encode("utf-8")
    block = min(max(len(data) + 1, _MIN_BLOCK_BYTES), _MAX_BLOCK_BYTES)
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
            parse_options=pacsv.ParseOptions(
                delimiter=dialect.delimiter,
                quote_char=dialect.quotechar,
                newlines_in_values=True,
                invalid_row_handler=skip_ragged,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={raw: pa.string() for raw in header},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise SourceError(source, f"cannot parse {path} as CSV: {exc}.") from None
    parsed.table = table.rename_columns(list(columns))
    return parsed


class RecordPlaces:
    """Physical line numbers and raw text of CSV records, found on demand.

    pyarrow numbers records, not lines, so a second parse with the csv
    module maps record numbers to the line where each record starts.
    """

    def __init__(self, text: str, dialect: Dialect, ragged: list[RaggedRecord]) -> None:
        """Keep the file text and the ragged records that pyarrow skipped."""
        self.text = text
        self.dialect = dialect
        self.ragged = ragged
        self.ragged_numbers = sorted(r.record for r in ragged)

    def ragged_issues(self) -> list[ReadIssue]:
        """Return one issue per ragged record, located at its first line."""
        if not self.ragged:
            return []
        places = self._find({r.record for r in self.ragged})
        issues = []
        for ragged in self.ragged:
            line, raw = places.get(ragged.record, (None, None))
            location = f"line {line}" if line is not None else f"record {ragged.record}"
            message = (
                f"expected {ragged.expected} fields as in the header but found "
                f"{ragged.actual}, so the row is skipped. Fix the quoting or the number of "
                "delimiters."
            )
            issues.append(ReadIssue(location, message, clip_raw(raw)))
        return issues

    def locate_rows(self, rows: Sequence[int]) -> list[tuple[str, str | None]]:
        """Return the location and raw text of table rows, by their index."""
        records = [self._record_of_row(row) for row in rows]
        places = self._find(set(records))
        located: list[tuple[str, str | None]] = []
        for record in records:
            line, raw = places.get(record, (None, None))
            location = f"line {line}" if line is not None else f"record {record}"
            located.append((location, raw))
        return located

    def _record_of_row(self, row: int) -> int:
        # Row 0 is record 2, after the header; ragged records are not rows.
        record = row + 2
        while True:
            shifted = row + 2 + bisect.bisect_right(self.ragged_numbers, record)
            if shifted == record:
                return record
            record = shifted

    def _find(self, wanted: set[int]) -> dict[int, tuple[int, str]]:
        consumed: list[str] = []

        def lines() -> Iterator[str]:
            for line in io.StringIO(self.text, newline=""):
                consumed.append(line)
                yield line

        reader = self.dialect.reader(lines())
        found: dict[int, tuple[int, str]] = {}
        record = 0
        start = 1
        for fields in reader:
            if fields:
                record += 1
                if record in wanted:
                    found[record] = (start, "".join(consumed).rstrip("\r\n"))
                    if len(found) == len(wanted):
                        break
            consumed.clear()
            start = reader.line_num + 1
        return found
