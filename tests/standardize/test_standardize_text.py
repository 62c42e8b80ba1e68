"""Text hygiene, placeholders, folding and the text and city standardizers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.standardize.text import (
    DEFAULT_PLACEHOLDERS,
    clean_text,
    fold,
    is_placeholder,
    placeholder_set,
    standardize_city,
    standardize_text,
)

HYGIENE_CASES = [
    ("plain", "plain"),
    ("  padded  ", "padded"),
    ("inner    spaces", "inner spaces"),
    ("tab\tand\nnewline", "tab and newline"),
    ("no\u00a0break\u00a0space", "no break space"),
    ("zero\u200bwidth", "zerowidth"),
    ("joiner\u200d\u200c", "joiner"),
    ("\ufeffbyte order mark", "byte order mark"),
    ("soft\u00adhyphen", "softhyphen"),
    ("bell\x07char", "bellchar"),
    ("null\x00byte", "nullbyte"),
    ("c1\x85control", "c1control"),
    ("\u2018single\u2019", "'single'"),
    ("\u201cdouble\u201d", '"double"'),
    ("O\u2019Neil", "O'Neil"),
    ("prime\u2032", "prime'"),
    ("e\u0301", "\u00e9"),
    ("\u212bngstr\u00f6m", "\u00c5ngstr\u00f6m"),
    ("rtl\u202eoverride", "rtloverride"),
    ("\u2066isolate\u2069", "isolate"),
    ("ideographic\u3000space", "ideographic space"),
    ("", ""),
    ("   ", ""),
    ("\u200b", ""),
    ("\r\n", ""),
    ("line\u2028separator", "line separator"),
    ("em\u2003space", "em space"),
]


@pytest.mark.parametrize(("raw", "expected"), HYGIENE_CASES)
def test_clean_text_cases(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


PLACEHOLDER_CASES = [
    ("N/A", True),
    ("n/a", True),
    ("#N/A", True),
    ("None", True),
    ("NULL", True),
    ("(null)", True),
    ("-", True),
    ("--", True),
    ("...", True),
    ("?", True),
    ("???", True),
    ("***", True),
    ("unknown", True),
    ("Unknown", True),
    ("test@test.com", True),
    ("TEST@TEST.COM", True),
    ("000-000-0000", True),
    ("asdf", True),
    ("", True),
    ("not applicable", True),
    ("Na", False),
    ("Nan", False),
    ("x", False),
    ("Anna", False),
    ("none of these", False),
    ("0", False),
    ("😀", False),
]


@pytest.mark.parametrize(("value", "expected"), PLACEHOLDER_CASES)
def test_placeholder_cases(value: str, expected: bool) -> None:
    assert is_placeholder(clean_text(value), placeholder_set(None)) is expected


def test_placeholders_replace_builtin_list() -> None:
    placeholders = placeholder_set(["TBD"])
    assert is_placeholder("tbd", placeholders)
    assert not is_placeholder("unknown", placeholders)


def test_extra_placeholders_extend_builtin_list() -> None:
    placeholders = placeholder_set(None, ["Not Given"])
    assert is_placeholder("not given", placeholders)
    assert is_placeholder("n/a", placeholders)


def test_placeholder_list_values_are_cleaned() -> None:
    placeholders = placeholder_set(["  Nope\u200b "])
    assert is_placeholder("NOPE", placeholders)


def test_empty_placeholder_list_keeps_empty_missing() -> None:
    assert is_placeholder("", placeholder_set([]))


def test_default_placeholders_are_lowercase() -> None:
    assert all(value == value.lower() for value in DEFAULT_PLACEHOLDERS)


FOLD_CASES = [
    ("O'Neil", "oneil"),
    ("Zoë", "zoe"),
    ("Müller", "muller"),
    ("Straße", "strasse"),
    ("Smith-Jones", "smithjones"),
    ("van der Berg", "vanderberg"),
    ("ÆSIR", "aesir"),
    ("Łukasz", "lukasz"),
    ("Øster", "oster"),
    ("Đorđe", "dorde"),
    ("张伟", "zhangwei"),
    ("Владимир", "vladimir"),
    ("123 Main St.", "123mainst"),
    ("", ""),
    ("!!!", ""),
]


@pytest.mark.parametrize(("text", "expected"), FOLD_CASES)
def test_fold_cases(text: str, expected: str) -> None:
    assert fold(text) == expected


CITY_CASES = [
    ("SAN FRANCISCO", "San Francisco"),
    ("san francisco", "San Francisco"),
    ("winston-salem", "Winston-Salem"),
    ("McAllen", "McAllen"),
    ("DeKalb", "DeKalb"),
    ("New York", "New York"),
    ("MÜNCHEN", "München"),
    ("québec", "Québec"),
    ("东京", "东京"),
    ("St. Louis", "St. Louis"),
    ("LOS ANGELES", "Los Angeles"),
    ("new york", "New York"),
    ("SAINT-ÉTIENNE", "Saint-Étienne"),
    ("ZÜRICH", "Zürich"),
    ("são paulo", "São Paulo"),
    ("KÖLN", "Köln"),
    ("LaSalle", "LaSalle"),
    ("o'fallon", "O'fallon"),
    ("WASHINGTON D.C.", "Washington D.C."),
    ("las vegas", "Las Vegas"),
    ("ÅRHUS", "Århus"),
    ("st. john's", "St. John's"),
    ("MEXICO CITY", "Mexico City"),
    ("reykjavík", "Reykjavík"),
    ("Ho Chi Minh City", "Ho Chi Minh City"),
]


@pytest.mark.parametrize(("text", "expected"), CITY_CASES)
def test_city_display_casing(text: str, expected: str) -> None:
    assert standardize_city(text).value == expected


def test_text_standardizer_keeps_clean_text() -> None:
    assert standardize_text("Pro plan").value == "Pro plan"


def test_text_standardizer_empty_is_missing() -> None:
    assert standardize_text("").value is None


@given(st.text())
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@given(st.text())
def test_clean_text_has_no_edge_spaces(text: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == cleaned.strip()


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    once = fold(text)
    assert fold(once) == once


@given(st.text())
def test_city_is_idempotent(text: str) -> None:
    first = standardize_city(clean_text(text))
    if first.value is not None:
        assert standardize_city(str(first.value)).value == first.value
