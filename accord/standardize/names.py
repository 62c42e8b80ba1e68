"""Person names: splitting, display casing and comparison keys.

``standardize_person_name`` splits a whole name with nameparser into
prefix, given, middle, family and suffix. ``standardize_name_part`` cleans
one of those parts on its own and builds its keys.

NOTE: this module splits 7,000 to 11,000 whole names per second on one core of
the 2-core development VM, so a column of a million distinct ``full_name``
values takes minutes. Separate first and last name fields are much faster.

Display casing changes only words typed in one case: "JOHN MCDONALD" and
"john mcdonald" become "John McDonald", while "DeAndre" or "Dick Van Dyke"
stay as typed because mixed case carries information that rules cannot
recover.
"""

from __future__ import annotations

import functools
import json
import re

from nameparser import HumanName
from nameparser.config import Constants

from accord.standardize.base import Outcome, invalid, quote, word_set
from accord.standardize.nickname_groups import nickname_key
from accord.standardize.text import fold, needs_recase

PERSON_NAME_PARTS = ("first_name", "middle_name", "last_name", "name_prefix", "name_suffix")
"""Fields that :func:`standardize_person_name` derives, in ``Outcome.parts`` order."""

NAME_PART_KEYS = ("key", "nick_key")
"""Key suffixes of :func:`standardize_name_part`, in ``Outcome.keys`` order."""

PARTICLES: frozenset[str] = word_set(
    "van von der den de del della dela di da du la le las los dos das do ten ter te op zu "
    "vom y e bin ibn bint al el"
)
"""Family-name particles written in lowercase before another word ("van Dyke")."""

HISPANIC_COUNTRIES: frozenset[str] = word_set(
    "ES MX AR CO CL PE VE EC GT CU BO DO HN PY SV NI CR PA UY PR PT BR"
)
"""Countries where a family name usually has two words ("García Márquez")."""

# "Mac" starts many names that are not Mac-prefixed ("Machado", "Macias").
# Recasing "Mac" + capital applies to words of 7 letters or more that are
# not in this list, so "MACDONALD" becomes "MacDonald" and "MACK" "Mack".
_MAC_EXCEPTIONS: frozenset[str] = word_set(
    "machado macias mackey macklin machin macedo macario macchi maciel macek mackie "
    "macaluso macomber macauley macaulay mackintosh macintosh machen macey machuca "
    "macedonio macielo mackenna macarthy macbeth macchia macdonnell macheda machinery "
    "mackinac mackinaw macaroni macabre machete"
)

_TITLES: dict[str, str] = {
    "mr": "Mr",
    "mister": "Mr",
    "mrs": "Mrs",
    "ms": "Ms",
    "miss": "Miss",
    "mx": "Mx",
    "dr": "Dr",
    "doctor": "Dr",
    "prof": "Prof",
    "professor": "Prof",
    "rev": "Rev",
    "reverend": "Rev",
    "fr": "Fr",
    "father": "Fr",
    "sir": "Sir",
    "dame": "Dame",
    "lord": "Lord",
    "lady": "Lady",
    "hon": "Hon",
    "honorable": "Hon",
    "capt": "Capt",
    "captain": "Capt",
    "sgt": "Sgt",
    "sergeant": "Sgt",
    "lt": "Lt",
    "col": "Col",
    "gen": "Gen",
    "herr": "Herr",
    "frau": "Frau",
    "sr": "Sr",
    "sra": "Sra",
    "srta": "Srta",
    "mme": "Mme",
    "mlle": "Mlle",
    "m": "M",
}

_SUFFIXES: dict[str, str] = {
    "jr": "Jr",
    "jnr": "Jr",
    "junior": "Jr",
    "sr": "Sr",
    "snr": "Sr",
    "senior": "Sr",
    "i": "I",
    "ii": "II",
    "iii": "III",
    "iv": "IV",
    "v": "V",
    "vi": "VI",
    "2nd": "II",
    "3rd": "III",
    "4th": "IV",
    "phd": "PhD",
    "md": "MD",
    "dds": "DDS",
    "dmd": "DMD",
    "do": "DO",
    "esq": "Esq",
    "esquire": "Esq",
    "cpa": "CPA",
    "mba": "MBA",
    "rn": "RN",
    "jd": "JD",
    "dvm": "DVM",
    "obe": "OBE",
    "mbe": "MBE",
    "cbe": "CBE",
    "ret": "Ret",
}

# nameparser reads a lowercase "e" or "y" as a conjunction ("Ortega y Gasset")
# and an uppercase one as an initial, so recasing them would change the split.
_SINGLE_LETTER_CONJUNCTIONS = frozenset({"e", "y"})

_MAX_REPARSES = 3
_DIGIT = re.compile(r"\d")
# A lowercase letter standing alone ("john a smith"). nameparser reads "a"
# as a word but "A" as an initial, so initials are uppercased before parsing
# to keep the split the same when the display value is parsed again.
_INITIAL = re.compile(r"(?<![^\s,])[^\W\d_A-Z](?=[\s,.]|$)")
_TITLE_SPLIT = re.compile(r"[\s.]+|(&)")


@functools.cache
def _constants() -> Constants:
    """Return one nameparser configuration shared by every parse.

    A private instance keeps nameparser's module-level ``CONSTANTS`` untouched
    and avoids building a new configuration for each name.
    """
    return Constants()


def case_name_word(word: str) -> str:
    """Capitalize one lowercase name word, hyphen part by hyphen part.

    Handles "o'neil" to "O'Neil", "mcdonald" to "McDonald", "macdonald" to
    "MacDonald" and "al-baghdadi" to "al-Baghdadi".
    """
    pieces = word.split("-")
    cased = [_case_piece(piece) for piece in pieces]
    for index in range(len(pieces) - 1):
        if pieces[index] in {"al", "el", "ad", "ar", "as", "at", "an", "ash", "ul"}:
            cased[index] = pieces[index]
    return "-".join(cased)


def _capitalize(piece: str) -> str:
    return piece[:1].title() + piece[1:]


def _case_piece(piece: str) -> str:
    head, apostrophe, tail = piece.partition("'")
    if apostrophe and tail:
        if len(head) == 1:
            return head.upper() + "'" + _case_piece(tail)
        return _case_piece(head) + "'" + tail
    if piece.startswith("mc") and len(piece) >= 4:
        return "Mc" + _capitalize(piece[2:])
    if piece.startswith("mac") and len(piece) >= 7 and piece not in _MAC_EXCEPTIONS:
        return "Mac" + _capitalize(piece[3:])
    return _capitalize(piece)


def case_name(text: str, family: bool) -> str:
    """Recase the words of a name that are typed in one case; keep mixed-case words.

    Args:
        text: A clean name, one or more words.
        family: Whether ``text`` is a family name, whose particles stay
            lowercase before another word ("VAN DER BERG" gives "van der
            Berg", while a typed "Van Dyke" stays as it is).

    Returns:
        The name in display casing: "JOHN" gives "John", "o'neil" gives
        "O'Neil", and "DeAndre" or "McDonald" stay as typed.
    """
    words = text.split(" ")
    last = len(words) - 1
    cased = []
    for index, word in enumerate(words):
        if not needs_recase(word) or word in _SINGLE_LETTER_CONJUNCTIONS:
            cased.append(word)
            continue
        lower = word.lower()
        if family and index < last and lower in PARTICLES:
            cased.append(lower)
        else:
            cased.append(case_name_word(lower))
    return " ".join(cased)


def normalize_title(text: str) -> str:
    """Normalize a name prefix such as "DR." or "prof. dr." to "Dr" or "Prof Dr"."""
    words = [w for w in _TITLE_SPLIT.split(text) if w]
    return " ".join(_TITLES.get(word.lower(), case_name(word, family=False)) for word in words)


def normalize_suffix(text: str) -> str:
    """Normalize a name suffix such as "jr.", "Ph.D." or "iii" to "Jr", "PhD" or "III"."""
    words = [w for w in re.split(r"[\s,]+", text) if w]
    normalized = []
    for word in words:
        compact = word.replace(".", "").lower()
        normalized.append(_SUFFIXES.get(compact, word.replace(".", "").upper()))
    return " ".join(normalized)


# Longer text in a name field is pasted notes or an attack, not a name. The
# longest names on record, with dozens of given names, stay well below it.
MAX_NAME_LENGTH = 300


def _name_problem(text: str) -> str | None:
    """Return why ``text`` cannot be a person's name, or None when it can."""
    if len(text) > MAX_NAME_LENGTH:
        return (
            f"invalid name {quote(text)}: {len(text):,} characters, more than the "
            f"{MAX_NAME_LENGTH} a name can have"
        )
    if not any(c.isalpha() for c in text):
        return f"invalid name {quote(text)}: no letters"
    if "@" in text:
        return f"invalid name {quote(text)}: contains '@', which suggests an email address"
    if _is_json_container(text):
        return (
            f"invalid name {quote(text)}: a JSON list or object, not a name; map one element "
            "of it (for example with list_extract in an expr) or fix the source"
        )
    return None


def _is_json_container(text: str) -> bool:
    """Return whether ``text`` is a JSON array or object, as readers write list values."""
    stripped = text.strip()
    if (stripped[:1], stripped[-1:]) not in (("[", "]"), ("{", "}")):
        return False
    try:
        return isinstance(json.loads(stripped), list | dict)
    except ValueError:
        return False


def _uppercase_initial(match: re.Match[str]) -> str:
    letter = match.group(0)
    return letter if letter in _SINGLE_LETTER_CONJUNCTIONS else letter.upper()


def _split_double_family_name(first: str, middle: str, last: str) -> tuple[str, str]:
    """Move the last middle word into the family name: "García" + "Márquez"."""
    if not middle or " " in last:
        return middle, last
    words = middle.split(" ")
    return " ".join(words[:-1]), f"{words[-1]} {last}"


def standardize_person_name(text: str, country: str | None = None) -> Outcome:
    """Split a whole name into prefix, given, middle, family and suffix.

    Accepts "First Middle Last", "Last, First Middle", particles ("Ludwig van
    Beethoven", "Oscar de la Hoya"), hyphenated family names, prefixes
    ("Dr", "Ms") and suffixes ("Jr", "III", "PhD"). When ``country`` uses
    double family names (see :data:`HISPANIC_COUNTRIES`) and the name has no
    comma, the last two words form the family name.

    Args:
        text: A clean whole name.
        country: ISO alpha-2 country of the record, or None.

    Returns:
        The display name in natural order ("Dr John Smith Jr") and the parts
        in :data:`PERSON_NAME_PARTS` order, or an invalid outcome for text
        without letters or with an "@". When the display differs from the
        input, it is parsed again (up to :data:`_MAX_REPARSES` times) until
        parsing it gives the same outcome, so that the result is stable
        when the stage meets its own output again.
    """
    source = text
    outcome = _split_person_name(source, country)
    for _ in range(_MAX_REPARSES):
        if outcome.value is None or outcome.value == source:
            break
        source = str(outcome.value)
        again = _split_person_name(source, country)
        if again == outcome:
            break
        outcome = again
    return outcome


# A name word with letters only, apart from inner hyphens and apostrophes.
_PLAIN_WORD = re.compile(r"[^\W\d_]{2,}(?:['’-][^\W\d_]+)*")


def _is_plain_word(word: str) -> bool:
    if not _PLAIN_WORD.fullmatch(word):
        return False
    lowered = word.lower()
    constants = _constants()
    return not (
        lowered in constants.titles
        or lowered in constants.suffix_acronyms
        or lowered in constants.suffix_not_acronyms
        or lowered in constants.prefixes
        or lowered in constants.conjunctions
    )


def _split_plain_name(text: str) -> tuple[str, str] | None:
    """Split "First Last" or "Last, First" made of two plain words, or return None.

    Most names in customer data have this shape, and nameparser parses about
    ten thousand names a second; for these shapes it gives the same split, so
    they skip it. A test compares both on a name corpus.
    """
    if "," in text:
        family, _, given = text.partition(",")
        given, family = given.strip(), family.strip()
        if "," in given or " " in given or " " in family:
            return None
    else:
        words = text.split(" ")
        if len(words) != 2:
            return None
        given, family = words
    if _is_plain_word(given) and _is_plain_word(family):
        return given, family
    return None


def _split_person_name(text: str, country: str | None) -> Outcome:
    """Parse a whole name once; see :func:`standardize_person_name`."""
    problem = _name_problem(text)
    if problem:
        return invalid(problem)
    plain = _split_plain_name(text)
    if plain is not None:
        first, middle, last = plain[0], "", plain[1]
        title = suffix_text = ""
    else:
        parsed = HumanName(_INITIAL.sub(_uppercase_initial, text), constants=_constants())
        first, middle, last = parsed.first, parsed.middle, parsed.last
        title, suffix_text = parsed.title, parsed.suffix
    if country in HISPANIC_COUNTRIES and "," not in text and first:
        middle, last = _split_double_family_name(first, middle, last)
    first = case_name(first, family=False)
    middle = case_name(middle, family=False)
    last = case_name(last, family=True)
    prefix = normalize_title(title) if title else ""
    suffix = normalize_suffix(suffix_text) if suffix_text else ""
    if _DIGIT.search(f"{first}{middle}{last}"):
        return invalid(f"invalid name {quote(text)}: contains digits")
    if not (first or middle or last):
        return invalid(f"invalid name {quote(text)}: no given or family name")
    display = " ".join(part for part in (prefix, first, middle, last, suffix) if part)
    parts = (first or None, middle or None, last or None, prefix or None, suffix or None)
    return Outcome(display, parts=parts)


def standardize_name_part(text: str, family: bool = False) -> Outcome:
    """Clean one name part and build its keys.

    Args:
        text: A clean given, middle or family name.
        family: Whether ``text`` is a family name (keeps particles lowercase).

    Returns:
        The display name and the keys in :data:`NAME_PART_KEYS` order: the
        folded name, and for given names the representative of the nickname
        group of the first word ("Bob" and "Robert" both give "robert").
        The nickname key of a family name is None.
    """
    problem = _name_problem(text)
    if problem:
        return invalid(problem)
    if _DIGIT.search(text):
        return invalid(f"invalid name {quote(text)}: contains digits")
    display = case_name(text, family=family)
    key = fold(display)
    if not key:
        return invalid(f"invalid name {quote(text)}: no letters that fold to ASCII")
    if family:
        return Outcome(display, keys=(key, None))
    first_word = fold(display.split(" ")[0].split("-")[0])
    nick = nickname_key(first_word) if first_word else key
    return Outcome(display, keys=(key, nick))
