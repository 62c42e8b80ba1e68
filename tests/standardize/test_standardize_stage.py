"""The standardize stage: columns in, cleaned columns, keys and issues out."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from accord.standardize.columns import clear_caches
from accord.standardize.config import FieldStandardizer, StandardizeConfig
from accord.standardize.stage import (
    FieldIssue,
    SourceContext,
    StandardizeResult,
    standardize_columns,
)

CONTEXT = SourceContext(source="crm", region=None, date_order=None)


def run(
    columns: dict[str, list[Any]],
    config: StandardizeConfig | None = None,
    context: SourceContext = CONTEXT,
) -> StandardizeResult:
    return standardize_columns(columns, config or StandardizeConfig(), context)


def issues_for(result: StandardizeResult, field: str) -> list[FieldIssue]:
    return [issue for issue in result.issues if issue.field == field]


def test_full_name_derives_empty_name_parts() -> None:
    result = run(
        {
            "full_name": ["Dr. Robert O'NEIL Jr.", "smith, liz"],
            "first_name": [None, "Elizabeth"],
        }
    )
    assert result.columns["first_name"] == ["Robert", "Elizabeth"]
    assert result.columns["last_name"] == ["O'Neil", "Smith"]
    assert result.columns["name_prefix"] == ["Dr", None]
    assert result.columns["name_suffix"] == ["Jr", None]
    assert result.columns["middle_name"] == [None, None]


def test_derived_name_parts_get_keys() -> None:
    result = run({"full_name": ["Bob Smith", "Peggy Olson"]})
    assert result.columns["first_name_key"] == ["bob", "peggy"]
    assert result.columns["first_name_nick_key"] == ["robert", "margaret"]
    assert result.columns["last_name_key"] == ["smith", "olson"]


def test_placeholder_name_part_gets_filled() -> None:
    result = run({"full_name": ["Ann Lee"], "first_name": ["N/A"]})
    assert result.columns["first_name"] == ["Ann"]


def test_invalid_name_part_is_not_overwritten() -> None:
    result = run({"full_name": ["Ann Lee"], "first_name": ["12345"]})
    assert result.columns["first_name"] == [None]
    assert len(issues_for(result, "first_name")) == 1


def test_address_derives_parts_and_country() -> None:
    result = run({"address": ["123 N. Main Street Apt 4B, Springfield, IL 62704-1234", None]})
    assert result.columns["street"] == ["123 N Main St", None]
    assert result.columns["street_key"] == ["123 n main st", None]
    assert result.columns["unit"] == ["Apt 4B", None]
    assert result.columns["city"] == ["Springfield", None]
    assert result.columns["region"] == ["IL", None]
    assert result.columns["postal_code"] == ["62704-1234", None]
    assert result.columns["postal_code_key"] == ["62704", None]
    assert result.columns["country"] == ["US", None]


def test_address_country_fills_only_empty_country() -> None:
    result = run(
        {
            "address": ["10 Downing Street, London SW1A 2AA, UK", "1 Main St, Boston, MA 02108"],
            "country": ["United Kingdom", None],
        }
    )
    assert result.columns["country"] == ["GB", "US"]
    assert result.columns["postal_code"] == ["SW1A 2AA", "02108"]


def test_invalid_derived_value_names_its_source() -> None:
    result = run({"address": ["123 Main St, Springfield, IL 6270X"]})
    [issue] = issues_for(result, "postal_code")
    assert issue.value == "6270X"
    assert "derived from address" in issue.reason


def test_street_unit_fills_empty_unit() -> None:
    result = run({"street": ["123 Main St Apt 4", "9 Elm St #2"], "unit": [None, "Suite 5"]})
    assert result.columns["street"] == ["123 Main St", "9 Elm St"]
    assert result.columns["unit"] == ["Apt 4", "Ste 5"]


def test_email_keys_and_company_domain() -> None:
    result = run(
        {
            "email": ["Rob.ONeil+news@GoogleMail.com", "info@acme.co.uk", "bob@mailinator.com"],
        }
    )
    assert result.columns["email"][0] == "Rob.ONeil+news@googlemail.com"
    assert result.columns["email_key"] == [
        "roboneil@gmail.com",
        "info@acme.co.uk",
        "bob@mailinator.com",
    ]
    assert result.columns["email_domain"] == ["gmail.com", "acme.co.uk", "mailinator.com"]
    assert result.columns["email_is_role"] == [False, True, True]
    assert result.columns["email_is_freemail"] == [True, False, False]
    assert result.columns["company_domain"] == [None, "acme.co.uk", None]


def test_email_domain_replaces_freemail_company_domain() -> None:
    result = run(
        {
            "email": ["jo@acme.com", "jo@gmail.com", "jo@acme.com"],
            "company_domain": ["gmail.com", "gmail.com", "https://www.globex.com/about"],
        }
    )
    assert result.columns["company_domain"] == ["acme.com", None, "globex.com"]
    assert result.columns["company_is_freemail"] == [False, True, False]


def test_phone_keys() -> None:
    result = run({"phone": ["(202) 555-0123 ext 89", "1-800-FLOWERS", 2025550199]})
    assert result.columns["phone"] == ["+12025550123", "+18003569377", "+12025550199"]
    assert result.columns["phone_key"] == ["12025550123", "18003569377", "12025550199"]
    assert result.columns["phone_ext"] == ["89", None, None]
    assert result.columns["phone_type"] == [
        "fixed_line_or_mobile",
        "toll_free",
        "fixed_line_or_mobile",
    ]


def test_source_region_reads_national_numbers() -> None:
    context = SourceContext(source="uk_shop", region="GB", date_order=None)
    result = run({"phone": ["020 7946 0958"]}, context=context)
    assert result.columns["phone"] == ["+442079460958"]


def test_default_region_reads_national_numbers() -> None:
    result = run({"phone": ["020 7946 0958"]}, StandardizeConfig(default_region="GB"))
    assert result.columns["phone"] == ["+442079460958"]


def test_record_country_reads_national_numbers_first() -> None:
    context = SourceContext(source="mixed", region="GB", date_order=None)
    result = run(
        {"phone": ["202 555 0123", "020 7946 0958"], "country": ["US", None]}, context=context
    )
    assert result.columns["phone"] == ["+12025550123", "+442079460958"]


def test_phone_invalid_for_region_issue() -> None:
    result = run({"phone": ["020 7946 0958"]})
    [issue] = result.issues
    assert issue.row == 0
    assert "not a valid number for region US" in issue.reason


def test_date_order_of_source() -> None:
    mdy = run({"signup_date": ["03/04/2020"]}, context=SourceContext("a", None, "MDY"))
    dmy = run({"signup_date": ["03/04/2020"]}, context=SourceContext("b", None, "DMY"))
    assert mdy.columns["signup_date"] == ["2020-03-04"]
    assert dmy.columns["signup_date"] == ["2020-04-03"]


def test_ambiguous_date_without_order_issue() -> None:
    result = run({"signup_date": ["2020-01-05", "03/04/2020"]})
    [issue] = result.issues
    assert issue.row == 1
    assert issue.field == "signup_date"
    assert issue.reason == "ambiguous date '03/04/2020': set date_order on the source"
    assert result.columns["signup_date"] == ["2020-01-05", None]


def test_birth_date_checks() -> None:
    result = run({"birth_date": ["1850-01-01", "2999-01-01", dt.date(1980, 5, 6)]})
    assert result.columns["birth_date"] == [None, None, "1980-05-06"]
    assert [issue.row for issue in result.issues] == [0, 1]


def test_birth_kind_on_other_date_field() -> None:
    config = StandardizeConfig(fields={"dob": FieldStandardizer(standardizer="date", kind="birth")})
    result = run({"dob": ["1850-01-01"]}, config)
    assert "before 1900" in result.issues[0].reason


def test_timestamps() -> None:
    moment = dt.datetime(2020, 3, 4, 10, 15, tzinfo=dt.UTC)
    result = run({"updated_at": [moment, "2020-03-04 10:15", 1583280000, None]})
    assert result.columns["updated_at"] == [
        "2020-03-04T10:15:00+00:00",
        "2020-03-04T10:15:00",
        "2020-03-04T00:00:00+00:00",
        None,
    ]


def test_issue_rows_values_and_quarantine() -> None:
    config = StandardizeConfig(
        fields={"email": FieldStandardizer(standardizer="email", on_invalid="quarantine")}
    )
    long_value = "x" * 300
    result = run(
        {"email": ["ok@acme.com", "not-an-email", long_value], "country": ["US", "Narnia", None]},
        config,
    )
    email_issues = issues_for(result, "email")
    country_issues = issues_for(result, "country")
    assert [issue.row for issue in email_issues] == [1, 2]
    assert all(issue.quarantine for issue in email_issues)
    assert email_issues[0].reason == "invalid email 'not-an-email': missing '@'"
    assert len(email_issues[1].value) == 200
    assert [issue.row for issue in country_issues] == [1]
    assert not country_issues[0].quarantine


def test_placeholders_are_missing_without_issue() -> None:
    result = run(
        {
            "email": ["N/A", "test@test.com", "-", "?", ""],
            "phone": ["000-000-0000", "unknown", None, "null", "asdf"],
        }
    )
    assert result.columns["email"] == [None] * 5
    assert result.columns["phone"] == [None] * 5
    assert result.issues == []


def test_configured_placeholders_replace_builtin_list() -> None:
    config = StandardizeConfig(placeholders=["TBD"])
    result = run({"plan": ["TBD", "unknown"]}, config)
    assert result.columns["plan"] == [None, "unknown"]


def test_extra_placeholders_extend_builtin_list() -> None:
    config = StandardizeConfig(extra_placeholders=["no plan"])
    result = run({"plan": ["No Plan", "unknown", "Pro"]}, config)
    assert result.columns["plan"] == [None, None, "Pro"]


def test_other_fields_hygiene_or_pass_through() -> None:
    result = run(
        {
            "lifecycle_stage": ["  customer\u200b ", "lead"],
            "open_tickets": [3, None],
            "mrr": [9.5, float("nan")],
            "marketing_opt_out": [True, False],
        }
    )
    assert result.columns["lifecycle_stage"] == ["customer", "lead"]
    assert result.columns["open_tickets"] == [3, None]
    assert result.columns["mrr"] == [9.5, None]
    assert result.columns["marketing_opt_out"] == [True, False]


def test_none_standardizer_keeps_values() -> None:
    config = StandardizeConfig(fields={"notes": FieldStandardizer(standardizer="none")})
    result = run({"notes": ["  N/A  ", dt.date(2020, 1, 2)]}, config)
    assert result.columns["notes"] == ["  N/A  ", "2020-01-02"]


def test_custom_field_keys_named_after_it() -> None:
    config = StandardizeConfig(fields={"billing_email": FieldStandardizer(standardizer="email")})
    result = run({"billing_email": ["A@Acme.com"]}, config)
    assert result.columns["billing_email_key"] == ["a@acme.com"]


def test_company_name_key() -> None:
    result = run({"company_name": ["The Acme Company, Inc.", "ACME LLC", None]})
    assert result.columns["company_name_key"] == ["acme", "acme", None]


def test_region_postal_code_use_row_country() -> None:
    result = run(
        {
            "region": ["Ontario", "calif.", "Bayern"],
            "postal_code": ["k1a0b1", "2134", "80331"],
            "country": ["Canada", "USA", "Deutschland"],
        }
    )
    assert result.columns["region"] == ["ON", "CA", "BY"]
    assert result.columns["postal_code"] == ["K1A 0B1", "02134", "80331"]


def test_values_of_mixed_types_stay_apart() -> None:
    result = run({"plan": [1, True, 1.0, "1"]})
    assert result.columns["plan"] == [1, True, 1.0, "1"]
    assert [type(value) for value in result.columns["plan"]] == [int, bool, float, str]


def test_output_is_json_serializable() -> None:
    result = run(
        {
            "full_name": ["Ann Lee"],
            "birth_date": [dt.date(1980, 1, 2)],
            "updated_at": [dt.datetime(2020, 1, 2, 3, 4)],
            "custom": [dt.date(2020, 1, 1)],
        }
    )
    assert json.loads(json.dumps(result.columns))["birth_date"] == ["1980-01-02"]


def test_all_columns_have_input_length() -> None:
    result = run({"full_name": ["Ann Lee", None, "Bob"], "email": ["a@b.com", None, None]})
    assert {len(values) for values in result.columns.values()} == {3}


def test_input_fields_keep_input_order() -> None:
    result = run({"plan": ["Pro"], "email": ["a@acme.com"], "country": ["US"]})
    assert list(result.columns)[:3] == ["plan", "email", "country"]


def test_unequal_column_lengths_are_rejected() -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        run({"email": ["a@b.com"], "phone": []})


def test_empty_batch() -> None:
    result = run({"email": []})
    assert result.columns["email"] == []
    assert result.columns["email_key"] == []


def test_repeated_calls_give_same_results() -> None:
    clear_caches()
    columns = {"city": ["SAN FRANCISCO", "austin"], "company_name": ["Acme Inc", "Globex"]}
    first = run(columns)
    second = run(columns)
    assert first.columns == second.columns
