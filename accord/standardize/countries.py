"""Countries to ISO 3166-1 alpha-2 and regions to their subdivision codes.

Country names, alpha-2, alpha-3 and numeric codes come from pycountry. A
variant table adds the names that people type but ISO does not list ("USA",
"UK", "Deutschland", "Holland"). Every lookup folds its input first, so
"U.S.", "u.s" and "US" are the same key.
"""

from __future__ import annotations

import functools

import pycountry

from accord.standardize.base import MISSING, Outcome, invalid, quote
from accord.standardize.text import fold, needs_recase, title_word

COUNTRY_VARIANTS: dict[str, str] = {
    "america": "US",
    "unitedstates": "US",
    "unitedstatesofamerica": "US",
    "usofa": "US",
    "estadosunidos": "US",
    "etatsunis": "US",
    "vereinigtestaaten": "US",
    "uk": "GB",
    "unitedkingdom": "GB",
    "greatbritain": "GB",
    "britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northernireland": "GB",
    "grossbritannien": "GB",
    "royaumeuni": "GB",
    "deutschland": "DE",
    "allemagne": "DE",
    "alemania": "DE",
    "brd": "DE",
    "holland": "NL",
    "nederland": "NL",
    "paysbas": "NL",
    "niederlande": "NL",
    "espana": "ES",
    "espagne": "ES",
    "spanien": "ES",
    "frankreich": "FR",
    "francia": "FR",
    "italia": "IT",
    "italien": "IT",
    "schweiz": "CH",
    "suisse": "CH",
    "svizzera": "CH",
    "helvetia": "CH",
    "osterreich": "AT",
    "oesterreich": "AT",
    "belgie": "BE",
    "belgique": "BE",
    "belgien": "BE",
    "sverige": "SE",
    "norge": "NO",
    "danmark": "DK",
    "suomi": "FI",
    "polska": "PL",
    "czechrepublic": "CZ",
    "ceskarepublika": "CZ",
    "cesko": "CZ",
    "brasil": "BR",
    "mexique": "MX",
    "russia": "RU",
    "rossiia": "RU",
    "rossiya": "RU",
    "nippon": "JP",
    "nihon": "JP",
    "prc": "CN",
    "zhongguo": "CN",
    "southkorea": "KR",
    "korea": "KR",
    "republicofkorea": "KR",
    "northkorea": "KP",
    "taiwan": "TW",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "laos": "LA",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "macedonia": "MK",
    "burma": "MM",
    "swaziland": "SZ",
    "capeverde": "CV",
    "ivorycoast": "CI",
    "drc": "CD",
    "drcongo": "CD",
    "congokinshasa": "CD",
    "congobrazzaville": "CG",
    "vatican": "VA",
    "vaticancity": "VA",
    "palestine": "PS",
    "micronesia": "FM",
    "brunei": "BN",
    "uae": "AE",
    "emirates": "AE",
    "turkey": "TR",
    "turkiye": "TR",
    "hellas": "GR",
    "ellada": "GR",
    "eire": "IE",
    "republicofireland": "IE",
    "aotearoa": "NZ",
    "rsa": "ZA",
    "bharat": "IN",
    "hrvatska": "HR",
    "macau": "MO",
    # Kosovo has no ISO 3166-1 code; XK is the user-assigned code that the
    # European Commission and many data providers use.
    "kosovo": "XK",
    "xk": "XK",
    "xkx": "XK",
}
"""Folded country names and abbreviations that pycountry does not list."""

REGION_VARIANTS: dict[str, dict[str, str]] = {
    "US": {
        "aa": "AA",
        "armedforcesamericas": "AA",
        "ae": "AE",
        "armedforceseurope": "AE",
        "ap": "AP",
        "armedforcespacific": "AP",
        "ala": "AL",
        "ariz": "AZ",
        "ark": "AR",
        "calif": "CA",
        "cal": "CA",
        "colo": "CO",
        "conn": "CT",
        "del": "DE",
        "washingtondc": "DC",
        "fla": "FL",
        "ill": "IL",
        "ind": "IN",
        "kans": "KS",
        "mass": "MA",
        "mich": "MI",
        "minn": "MN",
        "miss": "MS",
        "nebr": "NE",
        "nev": "NV",
        "okla": "OK",
        "ore": "OR",
        "oreg": "OR",
        "penn": "PA",
        "penna": "PA",
        "tenn": "TN",
        "tex": "TX",
        "virginislands": "VI",
        "wash": "WA",
        "wis": "WI",
        "wisc": "WI",
        "wyo": "WY",
    },
    "CA": {
        "pei": "PE",
        "pq": "QC",
        "nf": "NL",
        "nfld": "NL",
        "newfoundland": "NL",
        "yk": "YT",
        "yukonterritory": "YT",
        "nwt": "NT",
    },
}
"""Folded region abbreviations that pycountry does not list, per country."""

_NORTH_AMERICA = ("US", "CA")


@functools.cache
def _country_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for country in pycountry.countries:
        code = country.alpha_2
        names = [country.alpha_2, country.alpha_3, country.numeric, country.name]
        names += [getattr(country, attribute, "") for attribute in ("official_name", "common_name")]
        for name in names:
            if name:
                table.setdefault(fold(name), code)
    table.update(COUNTRY_VARIANTS)
    return table


def country_code(text: str) -> str | None:
    """Return the ISO alpha-2 code of a country name or code, or None if unknown."""
    key = fold(text)
    table = _country_table()
    code = table.get(key)
    if code is None and key.startswith("the"):
        code = table.get(key[3:])
    return code


def standardize_country(text: str) -> Outcome:
    """Standardize a country to its ISO 3166-1 alpha-2 code.

    Args:
        text: A clean country name, alpha-2, alpha-3 or numeric code, or a
            common variant ("U.S.A.", "Great Britain", "Deutschland").

    Returns:
        The alpha-2 code, or an invalid outcome for an unknown country.
    """
    code = country_code(text)
    if code is None:
        return invalid(f"unknown country {quote(text)}")
    return Outcome(code)


@functools.cache
def _region_table(country: str) -> dict[str, str]:
    table: dict[str, str] = {}
    for subdivision in pycountry.subdivisions.get(country_code=country) or ():
        code = subdivision.code.split("-", 1)[1]
        table.setdefault(fold(code), code)
        table.setdefault(fold(subdivision.name), code)
    table.update(REGION_VARIANTS.get(country, {}))
    return table


def region_code(text: str, country: str) -> str | None:
    """Return the subdivision code of a region in ``country``, or None if unknown.

    "California", "Calif." and "CA" give "CA" for the US; "Québec" and "PQ"
    give "QC" for Canada; "New South Wales" gives "NSW" for Australia.
    """
    return _region_table(country).get(fold(text))


def standardize_region(text: str, country: str | None) -> Outcome:
    """Standardize a state, province or region to its code.

    Args:
        text: A clean region name or code.
        country: ISO alpha-2 country of the record, or None.

    Returns:
        The subdivision code without the country prefix ("TX", "ON").
        For the US and Canada an unknown region is invalid. Without a
        country, US states and then Canadian provinces are tried, and an
        unknown region keeps its text with display casing. Regions of other
        countries are looked up in pycountry and kept as text when absent.
    """
    candidates = (country,) if country else _NORTH_AMERICA
    for candidate in candidates:
        code = region_code(text, candidate)
        if code:
            return Outcome(code)
    if country in _NORTH_AMERICA:
        return invalid(f"unknown region {quote(text)} for country {country}")
    if not text:
        return MISSING
    if needs_recase(text) and len(text) > 3:
        text = " ".join(title_word(word) for word in text.lower().split(" "))
    return Outcome(text)
