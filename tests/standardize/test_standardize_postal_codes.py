"""Postal codes per country."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.standardize.postal_codes import postal_text, standardize_postal_code
from accord.standardize.text import clean_text

# (input, country, display, key)
VALID_CASES = [
    ("02134", "US", "02134", "02134"),
    ("2134", "US", "02134", "02134"),
    ("02134-1234", "US", "02134-1234", "02134"),
    ("021341234", "US", "02134-1234", "02134"),
    ("02134 1234", "US", "02134-1234", "02134"),
    ("k1a0b1", "CA", "K1A 0B1", "K1A0B1"),
    ("K1A 0B1", "CA", "K1A 0B1", "K1A0B1"),
    ("k1a-0b1", "CA", "K1A 0B1", "K1A0B1"),
    ("sw1a1aa", "GB", "SW1A 1AA", "SW1A1AA"),
    ("SW1A  1AA", "GB", "SW1A 1AA", "SW1A1AA"),
    ("G12 8QQ", "GB", "G12 8QQ", "G128QQ"),
    ("ec1a1bb", "GB", "EC1A 1BB", "EC1A1BB"),
    ("M1 1AE", "GB", "M1 1AE", "M11AE"),
    ("80331", "DE", "80331", "80331"),
    ("D-80331", "DE", "80331", "80331"),
    ("75001", "FR", "75001", "75001"),
    ("1012ab", "NL", "1012 AB", "1012AB"),
    ("01310-100", "BR", "01310-100", "01310100"),
    ("100-0001", "JP", "100-0001", "1000001"),
    ("1000001", "JP", "100-0001", "1000001"),
    ("d02x285", "IE", "D02 X285", "D02X285"),
    ("11455", "SE", "114 55", "11455"),
    ("00-950", "PL", "00-950", "00950"),
    ("2000", "AU", "2000", "2000"),
    ("110001", "IN", "110001", "110001"),
    ("12345-6789", None, "12345-6789", "12345"),
    ("k1a 0b1", None, "K1A 0B1", "K1A0B1"),
    ("abc 123", "ZZ", "ABC 123", "ABC123"),
]


@pytest.mark.parametrize(("text", "country", "display", "key"), VALID_CASES)
def test_valid_postal_code_cases(text: str, country: str | None, display: str, key: str) -> None:
    outcome = standardize_postal_code(clean_text(text), country)
    assert outcome.value == display
    assert outcome.keys[0] == key


INVALID_CASES = [
    ("1234X", "US", "12345 or 12345-6789"),
    ("123", "US", "12345"),
    ("D1A 0B1", "CA", "K1A 0B1"),
    ("8033", "DE", "12345"),
    ("12345", "GB", "SW1A 1AA"),
    ("ÉÉ", "FR", "ASCII letters"),
    ("1012", "NL", "1234 AB"),
]


@pytest.mark.parametrize(("text", "country", "reason_part"), INVALID_CASES)
def test_invalid_postal_code_cases(text: str, country: str, reason_part: str) -> None:
    outcome = standardize_postal_code(text, country)
    assert outcome.value is None
    assert reason_part in str(outcome.reason)


@pytest.mark.parametrize(
    ("value", "expected"), [(2134, "2134"), (2134.0, "2134"), (True, None), (-5, None)]
)
def test_postal_text_of_numbers(value: object, expected: str | None) -> None:
    assert postal_text(value) == expected


COUNTRIES = st.sampled_from([None, "US", "CA", "GB", "DE", "NL", "BR", "JP", "SE", "ZZ"])


@given(st.text(), COUNTRIES)
def test_postal_code_never_raises(text: str, country: str | None) -> None:
    standardize_postal_code(clean_text(text), country)


@given(st.text(), COUNTRIES)
def test_postal_code_is_idempotent(text: str, country: str | None) -> None:
    first = standardize_postal_code(clean_text(text), country)
    if first.value is not None:
        again = standardize_postal_code(str(first.value), country)
        assert again.value == first.value
        assert again.keys == first.keys


@given(
    st.text(alphabet=st.sampled_from("0123456789ABCKSWabk -"), min_size=1, max_size=10), COUNTRIES
)
def test_postal_code_idempotent_on_codes(text: str, country: str | None) -> None:
    first = standardize_postal_code(clean_text(text), country)
    if first.value is not None:
        again = standardize_postal_code(str(first.value), country)
        assert again.value == first.value
        assert again.keys == first.keys
