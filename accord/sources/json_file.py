"""JSON and JSON Lines readers.

A JSON file contains an array of objects, either at the top level or under
the dotted ``records_path``. A JSON Lines file contains one object per
line. Blank lines are skipped, and a line that is not a JSON object
becomes a ReadIssue. Nested objects become dotted column names and lists become JSON
text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from accord.config.models import JsonSource
from accord.errors import SourceError
from accord.logs import get_logger
from accord.sources.base import Capabilities, ReadIssue, ReadResult
from accord.sources.records import clip_raw, finish_read
from accord.sources.text import decode_text, read_bytes
from accord.sources.values import flatten_record, json_text, table_from_records

logger = get_logger(__name__)


class JsonReader:
    """Reads a JSON or JSON Lines source file."""

    capabilities = Capabilities(incremental=True, detects_deletes=True)

    def __init__(self, source: JsonSource, path: Path) -> None:
        """Prepare to read ``path`` with the settings of ``source``."""
        self.source = source
        self.path = path

    def read(self, since: str | None) -> ReadResult:
        """Read every record of the file, keeping those changed after ``since``.

        Raises:
            SourceError: When the file is missing, not text, not valid JSON,
                or has no array of records where ``records_path`` points.
        """
        name = self.source.name
        text = decode_text(read_bytes(self.path, name), None, self.path, name).text
        if self.source.kind == "jsonl":
            records, issues = parse_json_lines(text)
        else:
            records, issues = parse_json_array(text, self.source.records_path, self.path, name)
        logger.info("source '%s': parsed %d records from %s", name, len(records.objects), self.path)
        flat = [flatten_record(obj) for obj in records.objects]
        return finish_read(
            table_from_records(flat),
            self.source,
            since,
            records.locate,
            origin=f"the records of {self.path}",
            issues=issues,
            records=flat,
        )


class ParsedRecords:
    """Parsed JSON objects with the location each one came from."""

    def __init__(self, label: str, lines: Sequence[str] | None = None) -> None:
        """Start an empty list.

        Args:
            label: "line" for JSON Lines, "item" for the items of an array.
            lines: The lines of a JSON Lines file, for the raw text of issues.
        """
        self.label = label
        self.lines = lines
        self.objects: list[Mapping[str, object]] = []
        self.positions: list[int] = []

    def add(self, obj: Mapping[str, object], position: int) -> None:
        """Append one object found at ``position`` (1-based line or item number)."""
        self.objects.append(obj)
        self.positions.append(position)

    def locate(self, rows: Sequence[int]) -> list[tuple[str, str | None]]:
        """Return the location and raw text of objects, by their index."""
        located: list[tuple[str, str | None]] = []
        for row in rows:
            position = self.positions[row]
            if self.lines is not None:
                raw = self.lines[position - 1].strip()
            else:
                raw = json_text(self.objects[row])
            located.append((f"{self.label} {position}", raw))
        return located


def parse_json_lines(text: str) -> tuple[ParsedRecords, list[ReadIssue]]:
    """Parse one JSON object per line, reporting bad lines as issues."""
    lines = text.split("\n")
    records = ParsedRecords("line", lines)
    issues: list[ReadIssue] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            message = f"invalid JSON ({exc.msg} at column {exc.colno}), so the line is skipped."
            issues.append(ReadIssue(f"line {number}", message, clip_raw(line.rstrip("\r"))))
            continue
        except RecursionError:
            message = "JSON nested too deeply to read, so the line is skipped."
            issues.append(ReadIssue(f"line {number}", message, clip_raw(line.rstrip("\r"))))
            continue
        if not isinstance(value, dict):
            message = (
                f"expected a JSON object but found {_json_type(value)}, so the line is skipped. "
                "Write one object per line."
            )
            issues.append(ReadIssue(f"line {number}", message, clip_raw(stripped)))
            continue
        records.add(value, number)
    return records, issues


def parse_json_array(
    text: str, records_path: str | None, path: Path, source: str
) -> tuple[ParsedRecords, list[ReadIssue]]:
    """Parse a JSON document and take the array of objects at ``records_path``.

    Raises:
        SourceError: When the document is not valid JSON, or no array is
            found at ``records_path``.
    """
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(
            source,
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
            "Fix the file, or set kind 'jsonl' if it holds one object per line.",
        ) from None
    items = _find_array(document, records_path, path, source)
    records = ParsedRecords("item")
    issues: list[ReadIssue] = []
    for number, item in enumerate(items, start=1):
        if isinstance(item, dict):
            records.add(item, number)
        else:
            message = (
                f"expected a JSON object but found {_json_type(item)}, so the item is skipped."
            )
            issues.append(ReadIssue(f"item {number}", message, clip_raw(json_text(item))))
    return records, issues


def _find_array(
    document: object, records_path: str | None, path: Path, source: str
) -> list[object]:
    node = document
    walked: list[str] = []
    for part in records_path.split(".") if records_path else []:
        if not isinstance(node, dict) or part not in node:
            where = ".".join(walked) or "the top level"
            found = ", ".join(f"'{key}'" for key in node) if isinstance(node, dict) else "none"
            raise SourceError(
                source,
                f"records_path '{records_path}' not found in {path}: no key '{part}' at "
                f"{where}. Keys found: {found}. Set 'records_path' to the dotted path of "
                "the array of records.",
            )
        node = node[part]
        walked.append(part)
    if isinstance(node, list):
        return node
    if isinstance(node, dict) and records_path is None:
        arrays = [f"'{key}'" for key, value in node.items() if isinstance(value, list)]
        hint = f" Arrays found under: {', '.join(arrays)}." if arrays else ""
        raise SourceError(
            source,
            f"{path} holds a JSON object, not an array of records. Set 'records_path' to "
            f"the dotted path of the array.{hint}",
        )
    where = f"at records_path '{records_path}'" if records_path else "at the top level"
    raise SourceError(
        source,
        f"{path} has {_json_type(node)} {where}, not an array of records. Set "
        "'records_path' to the dotted path of the array.",
    )


def _json_type(value: object) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"
