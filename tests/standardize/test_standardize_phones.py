"""Phone numbers: E.164, extensions, line types and placeholders."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.standardize.phones import parse_nanp, phone_text, standardize_phone
from accord.standardize.text import clean_text

# (input, regions, display, key, extension, type)
VALID_CASES = [
    ("(202) 555-0123", ("US",), "+12025550123", "12025550123", None, "fixed_line_or_mobile"),
    ("202-555-0123", ("US",), "+12025550123", "12025550123", None, "fixed_line_or_mobile"),
    ("202.555.0123", ("US",), "+12025550123", "12025550123", None, "fixed_line_or_mobile"),
    ("2025550123", ("US",), "+12025550123", "12025550123", None, "fixed_line_or_mobile"),
    ("1-202-555-0123", ("US",), "+12025550123", "12025550123", None, "fixed_line_or_mobile"),
    ("+1 202.555.0199", ("US",), "+12025550199", "12025550199", None, "fixed_line_or_mobile"),
    ("+1 (415) 555-2671", ("GB",), "+14155552671", "14155552671", None, "fixed_line_or_mobile"),
    ("202 5550123 ext 89", ("US",), "+12025550123", "12025550123", "89", "fixed_line_or_mobile"),
    ("202-555-0123 x123", ("US",), "+12025550123", "12025550123", "123", "fixed_line_or_mobile"),
    (
        "202-555-0123 extension 7",
        ("US",),
        "+12025550123",
        "12025550123",
        "7",
        "fixed_line_or_mobile",
    ),
    ("00 44 20 7946 0958", ("US",), "+442079460958", "442079460958", None, "fixed_line"),
    ("+44 20 7946 0958", ("US",), "+442079460958", "442079460958", None, "fixed_line"),
    ("020 7946 0958", ("GB",), "+442079460958", "442079460958", None, "fixed_line"),
    ("020 7946 0958", ("US", "GB"), "+442079460958", "442079460958", None, "fixed_line"),
    ("07911 123456", ("GB",), "+447911123456", "447911123456", None, "mobile"),
    ("1-800-FLOWERS", ("US",), "+18003569377", "18003569377", None, "toll_free"),
    ("1 (800) 356-9377", ("US",), "+18003569377", "18003569377", None, "toll_free"),
    ("+49 30 901820", ("US",), "+4930901820", "4930901820", None, "fixed_line"),
    ("030 901820", ("DE",), "+4930901820", "4930901820", None, "fixed_line"),
    ("+33 1 42 68 53 00", ("US",), "+33142685300", "33142685300", None, "fixed_line"),
    ("+61 2 9374 4000", ("US",), "+61293744000", "61293744000", None, "fixed_line"),
    ("(416) 555-0199", ("CA",), "+14165550199", "14165550199", None, "fixed_line_or_mobile"),
    (
        "202\u2013555\u20130123",
        ("US",),
        "+12025550123",
        "12025550123",
        None,
        "fixed_line_or_mobile",
    ),
    (
        "\uff12\uff10\uff12 555 0123",
        ("US",),
        "+12025550123",
        "12025550123",
        None,
        "fixed_line_or_mobile",
    ),
    ("tel: +1-202-555-0123", ("US",), "+12025550123", "12025550123", None, "fixed_line_or_mobile"),
]


@pytest.mark.parametrize(("text", "regions", "display", "key", "ext", "line_type"), VALID_CASES)
def test_valid_phone_cases(
    text: str,
    regions: tuple[str, ...],
    display: str,
    key: str,
    ext: str | None,
    line_type: str,
) -> None:
    outcome = standardize_phone(clean_text(text), regions)
    assert outcome.value == display
    assert outcome.keys[0] == key
    assert outcome.keys[1] == ext
    assert outcome.keys[2] == line_type


INVALID_CASES = [
    ("000-000-0000", "every digit is the same"),
    ("(555) 555-5555", "every digit is the same"),
    ("1234567890", "counting digits"),
    ("123-456-7890", "counting digits"),
    ("(123) 555-0123", "not a valid number"),
    ("(555) 123-4567", "not a valid number for region US"),
    ("07700 900123", "not a valid number"),
    ("12", "not a valid number"),
    ("abc", "not a phone number"),
    ("+999 123 4567", "unknown country calling code"),
    ("", "not a phone number"),
    ("+1 202 555 01234567", "not a valid number"),
]


@pytest.mark.parametrize(("text", "reason_part"), INVALID_CASES)
def test_invalid_phone_cases(text: str, reason_part: str) -> None:
    outcome = standardize_phone(clean_text(text), ("US",))
    assert outcome.value is None
    assert reason_part in str(outcome.reason)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(2025550123, "2025550123"), (2025550123.0, "2025550123"), (True, None), (1.5, None)],
)
def test_phone_text_of_numbers(value: object, expected: str | None) -> None:
    assert phone_text(value) == expected


NANP_FORMATS = st.sampled_from(
    [
        "({a}) {b}-{c}",
        "{a}-{b}-{c}",
        "+1 {a}.{b}.{c}",
        "{a}{b}{c}",
        "1-{a}-{b}-{c}",
        "1{a}{b}{c}",
        "+1{a}{b}{c}",
        "1 ({a}) {b} {c}",
        "{a} {b} {c} ext 89",
        "{a}-{b}-{c} x123",
        "({a}) {b}-{c} Ext. 7",
        "+1 {a} {b} {c} extension 4567",
        "{a}{b}{c}x1",
        "{a}-{b}-{c} ext 1234567",
    ]
)
DIGITS_3 = st.integers(min_value=0, max_value=999).map("{:03d}".format)
DIGITS_4 = st.integers(min_value=0, max_value=9999).map("{:04d}".format)


@given(NANP_FORMATS, DIGITS_3, DIGITS_3, DIGITS_4, st.sampled_from(["US", "CA", "GB", "DE"]))
def test_nanp_shortcut_matches_phonenumbers_parse(
    form: str, area: str, exchange: str, line: str, region: str
) -> None:
    text = form.format(a=area, b=exchange, c=line)
    fast = parse_nanp(text, region)
    if fast is not None:
        slow = phonenumbers.parse(text, region)
        assert fast.country_code == slow.country_code
        assert fast.national_number == slow.national_number
        assert fast.extension == slow.extension


@given(DIGITS_3, DIGITS_3, DIGITS_4)
def test_validity_matches_is_valid_number(area: str, exchange: str, line: str) -> None:
    text = f"+1 {area} {exchange} {line}"
    outcome = standardize_phone(text, ("US",))
    number = phonenumbers.parse(text, "US")
    placeholder = "placeholder" in str(outcome.reason)
    if not placeholder:
        assert (outcome.value is not None) == phonenumbers.is_valid_number(number)


@given(st.text())
def test_phone_never_raises(text: str) -> None:
    standardize_phone(clean_text(text), ("US", "GB"))


@given(st.text())
def test_phone_is_idempotent_on_any_text(text: str) -> None:
    first = standardize_phone(clean_text(text), ("US",))
    if first.value is not None:
        again = standardize_phone(str(first.value), ("US",))
        assert again.value == first.value
        assert again.keys[0] == first.keys[0]


@given(NANP_FORMATS, DIGITS_3, DIGITS_3, DIGITS_4)
def test_phone_is_idempotent_on_numbers(form: str, area: str, exchange: str, line: str) -> None:
    first = standardize_phone(form.format(a=area, b=exchange, c=line), ("US",))
    if first.value is not None:
        again = standardize_phone(str(first.value), ("US",))
        assert again.value == first.value
        assert again.keys[0] == first.keys[0]
        assert again.keys[2] == first.keys[2]
