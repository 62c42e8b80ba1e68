"""Countries to ISO alpha-2 and regions to subdivision codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.standardize.countries import standardize_country, standardize_region
from accord.standardize.text import clean_text

COUNTRY_CASES = [
    ("US", "US"),
    ("us", "US"),
    ("USA", "US"),
    ("U.S.", "US"),
    ("U.S.A.", "US"),
    ("United States", "US"),
    ("United States of America", "US"),
    ("the United States", "US"),
    ("840", "US"),
    ("UK", "GB"),
    ("U.K.", "GB"),
    ("Great Britain", "GB"),
    ("England", "GB"),
    ("GBR", "GB"),
    ("Deutschland", "DE"),
    ("DEU", "DE"),
    ("germany", "DE"),
    ("Holland", "NL"),
    ("The Netherlands", "NL"),
    ("Nederland", "NL"),
    ("Côte d'Ivoire", "CI"),
    ("Ivory Coast", "CI"),
    ("España", "ES"),
    ("Россия", "RU"),
    ("Viet Nam", "VN"),
    ("South Korea", "KR"),
    ("Korea, Republic of", "KR"),
    ("Türkiye", "TR"),
    ("UAE", "AE"),
    ("Schweiz", "CH"),
    ("Kosovo", "XK"),
]


@pytest.mark.parametrize(("text", "expected"), COUNTRY_CASES)
def test_country_cases(text: str, expected: str) -> None:
    assert standardize_country(clean_text(text)).value == expected


@pytest.mark.parametrize("text", ["Narnia", "XX", "123", "Europe", "U"])
def test_unknown_country_is_invalid(text: str) -> None:
    outcome = standardize_country(text)
    assert outcome.value is None
    assert "unknown country" in str(outcome.reason)


REGION_CASES = [
    ("Texas", None, "TX"),
    ("TX", None, "TX"),
    ("tx", "US", "TX"),
    ("calif.", "US", "CA"),
    ("California", "US", "CA"),
    ("New York", "US", "NY"),
    ("District of Columbia", "US", "DC"),
    ("Washington DC", "US", "DC"),
    ("Puerto Rico", "US", "PR"),
    ("AE", "US", "AE"),
    ("Penna.", "US", "PA"),
    ("Québec", "CA", "QC"),
    ("Quebec", None, "QC"),
    ("PQ", None, "QC"),
    ("ON", None, "ON"),
    ("Ontario", "CA", "ON"),
    ("Newfoundland", "CA", "NL"),
    ("P.E.I.", "CA", "PE"),
    ("British Columbia", "CA", "BC"),
    ("New South Wales", "AU", "NSW"),
    ("NSW", "AU", "NSW"),
    ("Bayern", "DE", "BY"),
    ("Bavaria", "DE", "Bavaria"),
    ("GREATER LONDON", "GB", "Greater London"),
    ("Some Place", None, "Some Place"),
]


@pytest.mark.parametrize(("text", "country", "expected"), REGION_CASES)
def test_region_cases(text: str, country: str | None, expected: str) -> None:
    assert standardize_region(clean_text(text), country).value == expected


@pytest.mark.parametrize(("text", "country"), [("Narnia", "US"), ("Texas", "CA"), ("ZZ", "US")])
def test_unknown_north_american_region_is_invalid(text: str, country: str) -> None:
    outcome = standardize_region(text, country)
    assert outcome.value is None
    assert f"for country {country}" in str(outcome.reason)


@given(st.text())
def test_country_never_raises(text: str) -> None:
    standardize_country(clean_text(text))


@given(st.text())
def test_country_is_idempotent(text: str) -> None:
    first = standardize_country(clean_text(text))
    if first.value is not None:
        assert standardize_country(str(first.value)).value == first.value


COUNTRIES = st.sampled_from([None, "US", "CA", "AU", "DE", "GB", "ZZ"])


@given(st.text(), COUNTRIES)
def test_region_never_raises(text: str, country: str | None) -> None:
    standardize_region(clean_text(text), country)


@given(st.text(), COUNTRIES)
def test_region_is_idempotent(text: str, country: str | None) -> None:
    first = standardize_region(clean_text(text), country)
    if first.value is not None:
        assert standardize_region(str(first.value), country).value == first.value
