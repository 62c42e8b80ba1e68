"""open_reader and CAPABILITIES."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter

from accord.config.models import Source
from accord.sources import CAPABILITIES, open_reader
from accord.sources.csv_file import CsvReader
from accord.sources.json_file import JsonReader
from accord.sources.parquet_file import ParquetReader
from accord.sources.rest import RestReader
from accord.sources.sql import SqlReader

SETTINGS: list[tuple[dict[str, Any], type]] = [
    ({"kind": "csv", "path": "a.csv"}, CsvReader),
    ({"kind": "json", "path": "a.json"}, JsonReader),
    ({"kind": "jsonl", "path": "a.jsonl"}, JsonReader),
    ({"kind": "parquet", "path": "a.parquet"}, ParquetReader),
    ({"kind": "sql", "url": "sqlite:///a.db", "table": "t"}, SqlReader),
    ({"kind": "rest_api", "base_url": "http://127.0.0.1:9/", "path": "p"}, RestReader),
]


def make_source(settings: dict[str, Any]) -> Any:
    values = {"name": "crm", "primary_key": "id", "fields": {"email": "email"}, **settings}
    return TypeAdapter(Source).validate_python(values)


@pytest.mark.parametrize(
    ("settings", "reader_type"), SETTINGS, ids=[s[0]["kind"] for s in SETTINGS]
)
def test_reader_matches_kind(tmp_path: Path, settings: dict[str, Any], reader_type: type) -> None:
    reader = open_reader(make_source(settings), tmp_path)

    assert isinstance(reader, reader_type)
    assert reader.capabilities == CAPABILITIES[settings["kind"]]


def test_capabilities_cover_every_kind() -> None:
    assert set(CAPABILITIES) == {"csv", "json", "jsonl", "parquet", "sql", "rest_api"}
    assert all(capability.incremental for capability in CAPABILITIES.values())


def test_relative_path_starts_at_project(tmp_path: Path) -> None:
    reader = open_reader(make_source({"kind": "csv", "path": "data/a.csv"}), tmp_path)

    assert isinstance(reader, CsvReader)
    assert reader.path == tmp_path.resolve() / "data" / "a.csv"


def test_absolute_path_is_kept(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere" / "a.csv"

    reader = open_reader(make_source({"kind": "csv", "path": str(target)}), tmp_path / "project")

    assert isinstance(reader, CsvReader)
    assert reader.path == target


def test_logs_hold_counts_not_values(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "a.csv").write_text("id,email,name\n1,ana@example.com,Müller\n2,,Groß\n")

    with caplog.at_level(logging.DEBUG, logger="accord.sources"):
        open_reader(make_source({"kind": "csv", "path": "a.csv"}), tmp_path).read(None)

    assert "2 rows returned" in caplog.text
    assert "ana@example.com" not in caplog.text
    assert "Müller" not in caplog.text
