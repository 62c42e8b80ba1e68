"""Distinguishing-field guards: evidence that two records are different people.

Household members and twins agree on family name, address, phone and
sometimes birth date, so the given name is what distinguishes them. A pair
whose given names clearly differ is not linked, whatever its match weight,
unless a shared email names one of them (below) or a steward records a
must-link decision.

Two records that share a personal email are linked even when their given
names differ, if the email names one of them: ``ruby.dixon@`` on a Kyle
Dixon record and a Ruby Dixon record says the mailbox is Ruby's and the
Kyle record carries a wrong given name. An email that names neither (an
initial both share, or no family name) leaves the guard in force.

When one record has no given name, its email often carries one
(``ksmith@...`` or ``kate.smith@...`` for family name Smith), and that hint
is compared with the other record's given name.
"""

from __future__ import annotations

from rapidfuzz.distance import JaroWinkler

from accord.resolve.comparisons import Record
from accord.resolve.inputs import nickname_set

MIN_FAMILY_NAME = 3


def given_name_hint(record: Record) -> str | None:
    """Return the given name or initial that a record's email spells around its family name."""
    local = record.get("email_local_key")
    family = record.get("last_name_key")
    if not local or not family or len(family) < MIN_FAMILY_NAME or local == family:
        return None
    if local.endswith(family):
        return local[: -len(family)] or None
    if local.startswith(family):
        return local[len(family) :] or None
    return None


def hint_conflicts(given_name: str, hint: str) -> bool:
    """Return whether an email hint contradicts a given name (both folded)."""
    if len(hint) == 1:
        return hint != given_name[0]
    if hint == given_name or hint.startswith(given_name) or given_name.startswith(hint):
        return False
    if hint in nickname_set(given_name) or given_name in nickname_set(hint):
        return False
    return JaroWinkler.similarity(hint, given_name) < 0.8


def missing_given_name_conflict(left: Record, right: Record) -> bool:
    """Return whether the email of the record without a given name contradicts the other's."""
    first_left, first_right = left.get("first_name_key"), right.get("first_name_key")
    if (first_left is None) == (first_right is None):
        return False
    named, unnamed = (left, right) if first_left is not None else (right, left)
    if named.get("last_name_key") != unnamed.get("last_name_key"):
        return False
    hint = given_name_hint(unnamed)
    return hint is not None and hint_conflicts(str(named["first_name_key"]), hint)


def email_names_either(left: Record, right: Record) -> bool:
    """Return whether a shared email spells the given name or initial of one of the records."""
    for record in (left, right):
        first = record.get("first_name_key")
        hint = given_name_hint(record)
        if not first or hint is None:
            continue
        if len(hint) == 1:
            other = right if record is left else left
            other_first = other.get("first_name_key") or ""
            if hint == first[0] and not other_first.startswith(hint):
                return True
        elif not hint_conflicts(str(first), hint):
            return True
    return False
