"""Company names: display form and a key without legal form or punctuation.

The legal forms come from cleanco's term list (Inc, LLC, Ltd, GmbH, S.A.,
Corp, Co, PLC and about 250 more across countries).
"""

from __future__ import annotations

import functools
import re

from cleanco import prepare_default_terms

from accord.standardize.base import Outcome, invalid, quote
from accord.standardize.text import fold

COMPANY_KEYS = ("key",)
"""Key suffixes of :func:`standardize_company`, in ``Outcome.keys`` order."""

# Terms in cleanco's list that are also ordinary trailing words of a name
# ("Barclays UK", "Acme Private", "Bistro Ent") and so stay in the key.
_KEPT_TERMS = frozenset({("uk",), ("eu",), ("private",), ("ent",), ("pp",), ("ps",)})

_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,.;:])")
_ALPHANUMERIC = re.compile(r"[^\W_]")
_TOKEN_SEPARATORS = re.compile(r"[\s,]+")


@functools.cache
def legal_forms() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Return cleanco's legal-form terms as folded word tuples.

    Returns:
        The terms grouped by their last word, longest term first in each
        group, so a lookup by a name's last word finds every candidate.
    """
    forms: set[tuple[str, ...]] = set()
    for _, words in prepare_default_terms():
        folded = tuple(fold(word.replace("&", "and")) for word in words)
        folded = tuple(word for word in folded if word)
        if folded and folded not in _KEPT_TERMS:
            forms.add(folded)
    by_last_word: dict[str, list[tuple[str, ...]]] = {}
    for form in sorted(forms, key=lambda form: (-len(form), form)):
        by_last_word.setdefault(form[-1], []).append(form)
    return {word: tuple(group) for word, group in by_last_word.items()}


def _key_words(text: str) -> list[str]:
    spaced = text.replace("&", " and ").replace("+", " and ")
    words = (fold(word) for word in _TOKEN_SEPARATORS.split(spaced))
    return [word for word in words if word]


def _strip_legal_forms(words: list[str]) -> list[str]:
    """Remove trailing legal forms ("Holdings Co., Ltd." loses "Co" and "Ltd")."""
    forms = legal_forms()
    stripped = True
    while stripped and len(words) > 1:
        stripped = False
        for form in forms.get(words[-1], ()):
            size = len(form)
            if len(words) > size and tuple(words[-size:]) == form:
                del words[-size:]
                stripped = True
                break
    return words


def company_key(text: str) -> str:
    """Build the matching key of a company name.

    Drops a leading "The", trailing legal forms (at least one word always
    stays), punctuation and spaces, and folds the rest: "The Acme Company,
    Inc." and "ACME Co" both give "acme". "&" and "+" count as "and".
    """
    words = _key_words(text)
    if len(words) > 1 and words[0] == "the":
        words = words[1:]
    return "".join(_strip_legal_forms(words))


def standardize_company(text: str) -> Outcome:
    """Clean a company name and build its key.

    Args:
        text: A clean company name.

    Returns:
        The name as typed with spaces before commas and periods removed,
        and the key ``key`` from :func:`company_key`. A name without letters
        or digits is invalid.
    """
    display = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    key = company_key(display)
    if not key or not _ALPHANUMERIC.search(display):
        return invalid(f"invalid company name {quote(text)}: no letters or digits")
    return Outcome(display, keys=(key,))
