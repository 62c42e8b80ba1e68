"""Street lines, units and one-line addresses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.standardize.addresses import standardize_address
from accord.standardize.streets import standardize_street, standardize_unit
from accord.standardize.text import clean_text

# (input, display, key, unit)
STREET_CASES = [
    ("123 Main Street", "123 Main St", "123 main st", None),
    ("123 N. Main St.", "123 N Main St", "123 n main st", None),
    ("123 NORTH MAIN STREET", "123 N Main St", "123 n main st", None),
    ("123 north main street apt. 4b", "123 N Main St", "123 n main st", "Apt 4B"),
    ("123 North Ave", "123 North Ave", "123 north ave", None),
    ("1600 Pennsylvania Avenue NW", "1600 Pennsylvania Ave NW", "1600 pennsylvania ave nw", None),
    ("500 W 5th St Suite 200", "500 W 5th St", "500 w 5th st", "Ste 200"),
    ("350 fifth avenue", "350 Fifth Ave", "350 5th ave", None),
    ("350 5th Ave", "350 5th Ave", "350 5th ave", None),
    ("12 Oak Boulevard", "12 Oak Blvd", "12 oak blvd", None),
    ("12 Oak Blvd.", "12 Oak Blvd", "12 oak blvd", None),
    ("77 Elm Parkway", "77 Elm Pkwy", "77 elm pkwy", None),
    ("9 Sunset Drive Apartment 12", "9 Sunset Dr", "9 sunset dr", "Apt 12"),
    ("1 Main St #5", "1 Main St", "1 main st", "# 5"),
    ("1 Main St, Suite 200", "1 Main St", "1 main st", "Ste 200"),
    ("Apt 4, 123 Main St", "123 Main St", "123 main st", "Apt 4"),
    ("123 Main St Unit B", "123 Main St", "123 main st", "Unit B"),
    ("P.O. Box 123", "PO Box 123", "po box 123", None),
    ("po box 55", "PO Box 55", "po box 55", None),
    ("Post Office Box 9", "PO Box 9", "po box 9", None),
    ("POB 77", "PO Box 77", "po box 77", None),
    ("123 Lot Rd", "123 Lot Rd", "123 lot rd", None),
    ("12 st. marks place", "12 St. Marks Pl", "12 st marks pl", None),
    ("100 MACARTHUR BLVD", "100 MacArthur Blvd", "100 macarthur blvd", None),
    ("12 AVENUE OF THE AMERICAS", "12 Avenue of the Americas", "12 avenue of the americas", None),
    ("221B Baker Street", "221B Baker St", "221b baker st", None),
    ("10 Downing Street", "10 Downing St", "10 downing st", None),
    ("Rue de Rivoli 10", "Rue de Rivoli 10", "rue de rivoli 10", None),
    ("742 Evergreen Terrace", "742 Evergreen Ter", "742 evergreen ter", None),
    ("Straße des 17. Juni 135", "Straße des 17. Juni 135", "strasse des 17 juni 135", None),
]


@pytest.mark.parametrize(("text", "display", "key", "unit"), STREET_CASES)
def test_street_cases(text: str, display: str, key: str, unit: str | None) -> None:
    outcome = standardize_street(clean_text(text))
    assert outcome.value == display
    assert outcome.keys[0] == key
    assert outcome.parts[0] == unit


@pytest.mark.parametrize("text", ["---", "#", "", "..."])
def test_street_without_letters_is_invalid(text: str) -> None:
    assert standardize_street(text).reason is not None


UNIT_CASES = [
    ("apartment 4b", "Apt 4B"),
    ("#12", "# 12"),
    ("# 12", "# 12"),
    ("Suite 200", "Ste 200"),
    ("SUITE 200", "Ste 200"),
    ("Ste. 5", "Ste 5"),
    ("b", "B"),
    ("Floor 3", "Fl 3"),
    ("fl 12", "Fl 12"),
    ("Unit A1", "Unit A1"),
    ("unit c", "Unit C"),
    ("Apt #7", "Apt 7"),
    ("APT 7-B", "Apt 7-B"),
    ("Building 4", "Bldg 4"),
    ("bldg. c", "Bldg C"),
    ("Room 101", "Rm 101"),
    ("Department 9", "Dept 9"),
    ("Office 3", "Ofc 3"),
    ("space 14", "Spc 14"),
    ("Lot 22", "Lot 22"),
    ("Trailer 5", "Trlr 5"),
    ("Penthouse 2", "Ph 2"),
    ("rear", "REAR"),
    ("apt, 3", "Apt 3"),
    ("Apt ß", "Apt ß"),
    ("Wohnung 3", "Wohnung 3"),
]


@pytest.mark.parametrize(("text", "display"), UNIT_CASES)
def test_unit_cases(text: str, display: str) -> None:
    assert standardize_unit(text).value == display


# (input, country hint, street, unit, city, region, postal code, country)
ADDRESS_CASES = [
    (
        "123 N. Main Street Apt 4B, Springfield, IL 62704-1234",
        None,
        ("123 N Main St", "Apt 4B", "Springfield", "IL", "62704-1234", "US"),
    ),
    ("PO Box 123, Austin TX 78701", None, ("PO Box 123", None, "Austin", "TX", "78701", "US")),
    (
        "1600 Pennsylvania Avenue NW, Washington, DC 20500",
        None,
        ("1600 Pennsylvania Ave NW", None, "Washington", "DC", "20500", "US"),
    ),
    (
        "500 W 5TH ST SUITE 200 AUSTIN TEXAS 78701 USA",
        None,
        ("500 W 5th St", "Ste 200", "Austin", "TX", "78701", "US"),
    ),
    (
        "1 Main St #5, Boston, MA 02108",
        None,
        ("1 Main St", "# 5", "Boston", "MA", "02108", "US"),
    ),
    (
        "10 Downing Street, London SW1A 2AA, UK",
        None,
        ("10 Downing St", None, "London", None, "SW1A 2AA", "GB"),
    ),
    (
        "10 Downing Street, London SW1A 2AA",
        "GB",
        ("10 Downing St", None, "London", None, "SW1A 2AA", "GB"),
    ),
    (
        "Unter den Linden 77, 10117 Berlin, Germany",
        None,
        ("Unter den Linden 77", None, "Berlin", None, "10117", "DE"),
    ),
    (
        "24 Sussex Drive, Ottawa, ON K1M 1M4, Canada",
        None,
        ("24 Sussex Dr", None, "Ottawa", "ON", "K1M 1M4", "CA"),
    ),
    (
        "1 George St, Sydney NSW 2000, Australia",
        None,
        ("1 George St", None, "Sydney", "NSW", "2000", "AU"),
    ),
    ("Springfield, IL", None, (None, None, "Springfield", "IL", None, "US")),
    ("Los Angeles, CA", None, (None, None, "Los Angeles", "CA", None, "US")),
    ("Toronto, Ontario", "CA", (None, None, "Toronto", "ON", None, "CA")),
    (
        "1 Rue de Rivoli, 75001 Paris, France",
        None,
        ("1 Rue de Rivoli", None, "Paris", None, "75001", "FR"),
    ),
    (
        "350 Fifth Avenue, New York, NY 10118",
        None,
        ("350 Fifth Ave", None, "New York", "NY", "10118", "US"),
    ),
    (
        "350 FIFTH AVE NEW YORK NY 10118",
        None,
        ("350 Fifth Ave", None, "New York", "NY", "10118", "US"),
    ),
    (
        "742 evergreen terrace, springfield, or 97403",
        None,
        ("742 Evergreen Ter", None, "Springfield", "OR", "97403", "US"),
    ),
    ("P.O. Box 9, Juneau, AK 99801", None, ("PO Box 9", None, "Juneau", "AK", "99801", "US")),
    (
        "77 Massachusetts Ave, Cambridge, MA 2139",
        None,
        ("77 Massachusetts Ave", None, "Cambridge", "MA", "02139", "US"),
    ),
    (
        "1 Infinite Loop, Cupertino, California 95014, United States",
        None,
        ("1 Infinite Loop", None, "Cupertino", "CA", "95014", "US"),
    ),
    (
        "221B Baker Street, London NW1 6XE, United Kingdom",
        None,
        ("221B Baker St", None, "London", None, "NW1 6XE", "GB"),
    ),
    (
        "Damrak 1, 1012 LG Amsterdam, Netherlands",
        None,
        ("Damrak 1", None, "Amsterdam", None, "1012 LG", "NL"),
    ),
    (
        "Bahnhofstrasse 1, 8001 Zürich, Schweiz",
        None,
        ("Bahnhofstrasse 1", None, "Zürich", None, "8001", "CH"),
    ),
    (
        "100 Queen St W, Toronto, ON M5H 2N2",
        "CA",
        ("100 Queen St W", None, "Toronto", "ON", "M5H 2N2", "CA"),
    ),
    (
        "Av. Paulista 1000, São Paulo, 01310-100, Brasil",
        None,
        ("Av. Paulista 1000", None, "São Paulo", None, "01310-100", "BR"),
    ),
]


@pytest.mark.parametrize(("text", "hint", "parts"), ADDRESS_CASES)
def test_address_cases(text: str, hint: str | None, parts: tuple[str | None, ...]) -> None:
    assert standardize_address(clean_text(text), hint).parts == parts


def test_us_address_display_uses_standard_parts() -> None:
    outcome = standardize_address("123 N. Main Street Apt 4B, Springfield, IL 62704-1234")
    assert outcome.value == "123 N Main St Apt 4B, Springfield, IL 62704-1234"


def test_address_keeps_invalid_part_as_parsed() -> None:
    outcome = standardize_address("123 Main St, Springfield, IL 6270X")
    assert outcome.parts[4] == "6270X"


def test_address_without_letters_is_invalid() -> None:
    assert standardize_address("?? ,, !!").reason is not None


STREET_WORDS = st.lists(
    st.sampled_from(
        [
            "123",
            "9",
            "221B",
            "N",
            "north",
            "Main",
            "MAIN",
            "oak",
            "St",
            "Street",
            "ave.",
            "Apt",
            "4b",
            "#5",
            "Suite",
            "200",
            "of",
            "the",
            "PO",
            "Box",
            "SW",
            ",",
        ]
    ),
    min_size=1,
    max_size=7,
).map(" ".join)


@given(STREET_WORDS)
def test_street_is_idempotent(text: str) -> None:
    first = standardize_street(clean_text(text))
    if first.value is not None:
        again = standardize_street(str(first.value))
        assert again.value == first.value
        assert again.keys == first.keys


@given(st.text())
def test_street_is_idempotent_on_any_text(text: str) -> None:
    first = standardize_street(clean_text(text))
    if first.value is not None:
        again = standardize_street(str(first.value))
        assert again.value == first.value
        assert again.keys == first.keys


@given(st.text())
def test_street_never_raises(text: str) -> None:
    standardize_street(clean_text(text))


@given(st.text())
def test_unit_never_raises(text: str) -> None:
    standardize_unit(clean_text(text))


@given(st.text(), st.sampled_from([None, "US", "GB", "CA", "DE"]))
def test_address_never_raises(text: str, country: str | None) -> None:
    standardize_address(clean_text(text), country)


US_ADDRESSES = st.builds(
    "{} {} {}{}, {}, {} {}".format,
    st.integers(min_value=1, max_value=99999),
    st.sampled_from(["Main", "MAIN", "north oak", "Pennsylvania", "MacArthur", "5th", "Elm"]),
    st.sampled_from(["Street", "St.", "AVENUE", "Blvd", "Rd", "drive"]),
    st.sampled_from(["", " Apt 4B", " Suite 200", " #12", " unit c"]),
    st.sampled_from(["Springfield", "SAN FRANCISCO", "austin", "Washington"]),
    st.sampled_from(["IL", "California", "tx", "DC"]),
    st.sampled_from(["62704", "94103-1234", "78701", "20500"]),
)


@given(US_ADDRESSES)
def test_address_is_idempotent(text: str) -> None:
    first = standardize_address(text)
    again = standardize_address(str(first.value))
    assert again.value == first.value
    assert again.parts == first.parts
