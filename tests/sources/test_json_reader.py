"""JsonReader on real JSON and JSON Lines files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from accord.config.models import JsonSource
from accord.errors import SourceError
from accord.sources import open_reader
from accord.sources.base import ReadResult


def read_json(
    tmp_path: Path,
    content: str | bytes,
    kind: str = "json",
    since: str | None = None,
    **settings: Any,
) -> ReadResult:
    path = tmp_path / f"tickets.{kind}"
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(data)
    values: dict[str, Any] = {
        "kind": kind,
        "name": "helpdesk",
        "path": path.name,
        "primary_key": "id",
        "fields": {"email": "requester.email"},
    }
    values.update(settings)
    return open_reader(JsonSource.model_validate(values), tmp_path).read(since)


TICKETS = [
    {
        "id": 1,
        "requester": {"email": "ana@example.com", "name": {"first": "Ana", "last": "Ruiz"}},
        "tags": ["vip", "billing"],
        "open": True,
        "score": 4.5,
    },
    {"id": 2, "requester": {"email": "bo@example.com"}, "tags": [], "open": False, "score": 3},
]


def test_array_of_objects_is_flattened(tmp_path: Path) -> None:
    result = read_json(tmp_path, json.dumps(TICKETS))
    first, second = result.rows.to_pylist()

    assert result.rows.column_names == [
        "id",
        "requester.email",
        "requester.name.first",
        "requester.name.last",
        "tags",
        "open",
        "score",
    ]
    assert first["requester.name.first"] == "Ana"
    assert first["tags"] == '["vip", "billing"]'
    assert second["tags"] == "[]"
    assert second["requester.name.first"] is None
    assert result.present_keys == {"1", "2"}
    assert result.complete is True


def test_column_types_are_plain(tmp_path: Path) -> None:
    schema = read_json(tmp_path, json.dumps(TICKETS)).rows.schema

    assert schema.field("id").type == pa.int64()
    assert schema.field("open").type == pa.bool_()
    assert schema.field("score").type == pa.float64()
    assert schema.field("requester.email").type == pa.string()


def test_mixed_value_types_become_text(tmp_path: Path) -> None:
    records = [{"id": 1, "zip": "01234"}, {"id": "A-2", "zip": 1234}, {"id": 3.0, "zip": None}]

    result = read_json(tmp_path, json.dumps(records))

    assert result.rows.column("id").to_pylist() == ["1", "A-2", "3"]
    assert result.rows.column("zip").to_pylist() == ["01234", "1234", None]
    assert result.present_keys == {"1", "A-2", "3"}


RECORDS_PATHS = [
    ("data", {"data": TICKETS, "meta": {"count": 2}}),
    ("response.items", {"response": {"items": TICKETS, "next": None}}),
]


@pytest.mark.parametrize(("records_path", "document"), RECORDS_PATHS)
def test_records_path_selects_array(
    tmp_path: Path, records_path: str, document: dict[str, Any]
) -> None:
    result = read_json(tmp_path, json.dumps(document), records_path=records_path)

    assert result.rows.column("id").to_pylist() == [1, 2]


def test_wrong_records_path_lists_keys(tmp_path: Path) -> None:
    document = {"response": {"items": TICKETS}}

    with pytest.raises(SourceError) as caught:
        read_json(tmp_path, json.dumps(document), records_path="response.results")

    message = str(caught.value)
    assert "no key 'results' at response" in message
    assert "Keys found: 'items'" in message


def test_object_without_records_path_names_arrays(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="Arrays found under: 'tickets'"):
        read_json(tmp_path, json.dumps({"tickets": TICKETS, "count": 2}))


def test_invalid_json_names_line(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"is not valid JSON: .* at line 3"):
        read_json(tmp_path, '[\n{"id": 1},\n{"id": 2,,}\n]')


def test_non_object_items_become_issues(tmp_path: Path) -> None:
    result = read_json(tmp_path, json.dumps([{"id": 1}, "oops", {"id": 2}, [3]]))

    assert result.rows.column("id").to_pylist() == [1, 2]
    assert [issue.location for issue in result.issues] == ["item 2", "item 4"]
    assert result.issues[0].raw == '"oops"'


def test_missing_key_item_becomes_issue(tmp_path: Path) -> None:
    records = [{"id": 1}, {"id": None, "x": 1}, {"x": 2}, {"id": ""}, {"id": 5}]

    result = read_json(tmp_path, json.dumps(records))

    assert [issue.location for issue in result.issues] == ["item 2", "item 3", "item 4"]
    assert result.issues[1].raw == '{"x": 2}'
    assert result.present_keys == {"1", "5"}


def test_key_column_absent_everywhere_is_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="primary key column 'id' not found"):
        read_json(tmp_path, json.dumps([{"ticket_id": 1}, {"ticket_id": 2}]))


def test_empty_array_has_no_rows(tmp_path: Path) -> None:
    result = read_json(tmp_path, "[]")

    assert result.rows.num_rows == 0
    assert result.present_keys == set()
    assert result.complete is True


def test_utf16_json_is_decoded(tmp_path: Path) -> None:
    content = json.dumps([{"id": 1, "name": "Müller"}], ensure_ascii=False).encode("utf-16")

    result = read_json(tmp_path, content)

    assert result.rows.column("name").to_pylist() == ["Müller"]


JSON_LINES = (
    '{"id": 1, "requester": {"email": "ana@example.com"}, "updated": 10}\n'
    "\n"
    '{"id": 2, "requester": {"email": "bo@example.com"}, "updated": 20}\r\n'
    '{"id": 3, "requester": {"email": "cy@example.com", "updated": 30}\n'
    "[1, 2]\n"
    '{"id": 4, "requester": {"email": "di@example.com"}, "updated": 40}\n'
    "   \n"
)


def test_json_lines_skip_blank_and_report_bad(tmp_path: Path) -> None:
    result = read_json(tmp_path, JSON_LINES, kind="jsonl")

    assert result.rows.column("id").to_pylist() == [1, 2, 4]
    assert [issue.location for issue in result.issues] == ["line 4", "line 5"]
    assert "invalid JSON" in result.issues[0].message
    assert result.issues[0].raw is not None
    assert result.issues[0].raw.startswith('{"id": 3')
    assert "expected a JSON object but found an array" in result.issues[1].message


def test_json_lines_missing_key_has_line(tmp_path: Path) -> None:
    content = '{"id": 1}\n\n{"name": "no id"}\n{"id": 2}\n'

    result = read_json(tmp_path, content, kind="jsonl")

    assert [issue.location for issue in result.issues] == ["line 3"]
    assert result.issues[0].raw == '{"name": "no id"}'


def test_empty_json_lines_file_has_no_rows(tmp_path: Path) -> None:
    result = read_json(tmp_path, "", kind="jsonl")

    assert result.rows.num_rows == 0
    assert result.present_keys == set()


def test_json_lines_incremental_by_number(tmp_path: Path) -> None:
    result = read_json(tmp_path, JSON_LINES, kind="jsonl", since="15", cursor="updated")

    assert result.rows.column("id").to_pylist() == [2, 4]
    assert result.cursor == "40"
    assert result.complete is False
    assert result.present_keys == {"1", "2", "4"}


def test_json_incremental_by_timestamp(tmp_path: Path) -> None:
    records = [
        {"id": "a", "changed": "2024-05-01T08:00:00Z"},
        {"id": "b", "changed": "2024-05-01T09:30:00+02:00"},
        {"id": "c", "changed": "2024-05-02T00:00:00Z"},
    ]

    result = read_json(
        tmp_path, json.dumps(records), since="2024-05-01T08:00:00Z", cursor="changed"
    )

    assert result.rows.column("id").to_pylist() == ["c"]
    assert result.cursor == "2024-05-02T00:00:00Z"
