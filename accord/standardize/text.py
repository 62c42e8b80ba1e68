"""Text hygiene, placeholders and folding shared by every standardizer.

Hygiene turns a raw string into the form that every other standardizer
starts from: Unicode NFC, no zero-width or control characters, straight
quotes, single spaces and no leading or trailing space. Folding turns a
clean string into a comparison key: ASCII lowercase letters and digits only.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable

from anyascii import anyascii

from accord.standardize.base import MISSING, Outcome

DEFAULT_PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "",
        "n/a",
        "n.a.",
        "n.a",
        "#n/a",
        "none",
        "null",
        "(null)",
        "<null>",
        "[null]",
        "nil",
        "undefined",
        "unknown",
        "unk",
        "not available",
        "not applicable",
        "not provided",
        "no data",
        "blank",
        "(blank)",
        "empty",
        "tbd",
        "asdf",
        "asdfasdf",
        "qwerty",
        "xxx",
        "xxxx",
        "test@test.com",
        "000-000-0000",
        "(000) 000-0000",
        "0000000000",
        "-",
        "--",
        "?",
    }
)
"""Values that mean "no value", compared lowercase after hygiene.

"na" and "nan" are absent on purpose because Na and Nan are real names.
Strings made only of ASCII punctuation ("...", "***") count as
placeholders as well; :func:`is_placeholder` checks that rule.
"""

# Characters removed outright: C0 and C1 controls other than whitespace,
# zero-width characters, bidirectional marks and the soft hyphen.
_REMOVED = (
    [c for c in range(0x00, 0x20) if chr(c) not in "\t\n\r\x0b\x0c"]
    + list(range(0x7F, 0xA0))
    + [0x00AD, 0x180E, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2060, 0x2061]
    + [0x2062, 0x2063, 0x2064, 0xFEFF]
    + list(range(0x202A, 0x202F))
    + list(range(0x2066, 0x206A))
)
_SINGLE_QUOTES = "\u2018\u2019\u201a\u201b\u2032\u02bc\u00b4"
_DOUBLE_QUOTES = "\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb"

_TRANSLATION: dict[int, str | None] = {code: None for code in _REMOVED}
_TRANSLATION.update({ord(c): "'" for c in _SINGLE_QUOTES})
_TRANSLATION.update({ord(c): '"' for c in _DOUBLE_QUOTES})

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_PUNCTUATION_ONLY = re.compile(r"[!-/:-@\[-`{-~ ]+")
_PUNCTUATION_CHARACTERS = frozenset(string.punctuation)
_WORD_START = re.compile(r"(^|[-.])([^\W\d_])")


def clean_text(text: str) -> str:
    """Apply text hygiene to a string.

    Args:
        text: Any string.

    Returns:
        The string in Unicode NFC with control, zero-width and bidirectional
        formatting characters removed, curly quotes and primes replaced by
        ASCII quotes, and runs of whitespace (including no-break spaces)
        collapsed to one space and trimmed. An all-whitespace string becomes
        the empty string.
    """
    if text.isascii() and text.isprintable() and "  " not in text:
        return text.strip(" ")
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    text = text.translate(_TRANSLATION)
    return " ".join(text.split())


def placeholder_set(
    placeholders: Iterable[str] | None, extra_placeholders: Iterable[str] = ()
) -> frozenset[str]:
    """Build the set of placeholder values from the project settings.

    Args:
        placeholders: Replacement for the built-in list, or None to keep it.
        extra_placeholders: Values added to the list.

    Returns:
        The placeholders after hygiene, lowercased.
    """
    base = DEFAULT_PLACEHOLDERS if placeholders is None else placeholders
    values = [*base, *extra_placeholders]
    return frozenset(clean_text(value).lower() for value in values)


def is_placeholder(clean: str, placeholders: frozenset[str]) -> bool:
    """Return whether a clean string stands for a missing value.

    The empty string and strings made only of ASCII punctuation always count,
    so an empty placeholder list still treats "" and "..." as missing.
    """
    if not clean or clean.lower() in placeholders:
        return True
    if clean[0] not in _PUNCTUATION_CHARACTERS:
        return False
    return _PUNCTUATION_ONLY.fullmatch(clean) is not None


def fold(text: str) -> str:
    """Fold text to a comparison key: ASCII lowercase letters and digits only.

    Accented and non-Latin letters are transliterated with anyascii, so
    "Müller" folds to "muller" and "O'Neil-Smith" to "oneilsmith".
    """
    if not text.isascii():
        text = anyascii(text)
    return _NON_ALNUM.sub("", text.lower())


def needs_recase(text: str) -> bool:
    """Return whether text has cased letters that are all lowercase or all uppercase."""
    return text.islower() or text.isupper()


def title_word(word: str) -> str:
    """Capitalize the first letter of a lowercase word and each letter after "-" or ".".

    "winston-salem" gives "Winston-Salem" and "d.c." gives "D.C.".
    """
    return _WORD_START.sub(lambda match: match.group(1) + match.group(2).title(), word)


def standardize_text(text: str) -> Outcome:
    """Standardize free text: hygiene only.

    Args:
        text: A string that has already been through :func:`clean_text`.

    Returns:
        The text as its own display value.
    """
    return Outcome(text) if text else MISSING


def standardize_city(text: str) -> Outcome:
    """Standardize a city name with display casing.

    All-lowercase and all-uppercase names become title case word by word
    ("SAN FRANCISCO" to "San Francisco", "winston-salem" to "Winston-Salem").
    Mixed-case names such as "McAllen" or "DeKalb" are kept as they are.
    """
    if not text:
        return MISSING
    if needs_recase(text):
        text = " ".join(title_word(word) for word in text.lower().split(" "))
    return Outcome(text)
