"""Whole names, name parts, display casing and nickname keys."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.standardize.names import (
    MAX_NAME_LENGTH,
    standardize_name_part,
    standardize_person_name,
)
from accord.standardize.nickname_groups import nickname_key, representative_table
from accord.standardize.text import clean_text

# (input, country, display, first, middle, last, prefix, suffix)
PERSON_CASES = [
    ("John Smith", None, "John Smith", "John", None, "Smith", None, None),
    ("smith, john", None, "John Smith", "John", None, "Smith", None, None),
    ("SMITH, JOHN A.", None, "John A. Smith", "John", "A.", "Smith", None, None),
    (
        "Dr. Juan de la Cruz Jr.",
        None,
        "Dr Juan de la Cruz Jr",
        "Juan",
        None,
        "de la Cruz",
        "Dr",
        "Jr",
    ),
    ("VAN DER BERG, JAN", None, "Jan van der Berg", "Jan", None, "van der Berg", None, None),
    (
        "Ludwig van Beethoven",
        None,
        "Ludwig van Beethoven",
        "Ludwig",
        None,
        "van Beethoven",
        None,
        None,
    ),
    ("Dick Van Dyke", None, "Dick Van Dyke", "Dick", None, "Van Dyke", None, None),
    ("JOHN O'NEIL III", None, "John O'Neil III", "John", None, "O'Neil", None, "III"),
    ("ronald mcdonald", None, "Ronald McDonald", "Ronald", None, "McDonald", None, None),
    ("ANGUS MACDONALD", None, "Angus MacDonald", "Angus", None, "MacDonald", None, None),
    ("MACK DAVIS", None, "Mack Davis", "Mack", None, "Davis", None, None),
    ("DeAndre Jordan", None, "DeAndre Jordan", "DeAndre", None, "Jordan", None, None),
    (
        "mary-kate olsen-smith",
        None,
        "Mary-Kate Olsen-Smith",
        "Mary-Kate",
        None,
        "Olsen-Smith",
        None,
        None,
    ),
    (
        "Gabriel García Márquez",
        "MX",
        "Gabriel García Márquez",
        "Gabriel",
        None,
        "García Márquez",
        None,
        None,
    ),
    (
        "María José García López",
        "ES",
        "María José García López",
        "María",
        "José",
        "García López",
        None,
        None,
    ),
    ("John Smith PhD", None, "John Smith PhD", "John", None, "Smith", None, "PhD"),
    ("Ms. Jane Doe", None, "Ms Jane Doe", "Jane", None, "Doe", "Ms", None),
    ("PROF. DR. HANS MÜLLER", None, "Prof Dr Hans Müller", "Hans", None, "Müller", "Prof Dr", None),
    ("Smith Jr., John", None, "John Smith Jr", "John", None, "Smith", None, "Jr"),
    ("Robert (Bob) Jones", None, "Robert Jones", "Robert", None, "Jones", None, None),
    (
        "abu bakr al-baghdadi",
        None,
        "Abu Bakr al-Baghdadi",
        "Abu Bakr",
        None,
        "al-Baghdadi",
        None,
        None,
    ),
    ("Cher", None, "Cher", "Cher", None, None, None, None),
    (
        "Martin Luther King Jr",
        None,
        "Martin Luther King Jr",
        "Martin",
        "Luther",
        "King",
        None,
        "Jr",
    ),
    ("Dr. Robert O'NEIL Jr.", None, "Dr Robert O'Neil Jr", "Robert", None, "O'Neil", "Dr", "Jr"),
    ("Mr & Mrs John Smith", None, "Mr & Mrs John Smith", "John", None, "Smith", "Mr & Mrs", None),
    ("Zoë Saldaña", None, "Zoë Saldaña", "Zoë", None, "Saldaña", None, None),
]


@pytest.mark.parametrize(
    ("text", "country", "display", "first", "middle", "last", "prefix", "suffix"), PERSON_CASES
)
def test_person_name_cases(
    text: str,
    country: str | None,
    display: str,
    first: str | None,
    middle: str | None,
    last: str | None,
    prefix: str | None,
    suffix: str | None,
) -> None:
    outcome = standardize_person_name(clean_text(text), country)
    assert outcome.value == display
    assert outcome.parts == (first, middle, last, prefix, suffix)


INVALID_PERSON_CASES = [
    ("12345", "no letters"),
    ("john@example.com", "contains '@'"),
    ("Dr.", "no given or family name"),
    ("John 3", "contains digits"),
    ("", "no letters"),
    ("!!!", "no letters"),
    ("Ann " * 80, "320 characters, more than the 300"),
    ('["Ann", "Bo"]', "a JSON list or object"),
    ('{"first": "Ann"}', "a JSON list or object"),
    ("[]", "no letters"),
]


@pytest.mark.parametrize(("text", "reason_part"), INVALID_PERSON_CASES)
def test_person_name_invalid(text: str, reason_part: str) -> None:
    outcome = standardize_person_name(text)
    assert outcome.value is None
    assert reason_part in str(outcome.reason)


# (input, family, display, key, nick key)
PART_CASES = [
    ("Bob", False, "Bob", "bob", "robert"),
    ("ROBERT", False, "Robert", "robert", "robert"),
    ("bobby", False, "Bobby", "bobby", "robert"),
    ("Liz", False, "Liz", "liz", "elizabeth"),
    ("Elizabeth", False, "Elizabeth", "elizabeth", "elizabeth"),
    ("Peggy", False, "Peggy", "peggy", "margaret"),
    ("Bill", False, "Bill", "bill", "william"),
    ("Jim", False, "Jim", "jim", "james"),
    ("DEANDRE", False, "Deandre", "deandre", "deandre"),
    ("DeAndre", False, "DeAndre", "deandre", "deandre"),
    ("zoë", False, "Zoë", "zoe", "zoe"),
    ("JEAN-LUC", False, "Jean-Luc", "jeanluc", "jane"),
    ("Mary Ann", False, "Mary Ann", "maryann", "mary"),
    ("J.", False, "J.", "j", "j"),
    ("Søren", False, "Søren", "soren", "soren"),
    ("VAN DYKE", True, "van Dyke", "vandyke", None),
    ("van DYKE", True, "van Dyke", "vandyke", None),
    ("Van Dyke", True, "Van Dyke", "vandyke", None),
    ("o'neil", True, "O'Neil", "oneil", None),
    ("MCDONALD", True, "McDonald", "mcdonald", None),
    ("McDONALD", True, "McDONALD", "mcdonald", None),
    ("d'angelo", True, "D'Angelo", "dangelo", None),
    ("SMITH-JONES", True, "Smith-Jones", "smithjones", None),
    ("DE LA CRUZ", True, "de la Cruz", "delacruz", None),
    ("Müller", True, "Müller", "muller", None),
    ("ng", True, "Ng", "ng", None),
    ("Macy", True, "Macy", "macy", None),
    ("MACHADO", True, "Machado", "machado", None),
]


@pytest.mark.parametrize(("text", "family", "display", "key", "nick"), PART_CASES)
def test_name_part_cases(text: str, family: bool, display: str, key: str, nick: str | None) -> None:
    outcome = standardize_name_part(clean_text(text), family=family)
    assert outcome.value == display
    assert outcome.keys[0] == key
    assert outcome.keys[1] == nick


@pytest.mark.parametrize(
    "text", ["123", "a@b", "J0hn", "", "---", "x" * 5_000_000, '["Ann"]', ' {"a": "Bo"} ']
)
def test_name_part_invalid(text: str) -> None:
    assert standardize_name_part(text).reason is not None


@pytest.mark.parametrize("text", ["[Ann]", "Ann (Bo)", '"Bob"', "{Ann"])
def test_name_with_brackets_kept(text: str) -> None:
    assert standardize_name_part(text).reason is None


NICKNAME_PAIRS = [
    ("bob", "robert"),
    ("rob", "robert"),
    ("liz", "elizabeth"),
    ("beth", "elizabeth"),
    ("peggy", "margaret"),
    ("maggie", "margaret"),
    ("bill", "william"),
    ("will", "william"),
    ("billy", "william"),
    ("mike", "michael"),
    ("dick", "richard"),
    ("tom", "thomas"),
    ("tony", "anthony"),
    ("hank", "henry"),
    ("jack", "john"),
    ("molly", "mary"),
]


@pytest.mark.parametrize(("nickname", "formal"), NICKNAME_PAIRS)
def test_nickname_matches_formal_name(nickname: str, formal: str) -> None:
    assert nickname_key(nickname) == nickname_key(formal)


def test_nickname_representatives_are_fixed_points() -> None:
    table = representative_table()
    assert all(table[root] == root for root in set(table.values()))


def test_unknown_name_keeps_own_nickname_key() -> None:
    assert nickname_key("xzqvw") == "xzqvw"


NAME_WORDS = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüñ'-"),
    min_size=1,
    max_size=12,
)


@given(st.text())
def test_person_name_never_raises(text: str) -> None:
    standardize_person_name(clean_text(text))


@given(st.text())
def test_name_part_never_raises(text: str) -> None:
    standardize_name_part(clean_text(text))


@given(st.lists(NAME_WORDS, min_size=1, max_size=4).map(" ".join))
def test_person_name_is_idempotent(text: str) -> None:
    first = standardize_person_name(text)
    if first.value is not None:
        again = standardize_person_name(str(first.value))
        assert again.value == first.value
        assert again.parts == first.parts


@given(st.text())
def test_name_part_is_idempotent(text: str) -> None:
    first = standardize_name_part(clean_text(text))
    if first.value is not None:
        again = standardize_name_part(str(first.value))
        assert again.value == first.value
        assert again.keys == first.keys


def test_person_name_at_length_limit_accepted() -> None:
    # Dozens of given names, as some real names have, up to the limit.
    text = ("Maria " * 49 + "Lopez").ljust(MAX_NAME_LENGTH, "z")
    outcome = standardize_person_name(text)
    assert len(text) == MAX_NAME_LENGTH
    assert outcome.reason is None
