"""ParquetReader on real Parquet files written with pyarrow."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from accord.config.models import ParquetSource
from accord.errors import SourceError
from accord.sources import open_reader
from accord.sources.base import ReadResult


def read_parquet(
    tmp_path: Path, table: pa.Table, since: str | None = None, **settings: Any
) -> ReadResult:
    pq.write_table(table, tmp_path / "accounts.parquet")
    values: dict[str, Any] = {
        "kind": "parquet",
        "name": "warehouse",
        "path": "accounts.parquet",
        "primary_key": "id",
        "fields": {"email": "contact.email"},
    }
    values.update(settings)
    return open_reader(ParquetSource.model_validate(values), tmp_path).read(since)


def accounts_table() -> pa.Table:
    contact = pa.array(
        [
            {"email": "ana@example.com", "address": {"city": "Lyon", "zip": "69001"}},
            {"email": None, "address": {"city": "Graz", "zip": "8010"}},
            None,
        ],
        type=pa.struct(
            [
                ("email", pa.string()),
                ("address", pa.struct([("city", pa.string()), ("zip", pa.string())])),
            ]
        ),
    )
    utc = dt.UTC
    return pa.table(
        {
            "id": pa.array([1, 2, 3], type=pa.int32()),
            "contact": contact,
            "created": pa.array([dt.date(2020, 1, 31), dt.date(2021, 2, 1), None]),
            "updated": pa.array(
                [
                    dt.datetime(2024, 1, 1, 9, 0, tzinfo=utc),
                    dt.datetime(2024, 1, 2, 9, 30, 15, 250000, tzinfo=utc),
                    dt.datetime(2024, 1, 3, 0, 0, tzinfo=utc),
                ],
                type=pa.timestamp("us", tz="UTC"),
            ),
            "seen_local": pa.array(
                [dt.datetime(2024, 1, 1, 8, 0), None, None], type=pa.timestamp("ms")
            ),
            "balance": pa.array(
                [Decimal("10.50"), Decimal("-3.25"), None], type=pa.decimal128(10, 2)
            ),
            "tags": pa.array([["a", "b"], [], None], type=pa.list_(pa.string())),
            "tier": pa.array(["gold", "gold", "silver"]).dictionary_encode(),
            "big": pa.array([2**63 + 5, 1, None], type=pa.uint64()),
            "ratio": pa.array([0.5, None, 1.0], type=pa.float32()),
            "active": pa.array([True, False, None]),
            "blob": pa.array([b"\x00\x01", None, b"hi"]),
            "empty": pa.nulls(3),
        }
    )


def test_structs_become_dotted_columns(tmp_path: Path) -> None:
    result = read_parquet(tmp_path, accounts_table())

    assert "contact.email" in result.rows.column_names
    assert "contact.address.city" in result.rows.column_names
    assert "contact" not in result.rows.column_names
    assert result.rows.column("contact.address.city").to_pylist() == ["Lyon", "Graz", None]


CONVERSIONS = [
    ("id", pa.int64(), [1, 2, 3]),
    ("created", pa.string(), ["2020-01-31", "2021-02-01", None]),
    (
        "updated",
        pa.string(),
        [
            "2024-01-01T09:00:00+00:00",
            "2024-01-02T09:30:15.250000+00:00",
            "2024-01-03T00:00:00+00:00",
        ],
    ),
    ("seen_local", pa.string(), ["2024-01-01T08:00:00", None, None]),
    ("balance", pa.float64(), [10.5, -3.25, None]),
    ("tags", pa.string(), ['["a", "b"]', "[]", None]),
    ("tier", pa.string(), ["gold", "gold", "silver"]),
    ("big", pa.string(), [str(2**63 + 5), "1", None]),
    ("ratio", pa.float64(), [0.5, None, 1.0]),
    ("active", pa.bool_(), [True, False, None]),
    ("blob", pa.string(), ["AAE=", None, "aGk="]),
    ("empty", pa.string(), [None, None, None]),
]


@pytest.mark.parametrize(("column", "kind", "values"), CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
def test_types_become_plain(
    tmp_path: Path, column: str, kind: pa.DataType, values: list[object]
) -> None:
    rows = read_parquet(tmp_path, accounts_table()).rows

    assert rows.schema.field(column).type == kind
    assert rows.column(column).to_pylist() == values


def test_incremental_by_timestamp(tmp_path: Path) -> None:
    result = read_parquet(
        tmp_path, accounts_table(), since="2024-01-02T09:00:00+00:00", cursor="updated"
    )

    assert result.rows.column("id").to_pylist() == [2, 3]
    assert result.cursor == "2024-01-03T00:00:00+00:00"
    assert result.complete is False
    assert result.present_keys == {"1", "2", "3"}


def test_composite_key_with_struct_field(tmp_path: Path) -> None:
    result = read_parquet(tmp_path, accounts_table(), primary_key=["id", "contact.address.zip"])

    assert result.present_keys == {"1|69001", "2|8010"}
    assert [issue.location for issue in result.issues] == ["row 3"]


def test_not_parquet_is_error(tmp_path: Path) -> None:
    (tmp_path / "accounts.parquet").write_text("id,name\n1,Ann\n")
    source = ParquetSource.model_validate(
        {
            "kind": "parquet",
            "name": "warehouse",
            "path": "accounts.parquet",
            "primary_key": "id",
            "fields": {"email": "email"},
        }
    )

    with pytest.raises(SourceError, match=r"cannot read .*accounts\.parquet as Parquet"):
        open_reader(source, tmp_path).read(None)


DECIMALS = [
    (
        "scale 0 beyond int64",
        pa.decimal128(20, 0),
        [Decimal("12345678901234567890"), Decimal("12345678901234567891"), None],
        pa.string(),
        ["12345678901234567890", "12345678901234567891", None],
    ),
    (
        "scale 0 within int64",
        pa.decimal128(18, 0),
        [Decimal("999999999999999999"), Decimal("-1"), None],
        pa.int64(),
        [999999999999999999, -1, None],
    ),
    (
        "fraction beyond float64",
        pa.decimal128(20, 2),
        [Decimal("1234567890123456.78"), Decimal("0.10"), None],
        pa.string(),
        ["1234567890123456.78", "0.1", None],
    ),
    (
        "fraction within float64",
        pa.decimal128(10, 2),
        [Decimal("10.50"), Decimal("-3.25"), None],
        pa.float64(),
        [10.5, -3.25, None],
    ),
    (
        "decimal256 of 50 digits",
        pa.decimal256(50, 0),
        [Decimal("9" * 50), Decimal("1"), None],
        pa.string(),
        ["9" * 50, "1", None],
    ),
    ("nulls only", pa.decimal128(10, 2), [None, None, None], pa.float64(), [None, None, None]),
]


@pytest.mark.parametrize(
    ("label", "arrow_type", "values", "kind", "expected"), DECIMALS, ids=[d[0] for d in DECIMALS]
)
def test_decimals_keep_every_digit(
    tmp_path: Path,
    label: str,
    arrow_type: pa.DataType,
    values: list[Decimal | None],
    kind: pa.DataType,
    expected: list[object],
) -> None:
    table = pa.table({"id": [1, 2, 3], "amount": pa.array(values, type=arrow_type)})

    rows = read_parquet(tmp_path, table).rows

    assert rows.schema.field("amount").type == kind
    assert rows.column("amount").to_pylist() == expected


def test_wide_decimal_keys_stay_distinct(tmp_path: Path) -> None:
    keys = [Decimal("12345678901234567890"), Decimal("12345678901234567891")]
    table = pa.table({"id": pa.array(keys, type=pa.decimal128(20, 0)), "email": ["a@x", "b@x"]})

    result = read_parquet(tmp_path, table, fields={"email": "email"})

    assert result.issues == []
    assert result.present_keys == {"12345678901234567890", "12345678901234567891"}


def test_date_beyond_year_9999_is_value_issue(tmp_path: Path) -> None:
    table = pa.table(
        {
            "id": [1, 2, 3],
            "born": pa.array([0, 3_000_000, 2**31 - 1], type=pa.date32()),
            "seen": pa.array([0, None, 2**62], type=pa.timestamp("us", tz="UTC")),
        }
    )

    result = read_parquet(tmp_path, table, fields={"email": "born"})

    assert result.rows.column("born").to_pylist() == ["1970-01-01", "+10183-09-21", "infinity"]
    assert result.present_keys == {"1", "2", "3"}
    assert result.issues == []
    found = [(issue.key, issue.column, issue.value) for issue in result.value_issues]
    assert found == [
        ("2", "born", "+10183-09-21"),
        ("3", "born", "infinity"),
        ("3", "seen", "+148108-07-06T14:00:27.387904+00:00"),
    ]
    assert "'+10183-09-21' of column 'born'" in result.value_issues[0].reason
