"""Field mapping: renames, derivations, casts and value maps."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from accord.config.models import CsvSource
from accord.errors import SourceError
from accord.ingest import raw_json
from accord.mapping import CastError, cast_boolean, cast_float, cast_integer, map_batch


def make_source(fields: dict[str, Any]) -> CsvSource:
    return CsvSource.model_validate(
        {"name": "s", "kind": "csv", "path": "x.csv", "primary_key": "id", "fields": fields}
    )


ROWS = pa.table({
    "id": ["1", "2", "3"],
    "first": ["Ada", None, "Alan"],
    "last": ["Lovelace", "Hopper", None],
    "full": ["Ada Lovelace", "Grace Brewster Hopper", "Turing"],
    "status": ["Closed Won", "closed won ", "Churned"],
    "amount": ["$1,200.50", "abc", "7"],
})


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ("first", ["Ada", None, "Alan"]),
        ({"from": "first"}, ["Ada", None, "Alan"]),
        ({"concat": ["first", "last"]}, ["Ada Lovelace", "Hopper", "Alan"]),
        ({"concat": ["first", "last"], "separator": "|"}, ["Ada|Lovelace", "Hopper", "Alan"]),
        ({"split": {"from": "full", "index": 0}}, ["Ada", "Grace", "Turing"]),
        ({"split": {"from": "full", "index": -1}}, ["Lovelace", "Hopper", "Turing"]),
        ({"split": {"from": "full", "index": 5}}, [None, None, None]),
        ({"constant": "AU"}, ["AU", "AU", "AU"]),
        ({"expr": "upper(\"last\")"}, ["LOVELACE", "HOPPER", None]),
        ({"expr": "coalesce(\"first\", 'unknown')"}, ["Ada", "unknown", "Alan"]),
    ],
)
def test_derivations(mapping: Any, expected: list[Any]) -> None:
    result = map_batch(make_source({"plan": mapping}), ROWS)
    assert result.columns["plan"] == expected
    assert result.issues == []


def test_value_map_folds_case_and_space() -> None:
    mapping = {"from": "status", "values": {"Closed Won": "customer", "Churned": "churned"}}
    result = map_batch(make_source({"lifecycle_stage": mapping}), ROWS)
    assert result.columns["lifecycle_stage"] == ["customer", "customer", "churned"]


@pytest.mark.parametrize(
    ("unmapped", "expected", "issues"),
    [
        ("quarantine", ["customer", "customer", None], 1),
        ("pass", ["customer", "customer", "Churned"], 0),
        ("null", ["customer", "customer", None], 0),
    ],
)
def test_unmapped_value(unmapped: str, expected: list[Any], issues: int) -> None:
    mapping = {"from": "status", "values": {"Closed Won": "customer"}, "unmapped": unmapped}
    result = map_batch(make_source({"lifecycle_stage": mapping}), ROWS)
    assert result.columns["lifecycle_stage"] == expected
    assert len(result.issues) == issues


def test_failed_cast_is_an_issue_with_row() -> None:
    result = map_batch(make_source({"mrr": {"from": "amount", "cast": "float"}}), ROWS)
    assert result.columns["mrr"] == [1200.5, None, 7.0]
    assert [(i.row, i.rule, i.value) for i in result.issues] == [(1, "cast", "abc")]


def test_failed_cast_to_null_is_silent() -> None:
    mapping = {"from": "amount", "cast": "float", "on_cast_error": "null"}
    result = map_batch(make_source({"mrr": mapping}), ROWS)
    assert result.issues == []


def test_missing_column_names_source_and_columns() -> None:
    with pytest.raises(SourceError) as caught:
        map_batch(make_source({"email": "mail"}), ROWS)
    message = str(caught.value)
    assert "'mail'" in message
    assert "source 's'" in message
    assert "first" in message


@pytest.mark.parametrize(
    ("expression", "phrase"),
    [
        ("no_such_function(first)", "no_such_function does not exist"),
        ("first + 1", "No function matches"),
        ("missing_column", "missing_column"),
    ],
)
def test_expression_failing_everywhere_raises(expression: str, phrase: str) -> None:
    source = make_source({"email": "first", "plan": {"expr": expression}})

    with pytest.raises(SourceError) as caught:
        map_batch(source, ROWS)

    message = str(caught.value)
    assert "source 's'" in message
    assert f"the mapping of 'plan' (expression {expression!r}) failed to evaluate" in message
    assert phrase in message


AGES = pa.table({
    "id": [str(number) for number in range(9)],
    "age": ["41", "forty-one", None, "7", "x", "8", "9", "10", "1e99"],
    "email": [f"p{number}@example.org" for number in range(9)],
})


@pytest.mark.parametrize(
    ("expression", "expected", "bad_rows"),
    [
        (
            "CAST(age AS INTEGER)",
            [41, None, None, 7, None, 8, 9, 10, None],
            [(1, '{"age":"forty-one"}'), (4, '{"age":"x"}'), (8, '{"age":"1e99"}')],
        ),
        (
            "CAST(age AS INTEGER) + CAST(id AS INTEGER)",
            [41, None, None, 10, None, 13, 15, 17, None],
            [
                (1, '{"id":"1","age":"forty-one"}'),
                (4, '{"id":"4","age":"x"}'),
                (8, '{"id":"8","age":"1e99"}'),
            ],
        ),
        ("TRY_CAST(age AS INTEGER)", [41, None, None, 7, None, 8, 9, 10, None], []),
    ],
)
def test_expression_failing_on_rows_is_issue(
    expression: str, expected: list[Any], bad_rows: list[tuple[int, str]]
) -> None:
    source = make_source({"email": "email", "age": {"expr": expression}})

    result = map_batch(source, AGES)

    assert result.columns["age"] == expected
    assert result.columns["email"] == AGES.column("email").to_pylist()
    assert [(issue.row, issue.value) for issue in result.issues] == bad_rows
    assert {issue.rule for issue in result.issues} <= {"expression"}
    assert {issue.field for issue in result.issues} <= {"age"}
    for issue in result.issues:
        assert issue.reason.startswith(f"the mapping of 'age' (expression {expression!r})")
        assert "Could not convert string" in issue.reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [("12", 12), ("12.0", 12), ("1,200", 1200), (" 7 ", 7), (3.0, 3), (True, 1), ("-4", -4)],
)
def test_cast_integer(value: Any, expected: int) -> None:
    assert cast_integer(value) == expected


@pytest.mark.parametrize(
    ("value", "phrase"),
    [
        ("12.5", "fraction"),
        ("abc", "to integer"),
        ("", "to integer"),
        ("1.2.3", "to integer"),
        ("nan", "to integer"),
        ("inf", "to integer"),
        (2**63, "64-bit range"),
        (-(2**63) - 1, "64-bit range"),
        ("18446744073709551616", "64-bit range"),
    ],
)
def test_cast_integer_rejects(value: Any, phrase: str) -> None:
    with pytest.raises(CastError, match=phrase):
        cast_integer(value)


def test_cast_integer_keeps_64_bit_limits() -> None:
    assert cast_integer(2**63 - 1) == 2**63 - 1
    assert cast_integer(-(2**63)) == -(2**63)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("$1,234.50", 1234.5), ("€ 12", 12.0), ("1e3", 1000.0), ("-0.5", -0.5), (5, 5.0)],
)
def test_cast_float(value: Any, expected: float) -> None:
    assert cast_float(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", True), ("NO", False), ("1", True), ("0", False), ("t", True), ("Off", False)],
)
def test_cast_boolean(value: str, expected: bool) -> None:
    assert cast_boolean(value) is expected


def test_cast_boolean_rejects_other_words() -> None:
    with pytest.raises(CastError, match="true/false"):
        cast_boolean("maybe")


CASE_ROWS = pa.table({
    "id": ["1"],
    "email": ["ann@example.org"],
    "EMAIL": ["ANN@WORK.EXAMPLE"],
    "Email": ["a.b@home.example"],
})


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ("email", "ann@example.org"),
        ("EMAIL", "ANN@WORK.EXAMPLE"),
        ("Email", "a.b@home.example"),
        ({"concat": ["EMAIL", "email"], "separator": " "}, "ANN@WORK.EXAMPLE ann@example.org"),
        ({"split": {"from": "Email", "separator": "@", "index": 0}}, "a.b"),
    ],
)
def test_case_clashing_columns_keep_values(mapping: Any, expected: str) -> None:
    result = map_batch(make_source({"value": mapping}), CASE_ROWS)
    assert result.columns["value"] == [expected]


@pytest.mark.parametrize(
    "other",
    ["__accord_column_1", "__accord_column_0", "__ACCORD_COLUMN_2", "___accord_column_1"],
)
def test_case_clash_names_avoid_real_columns(other: str) -> None:
    rows = pa.table({
        "id": ["1"],
        "email": ["ann@example.org"],
        "EMAIL": ["ANN@WORK.EXAMPLE"],
        other: ["Ann Lee"],
    })
    source = make_source({"email": "email", "phone": "EMAIL", "full_name": other})

    result = map_batch(source, rows)

    assert result.columns["email"] == ["ann@example.org"]
    assert result.columns["phone"] == ["ANN@WORK.EXAMPLE"]
    assert result.columns["full_name"] == ["Ann Lee"]


def test_expression_on_case_clash_raises() -> None:
    with pytest.raises(SourceError) as caught:
        map_batch(make_source({"value": {"expr": "lower(EMAIL)"}}), CASE_ROWS)
    message = str(caught.value)
    assert "'EMAIL', 'Email', 'email'" in message
    assert "differ only in case" in message


def test_expression_beside_case_clashes_runs() -> None:
    result = map_batch(make_source({"value": {"expr": "id || '!'"}}), CASE_ROWS)
    assert result.columns["value"] == ["1!"]


CLASH_ROWS = pa.table({
    "id": ["1"],
    "ID": ["2"],
    "date": ["2024-03-01"],
    "Date": ["2024-03-02"],
    "org.id": ["O7"],
    "note": ["no email"],
})


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("CASE WHEN note = 'id' THEN 'x' ELSE note END", "no email"),
        ("CAST('2024-01-05' AS DATE)", "2024-01-05"),
        ('"org.id" || \'-\' || note', "O7-no email"),
    ],
)
def test_expression_not_reading_clashes_runs(expression: str, expected: str) -> None:
    result = map_batch(make_source({"value": {"expr": expression}}), CLASH_ROWS)
    assert result.columns["value"] == [expected]


@pytest.mark.parametrize(
    "expression",
    [
        "upper(id)",
        'lower("ID")',
        "CAST(date AS DATE)",
        "batch.Date",
        "list_transform([1], lambda id: id + 1)",
        "lower(id",
    ],
)
def test_expression_reading_clashes_raises(expression: str) -> None:
    with pytest.raises(SourceError, match="differ only in case"):
        map_batch(make_source({"value": {"expr": expression}}), CLASH_ROWS)


def test_expression_naming_longer_column_runs() -> None:
    rows = pa.table({"id": ["1"], "ID": ["2"], "valid": ["yes"], "id_card": ["X9"]})
    result = map_batch(make_source({"value": {"expr": "valid || id_card"}}), rows)
    assert result.columns["value"] == ["yesX9"]


def test_raw_keeps_case_clashing_columns() -> None:
    assert raw_json(CASE_ROWS).to_pylist() == [
        '{"id":"1","email":"ann@example.org","EMAIL":"ANN@WORK.EXAMPLE","Email":"a.b@home.example"}'
    ]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("DATE '2024-01-02'", "2024-01-02"),
        ("TIMESTAMP '2024-01-02 03:04:05'", "2024-01-02T03:04:05"),
        ("TIME '03:04:05'", "03:04:05"),
        ("TIMESTAMPTZ '1985-07-14 20:00:00+00'", "1985-07-14T20:00:00+00:00"),
        ("1.5::DECIMAL(4, 2)", 1.5),
        ("4915112345678::DECIMAL(15, 0)", 4915112345678),
        ("12345678901234567891::DECIMAL(20, 0)", "12345678901234567891"),
        ("1234567890123456.78::DECIMAL(20, 2)", "1234567890123456.78"),
        ("5::HUGEINT", 5),
        ("12345678901234567891::HUGEINT", "12345678901234567891"),
        ("(-170141183460469231731687303715884105728)::HUGEINT", str(-(2**127))),
        ("340282366920938463463374607431768211455::UHUGEINT", str(2**128 - 1)),
        ("18446744073709551615::UBIGINT", "18446744073709551615"),
        ("-5::BIGNUM", -5),
        ("'1" + "0" * 40 + "'::BIGNUM", "1" + "0" * 40),
        ("INTERVAL '1 year 2 months 3 days 04:05:06.5'", "P1Y2M3DT4H5M6.5S"),
        ("INTERVAL '-1 year -2 months 3 days -04:05:06'", "P-1Y-2M3DT-4H-5M-6S"),
        ("INTERVAL '0 seconds'", "PT0S"),
        ("'0101'::BIT", "0101"),
        ("'03:04:05+02'::TIMETZ", "03:04:05+02:00"),
        ("'03:04:05.25-03:30'::TIMETZ", "03:04:05.25-03:30"),
        ("'24:00:00+00'::TIMETZ", "24:00:00+00:00"),
        ("'3f1c6a2e-1d2b-4c3d-8e9f-001122334455'::UUID", "3f1c6a2e-1d2b-4c3d-8e9f-001122334455"),
        ("7::TINYINT", 7),
        ("2.5::REAL", 2.5),
        ("NULL", None),
    ],
)
def test_typed_expressions_give_plain_values(expression: str, expected: Any) -> None:
    result = map_batch(make_source({"value": {"expr": expression}}), ROWS.slice(0, 1))
    assert result.columns["value"] == [expected]
    assert type(result.columns["value"][0]) is type(expected)
    assert result.issues == []


OUT_OF_RANGE = [
    ("CASE WHEN id = '1' THEN 'infinity'::DATE ELSE DATE '2024-01-02' END", "infinity"),
    ("CASE WHEN id = '1' THEN '-infinity'::TIMESTAMP END", "-infinity"),
    (
        "CASE WHEN id = '1' THEN TIMESTAMPTZ '10183-01-01 10:00:00+00' END",
        "+10183-01-01T10:00:00+00:00",
    ),
]


@pytest.mark.parametrize(("expression", "text"), OUT_OF_RANGE)
def test_date_beyond_python_range_is_issue(expression: str, text: str) -> None:
    result = map_batch(make_source({"seen": {"expr": expression}}), ROWS.slice(0, 2))

    assert result.columns["seen"][0] is None
    assert [(i.row, i.field, i.value, i.rule) for i in result.issues] == [
        (0, "seen", text, "out_of_range")
    ]
    assert result.issues[0].reason.startswith(f"the mapping of 'seen' gives '{text}'")


DATE_CASTS = [
    ("date", "2024-03-15", "2024-03-15"),
    ("date", "03/15/2024", "2024-03-15"),
    ("date", "15 March 2024", "2024-03-15"),
    ("date", "20240315", "2024-03-15"),
    ("date", "2024-03-15T10:30:00Z", "2024-03-15"),
    ("timestamp", "2024-03-15 10:30", "2024-03-15T10:30:00"),
    ("timestamp", "2024-03-15T10:30:00+02:00", "2024-03-15T08:30:00+00:00"),
    ("timestamp", "03/15/2024", "2024-03-15T00:00:00"),
]


@pytest.mark.parametrize(("cast", "value", "expected"), DATE_CASTS)
def test_date_cast_converts_extra_field(cast: str, value: str, expected: str) -> None:
    source = CsvSource.model_validate({
        "name": "s",
        "kind": "csv",
        "path": "x.csv",
        "primary_key": "id",
        "date_order": "MDY",
        "fields": {"renewal": {"from": "value", "cast": cast}},
    })

    result = map_batch(source, pa.table({"id": ["1"], "value": [value]}))

    assert result.columns["renewal"] == [expected]
    assert result.issues == []


@pytest.mark.parametrize(
    ("cast", "value", "phrase"),
    [
        ("date", "soon", "cannot cast 'soon' to date"),
        ("date", "2024-02-30", "day 30 is out of range for February 2024"),
        ("date", "03/04/2024", "ambiguous"),
        ("timestamp", "yesterday at noon", "cannot cast 'yesterday at noon' to timestamp"),
        ("timestamp", "2024-03-15 25:00", "to timestamp"),
    ],
)
def test_date_cast_failure_is_issue(cast: str, value: str, phrase: str) -> None:
    source = make_source({"renewal": {"from": "first", "cast": cast}})
    rows = pa.table({"id": ["1", "2"], "first": [value, None]})

    result = map_batch(source, rows)

    assert result.columns["renewal"] == [None, None]
    assert [(issue.row, issue.rule, issue.value) for issue in result.issues] == [
        (0, "cast", value)
    ]
    assert phrase in result.issues[0].reason


def test_date_cast_failure_to_null_is_silent() -> None:
    source = make_source({"renewal": {"from": "first", "cast": "date", "on_cast_error": "null"}})

    result = map_batch(source, pa.table({"id": ["1"], "first": ["soon"]}))

    assert result.columns["renewal"] == [None]
    assert result.issues == []


def test_birth_date_cast_reads_two_digit_year_as_past() -> None:
    source = CsvSource.model_validate({
        "name": "s",
        "kind": "csv",
        "path": "x.csv",
        "primary_key": "id",
        "date_order": "DMY",
        "fields": {"birth_date": {"from": "born", "cast": "date"}},
    })

    result = map_batch(source, pa.table({"id": ["1"], "born": ["15/03/46"]}))

    assert result.columns["birth_date"] == ["1946-03-15"]


def test_not_finite_floats_are_nulled_and_counted(caplog: pytest.LogCaptureFixture) -> None:
    expression = "CASE WHEN id = '1' THEN 'NaN'::DOUBLE WHEN id = '2' THEN 'inf'::DOUBLE END"
    source = make_source({"plan": {"expr": expression}, "amount": "amount"})

    with caplog.at_level("WARNING", logger="accord.mapping"):
        result = map_batch(source, ROWS)

    assert result.columns["plan"] == [None, None, None]
    assert result.issues == []
    messages = [record.getMessage() for record in caplog.records]
    assert messages == ["source s: 2 NaN or infinite values of field 'plan' stored as null"]


def test_not_finite_float_cast_stays_issue() -> None:
    source = make_source({"plan": {"expr": "'NaN'::DOUBLE", "cast": "float"}})

    result = map_batch(source, ROWS.slice(0, 1))

    assert result.columns["plan"] == [None]
    assert [(issue.rule, issue.value) for issue in result.issues] == [("cast", "nan")]


@pytest.mark.parametrize("column", ["b", "B", "accord_row", "batch"])
def test_raw_json_of_column_named_like_alias(column: str) -> None:
    rows = pa.table({"id": ["1"], column: ["x"]})
    assert raw_json(rows).to_pylist() == [f'{{"id":"1","{column}":"x"}}']


@pytest.mark.parametrize(
    ("expression", "tags", "phrase"),
    [
        ("unnest(string_split(tags, ';'))", ["vip;gold", ""], "returned 3 rows for 2 records"),
        ("unnest(string_split(tags, ';'))", ["a;b", None, "c"], "returned 3 rows for 3 records"),
        ("count(*)", ["vip", ""], "aggregate function"),
        ("max(id)", ["vip", ""], "aggregate function"),
        (
            "unnest(string_split(tags, ';')) || CAST(id AS INTEGER)",
            ["a;b", "", "c", "d"],
            "rows for",
        ),
        ("row_number() OVER (ORDER BY tags DESC)", ["a", "b"], "window functions"),
        ("count(*) OVER ()", ["a", "b"], "window functions"),
        ("(SELECT string_agg(tags, ',') FROM batch)", ["a", "b"], "subqueries"),
        ("-- only a comment", ["a", "b"], "it is empty"),
    ],
)
def test_expression_reading_other_records_raises(
    expression: str, tags: list[str | None], phrase: str
) -> None:
    ids = [str(number) for number in range(len(tags) - 1)] + ["x"]
    rows = pa.table({"id": ids, "tags": tags})
    with pytest.raises(SourceError, match=phrase) as caught:
        map_batch(make_source({"value": {"expr": expression}}), rows)
    assert "'value'" in str(caught.value)


def test_expression_giving_several_columns_raises() -> None:
    rows = pa.table({"id": ["1"], "tags": ["vip"]})
    with pytest.raises(SourceError, match="gave 2 columns for 1 fields"):
        map_batch(make_source({"value": {"expr": "upper(COLUMNS(*))"}}), rows)


def test_expression_unpacking_star_maps() -> None:
    rows = pa.table({"id": ["1"], "tags": ["vip"]})
    result = map_batch(make_source({"value": {"expr": "concat_ws('-', *COLUMNS(*))"}}), rows)
    assert result.columns["value"] == ["1-vip"]
