"""Phone numbers: E.164 form, extension, line type and matching key.

Parsing and validation use phonenumbers (a port of Google's libphonenumber).
Validity comes from ``phonenumbers.number_type``: its docstring (phonenumbers
9.0) states that it returns ``UNKNOWN`` for an invalid number, and its code
runs the same region lookup and pattern match as ``is_valid_number``. One
call gives both the validity and the line type, so each number is matched
against the metadata half as often as with two calls. A test compares the
validity with ``is_valid_number`` on generated numbers.
"""

from __future__ import annotations

import functools
import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from accord.standardize.base import Outcome, invalid, quote
from accord.standardize.cache import BoundedCache

PHONE_KEYS = ("key", "ext", "type")
"""Key suffixes of :func:`standardize_phone`, in ``Outcome.keys`` order."""

PHONE_TYPE_NAMES: dict[int, str] = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}
"""Names of the phonenumbers line types, as written to ``phone_type``."""

_PARSE_ERRORS: dict[int, str] = {
    NumberParseException.INVALID_COUNTRY_CODE: "unknown country calling code",
    NumberParseException.NOT_A_NUMBER: "not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "too short after the international prefix",
    NumberParseException.TOO_SHORT_NSN: "too short",
    NumberParseException.TOO_LONG: "too long",
}

_TYPE_CACHE: BoundedCache[str, int] = BoundedCache(200_000)

# Counting runs, separated so that a match cannot span two of them.
_SEQUENCE_TEXT = "0123456789 1234567890 9876543210 0987654321"
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_LEADING_00 = re.compile(r"^\s*00[\s.\-]*(?=[1-9])")
_NON_DIGITS = re.compile(r"\D+")
_NANP_TEXT = re.compile(
    r"(?:\+1|1)?[ .\-]*\(?([2-9]\d\d)\)?[ .\-]*([2-9]\d\d)[ .\-]*(\d{4})"
    r"(?: *(?:ext\.?|extension|x) *(\d{1,6}))?",
    re.ASCII | re.IGNORECASE,
)


def phone_text(value: object) -> str | None:
    """Convert a phone value of another type to text, or return None if it cannot be one.

    Integers and integral floats (a spreadsheet cell holding 2025550123)
    become their digits. Booleans and other types give None.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None


def _placeholder_reason(text: str) -> str | None:
    """Return why the digits look made up (all one digit, a counting run), or None."""
    digits = _NON_DIGITS.sub("", text)
    if len(digits) < 7:
        return None
    national = digits[1:] if digits[0] == "1" and len(digits) == 11 else digits
    if national.count(national[0]) == len(national):
        return "placeholder phone number: every digit is the same"
    if national in _SEQUENCE_TEXT:
        return "placeholder phone number: a run of counting digits"
    return None


@functools.cache
def _is_nanp_region(region: str) -> bool:
    return phonenumbers.country_code_for_region(region) == 1


def parse_nanp(text: str, region: str) -> phonenumbers.PhoneNumber | None:
    """Read a plainly written NANP number without calling ``phonenumbers.parse``.

    Handles "(202) 555-0123", "202.555.0123", "1-202-555-0123" and
    "+1 202 555 0123", where the area code and exchange start with 2-9,
    optionally followed by "ext 89", "ext. 89", "extension 89" or "x89".
    A number without "+1" qualifies only when ``region`` uses country code 1.
    For those forms ``phonenumbers.parse`` returns the same country code,
    national number and extension; a test compares them.

    Returns:
        The number, or None when the text is not in one of those forms.
    """
    match = _NANP_TEXT.fullmatch(text)
    if match is None:
        return None
    if not (text.startswith("+") or _is_nanp_region(region)):
        return None
    national = int(match[1] + match[2] + match[3])
    return phonenumbers.PhoneNumber(country_code=1, national_number=national, extension=match[4])


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | str:
    """Parse with phonenumbers; return the number or the reason it failed."""
    fast = parse_nanp(text, region)
    if fast is not None:
        return fast
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException as error:
        return _PARSE_ERRORS.get(error.error_type, "not a phone number")


def e164_digits(number: phonenumbers.PhoneNumber) -> str:
    """Return the E.164 digits of a number without "+": country code, then national number."""
    return f"{number.country_code}{phonenumbers.national_significant_number(number)}"


def number_type(number: phonenumbers.PhoneNumber, digits: str) -> int:
    """Return ``phonenumbers.number_type`` of a number, cached by its E.164 digits.

    The type depends only on the country calling code and the national
    significant number, and country codes are prefix-free, so the E.164
    digits identify it: "(202) 555-0123" and "+1 202.555.0123" share one
    computation.
    """
    cached = _TYPE_CACHE.get(digits)
    if cached is None:
        cached = phonenumbers.number_type(number)
        _TYPE_CACHE.put(digits, cached)
    return cached


def _valid_number(text: str, region: str) -> tuple[phonenumbers.PhoneNumber, str, int] | str:
    """Parse ``text`` for ``region``; return the valid number, its digits and type, or a reason."""
    number = _parse(text, region)
    if isinstance(number, str):
        return number
    digits = e164_digits(number)
    line_type = number_type(number, digits)
    if line_type == PhoneNumberType.UNKNOWN:
        if text.lstrip().startswith("+"):
            return "not a valid number"
        return f"not a valid number for region {region}"
    return number, digits, line_type


def standardize_phone(text: str, regions: tuple[str, ...]) -> Outcome:
    """Parse a phone number and build its keys.

    Accepts national and international forms ("(202) 555-0123",
    "+1 202.555.0123", "00 44 20 7946 0958"), extensions ("ext 89", "x89")
    and vanity letters ("1-800-FLOWERS").

    Args:
        text: A clean phone number.
        regions: ISO alpha-2 regions to read a number without a country
            code in, tried in order until one gives a valid number. At
            least one region is required.

    Returns:
        The E.164 display value ("+12025550123") and the keys in
        :data:`PHONE_KEYS` order: E.164 digits without "+", the extension
        and the line type name. Placeholder digit patterns and numbers that
        phonenumbers does not consider valid in any of ``regions`` are
        invalid; the reason names the first region.
    """
    if not text.isascii():
        text = text.translate(_DASHES)
    placeholder = _placeholder_reason(text)
    if placeholder:
        return invalid(f"invalid phone {quote(text)}: {placeholder}")
    candidates = [text]
    if _LEADING_00.match(text):
        # "00" is the international prefix in most of the world, but
        # phonenumbers reads it as one only for regions that dial it.
        candidates.append(_LEADING_00.sub("+", text))
    if text.startswith("+"):
        regions = regions[:1]
    first_problem = ""
    for region in regions:
        for candidate in candidates:
            result = _valid_number(candidate, region)
            if not isinstance(result, str):
                return _outcome(*result)
            first_problem = first_problem or result
    return invalid(f"invalid phone {quote(text)}: {first_problem}")


def _outcome(number: phonenumbers.PhoneNumber, digits: str, line_type: int) -> Outcome:
    extension = number.extension or None
    type_name = PHONE_TYPE_NAMES.get(line_type)
    return Outcome(f"+{digits}", keys=(digits, extension, type_name))
