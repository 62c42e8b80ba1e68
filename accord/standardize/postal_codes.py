"""Postal codes: per-country validation, display spacing and matching key."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from accord.standardize.base import Outcome, invalid, quote, word_set

POSTAL_CODE_KEYS = ("key",)
"""Key suffixes of :func:`standardize_postal_code`, in ``Outcome.keys`` order."""


@dataclass(frozen=True)
class PostalFormat:
    """Postal code format of one country.

    Attributes:
        pattern: Regular expression over the code with spaces and hyphens
            removed, uppercase.
        display: Builds the display form from a matching compact code.
        example: A valid code, quoted in error messages.
    """

    pattern: re.Pattern[str]
    display: Callable[[str], str]
    example: str


def _same(code: str) -> str:
    return code


def _split(position: int, separator: str) -> Callable[[str], str]:
    def display(code: str) -> str:
        return f"{code[:position]}{separator}{code[position:]}"

    return display


def _us_display(code: str) -> str:
    return code if len(code) == 5 else f"{code[:5]}-{code[5:]}"


def _gb_display(code: str) -> str:
    return f"{code[:-3]} {code[-3:]}"


def _format(pattern: str, display: Callable[[str], str], example: str) -> PostalFormat:
    return PostalFormat(re.compile(pattern), display, example)


_FIVE_DIGITS = _format(r"\d{5}", _same, "12345")
_FOUR_DIGITS = _format(r"\d{4}", _same, "1234")
_SIX_DIGITS = _format(r"\d{6}", _same, "123456")
_FIVE_DIGITS_SPACED = _format(r"\d{5}", _split(3, " "), "123 45")

POSTAL_FORMATS: dict[str, PostalFormat] = {
    "US": _format(r"\d{5}(?:\d{4})?", _us_display, "12345 or 12345-6789"),
    "CA": _format(
        r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\d[ABCEGHJ-NPRSTV-Z]\d",
        _split(3, " "),
        "K1A 0B1",
    ),
    "GB": _format(r"(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\d[A-Z]{2}|GIR0AA", _gb_display, "SW1A 1AA"),
    "IE": _format(r"[AC-FHKNPRTV-Y]\d[\dW][AC-FHKNPRTV-Y\d]{4}", _split(3, " "), "D02 X285"),
    "NL": _format(r"[1-9]\d{3}[A-Z]{2}", _split(4, " "), "1234 AB"),
    "BR": _format(r"\d{8}", _split(5, "-"), "12345-678"),
    "JP": _format(r"\d{7}", _split(3, "-"), "123-4567"),
    "PL": _format(r"\d{5}", _split(2, "-"), "12-345"),
    "PT": _format(r"\d{7}", _split(4, "-"), "1234-567"),
    "SE": _FIVE_DIGITS_SPACED,
    "CZ": _FIVE_DIGITS_SPACED,
    "SK": _FIVE_DIGITS_SPACED,
    "GR": _FIVE_DIGITS_SPACED,
}
"""Formats of the countries whose codes have a fixed shape."""

for _country in word_set("DE FR IT ES MX FI TR EE HR UA MY ID TH KR MA DZ"):
    POSTAL_FORMATS[_country] = _FIVE_DIGITS
for _country in word_set("AU AT BE CH DK NO NZ ZA HU PH LU SI BG CY"):
    POSTAL_FORMATS[_country] = _FOUR_DIGITS
for _country in word_set("IN SG CN RU KZ BY VN"):
    POSTAL_FORMATS[_country] = _SIX_DIGITS

_SEPARATORS = re.compile(r"[\s\-.]+")
_US_ZIP = re.compile(r"\d{5}(?:-?\d{4})?")
_ALLOWED = re.compile(r"[A-Z0-9 \-.]+")


def postal_text(value: object) -> str | None:
    """Convert a non-string postal code (an integer from a spreadsheet) to text."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return str(int(value))
    return None


def _without_country_prefix(compact: str, country: str) -> str:
    """Drop a leading country prefix such as "D" in "D-80331" or "NL" in "NL-1012 AB"."""
    for prefix in (country, country[:1]):
        rest = compact[len(prefix) :]
        if compact.startswith(prefix) and rest[:1].isdigit():
            return rest
    return compact


def standardize_postal_code(text: str, country: str | None) -> Outcome:
    """Validate and format a postal code for the record's country.

    US ZIP codes of 4 or 8 digits get their leading zero back (spreadsheets
    drop it), and 9 digits become ZIP+4 ("12345-6789").

    Args:
        text: A clean postal code.
        country: ISO alpha-2 country of the record, or None.

    Returns:
        The display code and the key ``key``: the compact uppercase code,
        or the first five digits of a US ZIP code so that ZIP and ZIP+4
        compare equal. A code that does not fit its country's format is
        invalid. Countries without a known format, and records without a
        country, keep the uppercase code unchecked.
    """
    upper = text.upper()
    if not _ALLOWED.fullmatch(upper):
        return invalid(
            f"invalid postal code {quote(text)}: contains characters other than "
            "ASCII letters, digits, spaces and hyphens"
        )
    compact = _SEPARATORS.sub("", upper)
    postal_format = POSTAL_FORMATS.get(country or "")
    if country is None or postal_format is None:
        display = " ".join(upper.split())
        is_zip = _US_ZIP.fullmatch(display) is not None
        return Outcome(display, keys=(compact[:5] if is_zip else compact,))
    if country == "US" and compact.isdigit() and len(compact) in (4, 8):
        compact = "0" + compact
    if not postal_format.pattern.fullmatch(compact):
        compact = _without_country_prefix(compact, country)
    if not postal_format.pattern.fullmatch(compact):
        return invalid(
            f"invalid postal code {quote(text)} for {country}: expected a code like "
            f"{postal_format.example}"
        )
    key = compact[:5] if country == "US" else compact
    return Outcome(postal_format.display(compact), keys=(key,))
