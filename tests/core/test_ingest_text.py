"""Raw JSON text of source rows, cut into Arrow string chunks below the 2 GiB offset limit."""

from __future__ import annotations

import pyarrow as pa
import pytest

from accord.ingest import raw_json, string_chunks


@pytest.mark.parametrize(
    ("values", "max_bytes", "sizes"),
    [
        (["ab", "cd", "ef"], 4, [2, 1]),
        (["ab", "cd", "ef"], 6, [3]),
        (["abcdef", "g", "h"], 4, [1, 2]),
        (["a", None, "", "bc"], 2, [3, 1]),
        (["ü" * 3, "x"], 6, [1, 1]),
        ([], 4, []),
    ],
)
def test_string_chunks_cut_by_bytes(
    values: list[str | None], max_bytes: int, sizes: list[int]
) -> None:
    column = pa.chunked_array([pa.array(values, pa.large_string())], pa.large_string())

    chunks = string_chunks(column, max_bytes)

    assert chunks.type == pa.string()
    assert [len(chunk) for chunk in chunks.chunks] == sizes
    assert chunks.to_pylist() == values


def test_string_chunks_keep_each_input_chunk() -> None:
    column = pa.chunked_array([["ab"], ["cd", "ef"]], pa.string())

    chunks = string_chunks(column, 100)

    assert [len(chunk) for chunk in chunks.chunks] == [1, 2]
    assert chunks.to_pylist() == ["ab", "cd", "ef"]


def test_raw_json_returns_string_chunks() -> None:
    rows = pa.table({"id": [1, 2], "email": ["a@example.com", None]})

    raw = raw_json(rows)

    assert isinstance(raw, pa.ChunkedArray)
    assert raw.type == pa.string()
    assert raw.to_pylist() == ['{"id":1,"email":"a@example.com"}', '{"id":2,"email":null}']
