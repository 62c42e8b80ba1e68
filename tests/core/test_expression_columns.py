"""Columns that mapping expressions read, and records of schemaless sources that lack them."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from accord.config.loader import load_project
from accord.config.models import JsonSource
from accord.errors import SourceError
from accord.field_query import expression_columns
from accord.mapping import map_batch
from accord.pipeline import run
from accord.store.duckdb_store import Store, scratch
from accord.stream.rows import required_columns, rows_table


@pytest.mark.parametrize(
    ("expression", "columns"),
    [
        ("coalesce(nickname, first_name)", ["nickname", "first_name"]),
        ("\"addr.city\" || '!'", ["addr.city"]),
        ("CASE WHEN note = 'email' THEN 1 END", ["note"]),
        ('upper("Email")', ["Email"]),
        ("b.email", []),
        ("COLUMNS('e.*')", []),
        ("lower(email", []),
    ],
)
def test_expression_columns(expression: str, columns: list[str]) -> None:
    assert expression_columns(expression) == columns


def jsonl_source(expression: str) -> JsonSource:
    return JsonSource.model_validate(
        {
            "name": "app",
            "kind": "jsonl",
            "path": "app.jsonl",
            "primary_key": "id",
            "fields": {"first_name": {"expr": expression}},
        }
    )


def test_required_columns_include_expression_columns() -> None:
    source = jsonl_source('coalesce(nickname, "profile.first")')
    assert required_columns(source) == ["id", "nickname", "profile.first"]


def test_change_without_expression_column_maps() -> None:
    source = jsonl_source("coalesce(nickname, first)")
    rows = rows_table(source, [{"id": 1, "first": "Ada"}])
    assert map_batch(source, rows).columns["first_name"] == ["Ada"]


def test_read_without_expression_column_maps() -> None:
    source = jsonl_source("coalesce(nickname, first)")
    rows = pa.table({"id": [1, 2], "first": ["Ada", "Alan"]})
    assert map_batch(source, rows).columns["first_name"] == ["Ada", "Alan"]


def test_expression_with_trailing_comment_maps() -> None:
    source = jsonl_source("upper(first) -- shouted")
    rows = pa.table({"id": [1], "first": ["Ada"]})
    assert map_batch(source, rows).columns["first_name"] == ["ADA"]


@pytest.mark.parametrize(
    "expression",
    [
        "(SELECT content FROM read_text('{path}'))",
        "(SELECT max(column0) FROM read_csv('{path}', header = false))",
    ],
)
def test_expression_cannot_read_files(tmp_path: Path, expression: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t\n", encoding="utf-8")
    source = jsonl_source(expression.format(path=secret))
    rows = pa.table({"id": [1], "first": ["Ada"]})

    with pytest.raises(SourceError, match="subqueries") as caught:
        map_batch(source, rows)
    assert "s3cr3t" not in str(caught.value)


def test_scratch_connection_refuses_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("s3cr3t\n", encoding="utf-8")
    query = "SELECT content FROM read_text(?)"
    with (
        scratch("batch", pa.table({"id": [1]})) as connection,
        pytest.raises(duckdb.PermissionException),
    ):
        connection.execute(query, [str(secret)]).fetchall()


def test_expression_column_of_other_case_kept() -> None:
    source = jsonl_source("coalesce(nickname, first)")
    payloads = [{"id": 1, "first": "Ada", "Nickname": "Addie"}, {"id": 2, "first": "Alan"}]
    rows = rows_table(source, payloads)
    assert map_batch(source, rows).columns["first_name"] == ["Addie", "Alan"]
    batch = pa.table({"id": [1, 2], "first": ["Ada", "Alan"], "Nickname": ["Addie", None]})
    assert map_batch(source, batch).columns["first_name"] == ["Addie", "Alan"]


@pytest.mark.parametrize("records", [[], [{"id": 1, "first": "Ada"}]])
def test_json_read_without_deleted_flag_runs(tmp_path: Path, records: list[object]) -> None:
    (tmp_path / "app.json").write_text(json.dumps(records), encoding="utf-8")
    (tmp_path / "accord.yaml").write_text(
        "sources:\n  - name: app\n    kind: json\n    path: app.json\n    primary_key: id\n"
        "    deleted_flag: gone\n    fields:\n      first_name: first\n",
        encoding="utf-8",
    )
    loaded = load_project(tmp_path / "accord.yaml")
    with Store.open(loaded.resolve(loaded.project.store.path)) as store:
        summary = run(loaded, store)
    assert [source.stored for source in summary.sources] == [len(records)]
