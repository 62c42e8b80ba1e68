"""Street lines: USPS abbreviations, unit extraction, PO boxes and a comparison key.

A street line is read word by word instead of with usaddress, because the
rules below are enough for one line and run about ten times faster, which
matters for a million distinct streets. Every source goes through the same
rules, so "123 North Main Street" and "123 N Main St." get the same key.

Words are classified from both ends: a house number first, then an optional
pre-directional ("N"), the street name, an optional suffix ("St") and an
optional post-directional ("NW"). A directional or suffix that would leave
no street name is part of the name instead ("123 North Ave" keeps "North").
"""

from __future__ import annotations

import functools
import re

from anyascii import anyascii

from accord.standardize.base import Outcome, invalid, quote, read_data_lines
from accord.standardize.names import case_name_word
from accord.standardize.text import needs_recase

STREET_KEYS = ("key",)
"""Key suffixes of :func:`standardize_street`, in ``Outcome.keys`` order."""

STREET_PARTS = ("unit",)
"""Fields that :func:`standardize_street` derives, in ``Outcome.parts`` order."""

DIRECTIONALS: dict[str, str] = {
    "north": "N",
    "n": "N",
    "south": "S",
    "s": "S",
    "east": "E",
    "e": "E",
    "west": "W",
    "w": "W",
    "northeast": "NE",
    "ne": "NE",
    "northwest": "NW",
    "nw": "NW",
    "southeast": "SE",
    "se": "SE",
    "southwest": "SW",
    "sw": "SW",
}
"""Directions and their USPS abbreviations, keyed by the lowercase word without dots."""

UNIT_DESIGNATORS: dict[str, str] = {
    "apartment": "Apt",
    "apt": "Apt",
    "suite": "Ste",
    "ste": "Ste",
    "unit": "Unit",
    "building": "Bldg",
    "bldg": "Bldg",
    "floor": "Fl",
    "fl": "Fl",
    "room": "Rm",
    "rm": "Rm",
    "department": "Dept",
    "dept": "Dept",
    "office": "Ofc",
    "ofc": "Ofc",
    "space": "Spc",
    "spc": "Spc",
    "lot": "Lot",
    "trailer": "Trlr",
    "trlr": "Trlr",
    "penthouse": "Ph",
    "ph": "Ph",
    "#": "#",
}
"""USPS secondary unit designators (Publication 28, appendix C2) that take an identifier."""

ORDINAL_WORDS: dict[str, str] = {
    "first": "1st",
    "second": "2nd",
    "third": "3rd",
    "fourth": "4th",
    "fifth": "5th",
    "sixth": "6th",
    "seventh": "7th",
    "eighth": "8th",
    "ninth": "9th",
    "tenth": "10th",
}
"""Ordinal street names that the key writes as numbers ("Fifth Ave" and "5th Ave")."""

_LOWERCASE_WORDS = frozenset({"of", "the", "and", "de", "la", "le", "del", "du", "des", "der"})

# "PO Box 123", "P.O. Box 123", "Post Office Box 123", "POB 123", "P.O.B. #123".
# The box number must contain a digit, and no letter may follow the keyword,
# so that "PO Boxwood Ln" stays a street.
_PO_BOX = re.compile(
    r"^(?:p\.?\s*o\.?\s*box|post\s+office\s+box|p\.?\s*o\.?\s*b\.?|pob)(?![a-z])"
    r"\s*(?:no\.?|#)?\s*([\w-]*\d[\w-]*)$",
    re.IGNORECASE,
)
_DELETE_DOTS = str.maketrans("", "", ".")
_DIGIT = re.compile(r"\d")
_ALPHANUMERIC = re.compile(r"[^\W_]")
_ORDINAL_NUMBER = re.compile(r"^(\d+)(st|nd|rd|th)$", re.IGNORECASE)
_KEY_DROP = re.compile(r"[^a-z0-9 ]+")


@functools.cache
def street_suffixes() -> dict[str, str]:
    """Map each lowercase USPS street suffix variant to its display abbreviation ("Ave")."""
    table: dict[str, str] = {}
    for line in read_data_lines("usps_street_suffixes.txt"):
        standard, *variants = line.split()
        display = standard.capitalize()
        for variant in variants:
            table[variant] = display
        table[standard.lower()] = display
    return table


def _bare(word: str) -> str:
    """Return a word lowercase without dots and trailing commas, for table lookups."""
    return word.lower().replace(".", "").rstrip(",")


def _is_unit_identifier(bare: str) -> bool:
    """Return whether a bare word can follow a unit designator ("4b", "200", "c").

    Street suffixes and directions ("Rd", "N") do not count, because the
    words before them are then part of the street name ("123 Lot Rd").
    """
    bare = bare.lstrip("#")
    if not bare or bare in street_suffixes() or bare in DIRECTIONALS:
        return False
    return len(bare) <= 2 or _DIGIT.search(bare) is not None


def _upper_ascii(text: str) -> str:
    """Uppercase ASCII letters only, so that "ß" does not become "SS"."""
    return text.upper() if text.isascii() else text


def _unit_text(designator: str, identifier_words: list[str]) -> str:
    identifier = " ".join(word.lstrip("#") for word in identifier_words)
    return f"{designator} {_upper_ascii(identifier)}".strip()


def _split_unit(words: list[str], bare: list[str]) -> int | None:
    """Return the index where a unit ("Apt 4B", "#12") starts, or None."""
    for index in range(1, len(words)):
        word = bare[index]
        if word[:1] == "#" and len(word) > 1:
            return index
        has_identifier = index + 1 < len(words) and _is_unit_identifier(bare[index + 1])
        if word in UNIT_DESIGNATORS and has_identifier:
            return index
    return None


def _unit_from(words: list[str], bare: list[str]) -> str:
    """Build the unit text from its words; the first word is a designator or "#12"."""
    designator = UNIT_DESIGNATORS.get(bare[0])
    if designator is None:
        return _unit_text("#", [words[0][1:], *words[1:]])
    return _unit_text(designator, words[1:])


def _leading_unit(text: str) -> tuple[str | None, str]:
    """Split "Apt 4, 123 Main St" into the unit "Apt 4" and the street "123 Main St"."""
    head, _, tail = text.partition(",")
    words = head.split()
    if not words:
        return None, text
    first = _bare(words[0])
    is_number_sign = first[:1] == "#" and len(first) > 1
    if not is_number_sign and (first not in UNIT_DESIGNATORS or len(words) < 2):
        return None, text
    return _unit_from(words, [first, *words[1:]]), tail.strip()


def _case_word(word: str) -> str:
    ordinal = _ORDINAL_NUMBER.match(word)
    if ordinal:
        return ordinal[1] + ordinal[2].lower()
    if _DIGIT.search(word):
        return word.upper()
    return case_name_word(word.lower())


def _recase(words: list[str]) -> list[str]:
    """Recase street-name words typed in one case; keep them when any is mixed case."""
    if not needs_recase(" ".join(words)):
        return words
    return [
        word.lower() if index and word.lower() in _LOWERCASE_WORDS else _case_word(word)
        for index, word in enumerate(words)
    ]


def _classify(words: list[str], bare: list[str]) -> list[str]:
    """Abbreviate directionals and the suffix of the street words; recase the name.

    Only the street-name words decide whether to recase, because the
    abbreviations replace the other words: "north MAIN" and "N MAIN" both
    give "N Main".
    """
    start, end = 0, len(words)
    number = start < end and _DIGIT.search(words[0]) is not None
    if number:
        start += 1
    post = None
    if end - start >= 3 and bare[end - 1] in DIRECTIONALS:
        post = DIRECTIONALS[bare[end - 1]]
        end -= 1
    suffix = None
    suffixes = street_suffixes()
    if end - start >= 2 and bare[end - 1] in suffixes:
        suffix = suffixes[bare[end - 1]]
        end -= 1
    pre = None
    if end - start >= 2 and bare[start] in DIRECTIONALS:
        pre = DIRECTIONALS[bare[start]]
        start += 1
    result = [words[0].upper()] if number else []
    if pre:
        result.append(pre)
    result.extend(_recase(words[start:end]))
    if suffix:
        result.append(suffix)
    if post:
        result.append(post)
    return result


def street_key(display: str) -> str:
    """Build the comparison key of a display street line: lowercase, no punctuation.

    Ordinal words become numbers, so "Fifth Ave" and "5th Ave" share a key,
    and letters outside ASCII are transliterated ("Straße" gives "strasse").
    """
    if not display.isascii():
        display = anyascii(display)
    words = _KEY_DROP.sub("", display.lower().replace("-", " ")).split()
    return " ".join([ORDINAL_WORDS.get(word, word) for word in words])


def standardize_street(text: str) -> Outcome:
    """Standardize a street line and split off its unit.

    Args:
        text: A clean street line such as "123 north main street apt. 4b".

    Returns:
        The display street ("123 N Main St"), the key ``key`` from
        :func:`street_key` and the unit ("Apt 4B") as the part ``unit``.
        PO boxes become "PO Box 123". A line without letters or digits is
        invalid.
    """
    if not _ALPHANUMERIC.search(text):
        return invalid(f"invalid street {quote(text)}: no letters or digits")
    if text[0] in "pP":
        box = _PO_BOX.match(text.replace(",", " ").strip())
        if box:
            display = f"PO Box {_upper_ascii(box[1])}"
            return Outcome(display, keys=(street_key(display),), parts=(None,))
    unit = None
    if "," in text:
        unit, text = _leading_unit(text)
        text = " ".join(text.replace(",", " ").split())
    words = text.split(" ")
    # Same split as ``words``, because deleting dots keeps every space.
    bare = text.lower().translate(_DELETE_DOTS).split(" ")
    unit_start = _split_unit(words, bare)
    if unit_start is not None:
        unit = _unit_from(words[unit_start:], bare[unit_start:])
        words, bare = words[:unit_start], bare[:unit_start]
    if not _ALPHANUMERIC.search(" ".join(words)):
        return Outcome(None, keys=(None,), parts=(unit,))
    display = " ".join(_classify(words, bare))
    return Outcome(display, keys=(street_key(display),), parts=(unit,))


def standardize_unit(text: str) -> Outcome:
    """Standardize a unit such as "apartment 4b" or "#12" to "Apt 4B" or "# 12".

    A unit without a known designator keeps its words, with an identifier
    typed in one case uppercased ("b" to "B").
    """
    if not _ALPHANUMERIC.search(text):
        return invalid(f"invalid unit {quote(text)}: no letters or digits")
    words = text.replace(",", " ").split()
    if words[0].startswith("#") and len(words[0]) > 1:
        words = ["#", words[0][1:], *words[1:]]
    designator = UNIT_DESIGNATORS.get(_bare(words[0]))
    if designator is None:
        joined = " ".join(words)
        return Outcome(_upper_ascii(joined) if needs_recase(joined) else joined)
    return Outcome(_unit_text(designator, words[1:]))
