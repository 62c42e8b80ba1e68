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

_PO_BOX = re.compile(
    r"^(?:p\.?\s*o\.?\s*box|post\s+office\s+box|p\.?\s*o\.?\s*b\.?|pob)\s*(?:no\.?|#)?\s*"
    r"([\w-]+)$",
    re.IGNORECASE,
)
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


def _is_unit_identifier(word: str) -> bool:
    """Return whether a word can follow a unit designator ("4B", "200", "C")."""
    bare = _bare(word).lstrip("#")
    if not bare or bare in street_suffixes():
        return False
    return any(c.isdigit() for c in bare) or len(bare) <= 2


def _split_unit(words: list[str]) -> tuple[list[str], str | None]:
    """Split the words into street words and a unit ("Apt 4B", "# 12")."""
    for index in range(1, len(words)):
        bare = _bare(words[index])
        rest = words[index + 1 :]
        if bare.startswith("#") and len(bare) > 1:
            identifier = " ".join([words[index][1:], *rest])
            return words[:index], f"# {identifier.upper()}"
        designator = UNIT_DESIGNATORS.get(bare)
        if designator and rest and _is_unit_identifier(rest[0]):
            identifier = " ".join(word.lstrip("#") for word in rest)
            return words[:index], f"{designator} {identifier.upper()}"
    return words, None


def _leading_unit(text: str) -> tuple[str | None, str]:
    """Split "Apt 4, 123 Main St" into the unit "Apt 4" and the street "123 Main St"."""
    head, comma, tail = text.partition(",")
    words = head.split()
    if not comma or not words:
        return None, text
    first = _bare(words[0])
    if first.startswith("#") and len(first) > 1:
        return f"# {' '.join([words[0][1:], *words[1:]]).upper()}", tail.strip()
    designator = UNIT_DESIGNATORS.get(first)
    if designator and len(words) > 1:
        identifier = " ".join(word.lstrip("#") for word in words[1:])
        return f"{designator} {identifier.upper()}", tail.strip()
    return None, text


def _case_word(word: str) -> str:
    ordinal = _ORDINAL_NUMBER.match(word)
    if ordinal:
        return ordinal[1] + ordinal[2].lower()
    if any(c.isdigit() for c in word):
        return word.upper()
    return case_name_word(word.lower())


def _classify(words: list[str]) -> list[str]:
    """Abbreviate directionals and the suffix of the street words; keep the name."""
    number: list[str] = []
    if words and any(c.isdigit() for c in words[0]):
        number, words = [words[0]], words[1:]
    suffixes = street_suffixes()
    post: list[str] = []
    if len(words) >= 3 and _bare(words[-1]) in DIRECTIONALS:
        post, words = [DIRECTIONALS[_bare(words[-1])]], words[:-1]
    suffix: list[str] = []
    if len(words) >= 2 and _bare(words[-1]) in suffixes:
        suffix, words = [suffixes[_bare(words[-1])]], words[:-1]
    pre: list[str] = []
    if len(words) >= 2 and _bare(words[0]) in DIRECTIONALS:
        pre, words = [DIRECTIONALS[_bare(words[0])]], words[1:]
    return [*number, *pre, *words, *suffix, *post]


def street_key(display: str) -> str:
    """Build the comparison key of a display street line: lowercase, no punctuation.

    Ordinal words become numbers, so "Fifth Ave" and "5th Ave" share a key.
    """
    words = _KEY_DROP.sub("", display.lower().replace("-", " ")).split()
    return " ".join(ORDINAL_WORDS.get(word, word) for word in words)


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
    if not any(c.isalnum() for c in text):
        return invalid(f"invalid street {quote(text)}: no letters or digits")
    recase = needs_recase(text)
    box = _PO_BOX.match(text.replace(",", " ").strip())
    if box:
        display = f"PO Box {box[1].upper()}"
        return Outcome(display, keys=(street_key(display),), parts=(None,))
    leading_unit, text = _leading_unit(text)
    words = [word for word in text.replace(",", " ").split() if word]
    street_words, unit = _split_unit(words)
    unit = unit or leading_unit
    if recase:
        street_words = [
            word.lower() if index and word.lower() in _LOWERCASE_WORDS else _case_word(word)
            for index, word in enumerate(street_words)
        ]
    display = " ".join(_classify(street_words))
    return Outcome(display, keys=(street_key(display),), parts=(unit,))


def standardize_unit(text: str) -> Outcome:
    """Standardize a unit such as "apartment 4b" or "#12" to "Apt 4B" or "# 12".

    A unit without a known designator keeps its words, with an identifier
    typed in one case uppercased ("b" to "B").
    """
    if not any(c.isalnum() for c in text):
        return invalid(f"invalid unit {quote(text)}: no letters or digits")
    words = text.replace(",", " ").split()
    if words[0].startswith("#") and len(words[0]) > 1:
        words = ["#", words[0][1:], *words[1:]]
    designator = UNIT_DESIGNATORS.get(_bare(words[0]))
    if designator is None:
        return Outcome(" ".join(words).upper() if needs_recase(text) else " ".join(words))
    identifier = " ".join(word.lstrip("#").upper() for word in words[1:])
    return Outcome(f"{designator} {identifier}".strip())
