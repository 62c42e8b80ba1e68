"""Phone numbers: E.164 form, extension, line type and matching key.

Parsing and validation use phonenumbers (a port of Google's libphonenumber).
Validity comes from ``phonenumbers.number_type``, which its documentation
defines as returning ``UNKNOWN`` for invalid numbers; for a parsed number it
gives the same answer as ``is_valid_number`` while matching the number
against the region metadata once instead of twice. A test compares the two
on generated numbers.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from accord.standardize.base import Outcome, invalid, quote

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

_SEQUENCES = ("0123456789", "1234567890", "9876543210", "0987654321")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_LEADING_00 = re.compile(r"^\s*00[\s.\-]*(?=[1-9])")
_DIGITS = re.compile(r"\d")


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
    digits = "".join(_DIGITS.findall(text))
    if len(digits) < 7:
        return None
    national = digits[1:] if digits[0] == "1" and len(digits) == 11 else digits
    if len(set(national)) == 1:
        return "placeholder phone number: every digit is the same"
    if any(national in sequence for sequence in _SEQUENCES):
        return "placeholder phone number: a run of counting digits"
    return None


def _parse(text: str, region: str) -> phonenumbers.PhoneNumber | str:
    """Parse with phonenumbers; return the number or the reason it failed."""
    try:
        return phonenumbers.parse(text, region)
    except NumberParseException as error:
        return _PARSE_ERRORS.get(error.error_type, "not a phone number")


def _valid_number(text: str, region: str) -> tuple[phonenumbers.PhoneNumber, int] | str:
    """Parse ``text`` for ``region``; return the valid number and its type, or a reason."""
    number = _parse(text, region)
    if isinstance(number, str):
        return number
    number_type = phonenumbers.number_type(number)
    if number_type == PhoneNumberType.UNKNOWN:
        if text.lstrip().startswith("+"):
            return "not a valid number"
        return f"not a valid number for region {region}"
    return number, number_type


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


def _outcome(number: phonenumbers.PhoneNumber, number_type: int) -> Outcome:
    digits = f"{number.country_code}{phonenumbers.national_significant_number(number)}"
    extension = number.extension or None
    type_name = PHONE_TYPE_NAMES.get(number_type)
    return Outcome(f"+{digits}", keys=(digits, extension, type_name))
