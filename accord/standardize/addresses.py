"""One-line postal addresses split into street, unit, city, region, postal code and country.

US addresses (and addresses without a known country) are parsed with
usaddress. Addresses of other countries are split on commas. The first
segment is the street. A segment that contains a code in the country's
postal format gives the postal code, and its remaining words give the city
("London SW1A 2AA", "10115 Berlin"). A last segment that names a country
gives the country.

NOTE: this module parses about 8,000 addresses per second on one core of
the 2-core development VM, so a column of a million distinct one-line
addresses takes minutes. The separate street, city, region and postal code
fields standardize far faster.
"""

from __future__ import annotations

import usaddress

from accord.standardize.base import Outcome, Scalar, invalid, quote
from accord.standardize.countries import country_code, region_code, standardize_region
from accord.standardize.postal_codes import POSTAL_FORMATS, standardize_postal_code
from accord.standardize.streets import standardize_street, standardize_unit
from accord.standardize.text import standardize_city

ADDRESS_PARTS = ("street", "unit", "city", "region", "postal_code", "country")
"""Fields that :func:`standardize_address` derives, in ``Outcome.parts`` order."""

_STREET_LABELS = (
    "AddressNumberPrefix",
    "AddressNumber",
    "AddressNumberSuffix",
    "StreetNamePreModifier",
    "StreetNamePreDirectional",
    "StreetNamePreType",
    "StreetName",
    "StreetNamePostType",
    "StreetNamePostDirectional",
)
_UNIT_LABELS = ("OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier")


def _join(tagged: dict[str, str], labels: tuple[str, ...]) -> str:
    return " ".join(tagged[label].strip(" ,") for label in labels if tagged.get(label))


def _split_country(segments: list[str], country: str | None) -> tuple[list[str], str | None]:
    """Remove a last segment that names a country; return the segments and its code.

    A two-letter last segment that is a US state or Canadian province code
    ("Springfield, IL", "Los Angeles, CA") is a region, not a country.
    """
    if len(segments) < 2:
        return segments, None
    last = segments[-1]
    is_region_code = len(last.strip(" .")) == 2 and (
        region_code(last, "US") or region_code(last, "CA")
    )
    if is_region_code and country in (None, "US", "CA"):
        return segments, None
    code = country_code(last)
    if code is None:
        return segments, None
    return segments[:-1], code


def _us_parts(text: str) -> dict[str, str] | None:
    """Tag a US address with usaddress; return the raw parts, or None if it fails."""
    try:
        tagged, _ = usaddress.tag(text)
    except usaddress.RepeatedLabelError:
        return None
    parts = {
        "street": _join(tagged, _STREET_LABELS),
        "unit": _join(tagged, _UNIT_LABELS),
        "city": tagged.get("PlaceName", "").strip(" ,"),
        "region": tagged.get("StateName", "").strip(" ,"),
        "postal_code": tagged.get("ZipCode", "").strip(" ,"),
        "country": tagged.get("CountryName", "").strip(" ,"),
    }
    if tagged.get("USPSBoxID"):
        parts["street"] = f"PO Box {tagged['USPSBoxID'].strip(' ,')}"
    if not parts["street"] and not parts["city"]:
        return None
    return parts


def _find_postal_code(segment: str, country: str) -> tuple[str, str] | None:
    """Find a postal code of ``country`` in a segment; return it and the rest of the segment."""
    postal_format = POSTAL_FORMATS.get(country)
    if postal_format is None:
        return None
    words = segment.split()
    for size in (2, 1):
        for start in range(len(words) - size + 1):
            candidate = "".join(words[start : start + size]).upper().replace("-", "")
            if postal_format.pattern.fullmatch(candidate):
                rest = words[:start] + words[start + size :]
                return " ".join(words[start : start + size]), " ".join(rest)
    return None


def _is_region_code(text: str, country: str | None) -> bool:
    """Return whether text is a region code ("ON", "NSW") rather than a name."""
    return bool(country) and len(text) <= 3 and region_code(text, str(country)) == text.upper()


def _generic_parts(segments: list[str], country: str | None) -> dict[str, str]:
    """Split comma-separated segments: street, then locality, postal code and region."""
    parts = {"street": "", "unit": "", "city": "", "region": "", "postal_code": ""}
    if len(segments) > 1 and any(c.isdigit() for c in segments[0]):
        parts["street"] = segments[0]
        segments = segments[1:]
    for segment in segments:
        found = _find_postal_code(segment, country) if country else None
        rest = segment
        if found:
            parts["postal_code"], rest = found
        words = rest.split()
        if len(words) > 1 and _is_region_code(words[-1], country):
            parts["region"] = words[-1]
            rest = " ".join(words[:-1])
        if not rest:
            continue
        if _is_region_code(rest, country):
            parts["region"] = rest
        elif not parts["city"]:
            parts["city"] = rest
        elif not parts["region"] and country and region_code(rest, country):
            parts["region"] = rest
    return parts


def _country_of(parts: dict[str, str], named: str | None, hint: str | None) -> str | None:
    if named:
        return named
    if parts.get("country"):
        return country_code(parts["country"])
    if hint:
        return hint
    for candidate in ("US", "CA"):
        if parts.get("region") and region_code(parts["region"], candidate):
            return candidate
    return None


def _clean_part(outcome: Outcome, raw: str) -> Scalar:
    """Return the standardized part, or the raw text when the part is invalid."""
    if outcome.reason:
        return raw
    return outcome.value


def standardize_address(text: str, country: str | None = None) -> Outcome:
    """Split a one-line address into its parts.

    Args:
        text: A clean one-line address such as "123 N. Main Street Apt 4,
            Springfield, IL 62704-1234".
        country: ISO alpha-2 country of the record, or None.

    Returns:
        The display address (built from the standardized parts for US
        addresses, the clean text otherwise) and the parts in
        :data:`ADDRESS_PARTS` order. A part that fails its own standardizer
        is returned as parsed, so the field it fills reports the problem.
    """
    if not any(c.isalnum() for c in text):
        return invalid(f"invalid address {quote(text)}: no letters or digits")
    segments = [segment.strip() for segment in text.split(",") if segment.strip()]
    segments, named_country = _split_country(segments, country)
    effective = named_country or country
    raw = _us_parts(", ".join(segments)) if effective in (None, "US") else None
    if raw is None:
        raw = _generic_parts(segments, effective)
    code = _country_of(raw, named_country, country)
    street = standardize_street(raw["street"]) if raw["street"] else None
    unit_text = raw["unit"] or (street.parts[0] if street and street.parts else None)
    unit = standardize_unit(str(unit_text)) if unit_text else None
    city = standardize_city(raw["city"]) if raw["city"] else None
    region = standardize_region(raw["region"], code) if raw["region"] else None
    postal = standardize_postal_code(raw["postal_code"], code) if raw["postal_code"] else None
    values = {
        "street": _clean_part(street, raw["street"]) if street else None,
        "unit": _clean_part(unit, str(unit_text)) if unit else None,
        "city": _clean_part(city, raw["city"]) if city else None,
        "region": _clean_part(region, raw["region"]) if region else None,
        "postal_code": _clean_part(postal, raw["postal_code"]) if postal else None,
        "country": code,
    }
    display = _display(values, text, named_country is not None, code)
    return Outcome(display, parts=tuple(values[name] for name in ADDRESS_PARTS))


def _display(values: dict[str, Scalar], text: str, show_country: bool, code: str | None) -> str:
    """Build "123 Main St Apt 4, Springfield, IL 62704" for US addresses; keep other text."""
    if code not in (None, "US") or not values["street"]:
        return text
    line = " ".join(str(values[name]) for name in ("street", "unit") if values[name])
    tail = " ".join(str(values[name]) for name in ("region", "postal_code") if values[name])
    pieces = [line, str(values["city"] or ""), tail]
    if show_country and code:
        pieces.append(code)
    return ", ".join(piece for piece in pieces if piece)
