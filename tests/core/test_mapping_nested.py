"""Field mappings whose expression returns a list, struct or map instead of one value."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from accord.config.models import CsvSource
from accord.mapping import map_batch


def make_source(fields: dict[str, Any]) -> CsvSource:
    return CsvSource.model_validate(
        {"name": "s", "kind": "csv", "path": "x.csv", "primary_key": "id", "fields": fields}
    )


ROWS = pa.table({"id": ["1", "2", "3"], "tags": ["5,6", None, "7"]})


@pytest.mark.parametrize(
    ("mapping", "kind", "values"),
    [
        ({"expr": "string_split(tags, ',')"}, "a list", ['["5", "6"]', '["7"]']),
        ({"expr": "string_split(tags, ',')", "cast": "integer"}, "a list", ['["5", "6"]', '["7"]']),
        (
            {"expr": "string_split(tags, ',')", "values": {"5": "gold"}, "unmapped": "pass"},
            "a list",
            ['["5", "6"]', '["7"]'],
        ),
        (
            {"expr": "CASE WHEN tags IS NOT NULL THEN {'tags': tags} END"},
            "a struct",
            ['{"tags": "5,6"}', '{"tags": "7"}'],
        ),
        (
            {"expr": "CASE WHEN tags IS NOT NULL THEN map(['t'], [tags]) END"},
            "a map",
            ['[["t", "5,6"]]', '[["t", "7"]]'],
        ),
    ],
)
def test_nested_result_is_issue(mapping: dict[str, Any], kind: str, values: list[str]) -> None:
    result = map_batch(make_source({"plan": mapping}), ROWS)
    assert result.columns["plan"] == [None, None, None]
    assert [issue.row for issue in result.issues] == [0, 2]
    assert [issue.rule for issue in result.issues] == ["value_type", "value_type"]
    assert [issue.field for issue in result.issues] == ["plan", "plan"]
    assert [issue.value for issue in result.issues] == values
    assert result.issues[0].reason.startswith(f"the mapping of 'plan' gives {kind} (")


def test_scalar_result_has_no_issue() -> None:
    result = map_batch(make_source({"plan": {"expr": "string_split(tags, ',')[1]"}}), ROWS)
    assert result.columns["plan"] == ["5", None, "7"]
    assert result.issues == []
