"""Email validation, display form and keys."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import assume, given
from hypothesis import strategies as st

from accord.standardize.emails import is_dot_atom, standardize_email
from accord.standardize.text import clean_text

# (input, display, key, domain, is_role, is_freemail)
VALID_CASES = [
    ("john@acme.com", "john@acme.com", "john@acme.com", "acme.com", False, False),
    ("  John@ACME.com ", "John@acme.com", "john@acme.com", "acme.com", False, False),
    (
        "John.Smith+news@gmail.com",
        "John.Smith+news@gmail.com",
        "johnsmith@gmail.com",
        "gmail.com",
        False,
        True,
    ),
    (
        "j.o.h.n@googlemail.com",
        "j.o.h.n@googlemail.com",
        "john@gmail.com",
        "gmail.com",
        False,
        True,
    ),
    (
        "J.Doe+x@GoogleMail.COM",
        "J.Doe+x@googlemail.com",
        "jdoe@gmail.com",
        "gmail.com",
        False,
        True,
    ),
    (
        "first.last+tag@acme.co.uk",
        "first.last+tag@acme.co.uk",
        "first.last@acme.co.uk",
        "acme.co.uk",
        False,
        False,
    ),
    ("info@acme.com", "info@acme.com", "info@acme.com", "acme.com", True, False),
    ("no-reply@acme.com", "no-reply@acme.com", "no-reply@acme.com", "acme.com", True, False),
    (
        "noreply+bounce@acme.com",
        "noreply+bounce@acme.com",
        "noreply@acme.com",
        "acme.com",
        True,
        False,
    ),
    ("Sales@acme.com", "Sales@acme.com", "sales@acme.com", "acme.com", True, False),
    ("support@acme.io", "support@acme.io", "support@acme.io", "acme.io", True, False),
    ("admin@acme.org", "admin@acme.org", "admin@acme.org", "acme.org", True, False),
    (
        "bob@mailinator.com",
        "bob@mailinator.com",
        "bob@mailinator.com",
        "mailinator.com",
        True,
        False,
    ),
    ("bob@yahoo.com", "bob@yahoo.com", "bob@yahoo.com", "yahoo.com", False, True),
    (
        "bob@mail.yahoo.co.uk",
        "bob@mail.yahoo.co.uk",
        "bob@mail.yahoo.co.uk",
        "mail.yahoo.co.uk",
        False,
        True,
    ),
    ("John Smith <john@acme.com>", "john@acme.com", "john@acme.com", "acme.com", False, False),
    ("mailto:john@acme.com", "john@acme.com", "john@acme.com", "acme.com", False, False),
    ("john@acme.com.", "john@acme.com", "john@acme.com", "acme.com", False, False),
    ("'john@acme.com'", "john@acme.com", "john@acme.com", "acme.com", False, False),
    (
        "josé.garcía@acme.com",
        "josé.garcía@acme.com",
        "josé.garcía@acme.com",
        "acme.com",
        False,
        False,
    ),
    ("user@bücher.de", "user@bücher.de", "user@bücher.de", "bücher.de", False, False),
    ("user@xn--bcher-kva.de", "user@bücher.de", "user@bücher.de", "bücher.de", False, False),
    ("o'brien@acme.com", "o'brien@acme.com", "o'brien@acme.com", "acme.com", False, False),
    ("a+b+c@acme.com", "a+b+c@acme.com", "a@acme.com", "acme.com", False, False),
    ("+tag@acme.com", "+tag@acme.com", "+tag@acme.com", "acme.com", False, False),
]


@pytest.mark.parametrize(
    ("text", "display", "key", "domain", "is_role", "is_freemail"), VALID_CASES
)
def test_valid_email_cases(
    text: str, display: str, key: str, domain: str, is_role: bool, is_freemail: bool
) -> None:
    outcome = standardize_email(clean_text(text))
    assert outcome.value == display
    assert outcome.keys[0] == key
    assert outcome.keys[1] == domain
    assert outcome.keys[2] is is_role
    assert outcome.keys[3] is is_freemail


INVALID_CASES = [
    ("john.acme.com", "missing '@'"),
    ("@acme.com", "nothing before '@'"),
    ("john@", "nothing after '@'"),
    ("john@acme", "period"),
    ("john@localhost", "period"),
    ("a..b@acme.com", "two periods"),
    (".a@acme.com", "period"),
    ("john doe@acme.com", "invalid"),
    ("john@acme..com", "period"),
    ("a@b.com, c@d.com", "more than one address"),
    ("a@b.com; c@d.com", "more than one address"),
    ("test@example.com", "reserved for examples"),
    ("none@none.com", "placeholder"),
    ("noemail@noemail.com", "placeholder"),
    ("john@[127.0.0.1]", "IP address"),
    ("john@-acme.com", "invalid"),
    ("x" * 250 + "@acme.com", "too long"),
    ("john@acme.invalid", "special"),
]


@pytest.mark.parametrize(("text", "reason_part"), INVALID_CASES)
def test_invalid_email_cases(text: str, reason_part: str) -> None:
    outcome = standardize_email(clean_text(text))
    assert outcome.value is None
    assert reason_part.lower() in str(outcome.reason).lower()


LOCAL_PARTS = st.text(
    alphabet=st.sampled_from("abcXYZ019.+-_!#$%&'*/=?^`{|}~\"() ,:;<>@[]\\é"),
    min_size=1,
    max_size=20,
)


@given(LOCAL_PARTS)
def test_dot_atom_agrees_with_email_validator(local: str) -> None:
    address = f"{local}@acme.com"
    try:
        validate_email(address, check_deliverability=False)
        accepted = True
    except EmailNotValidError:
        accepted = False
    if is_dot_atom(local):
        assert accepted


@given(LOCAL_PARTS)
def test_email_validity_agrees_with_email_validator(local: str) -> None:
    assume(local == local.strip(" '\"<>"))
    address = f"{local}@acme.com"
    try:
        validate_email(address, check_deliverability=False)
        accepted = True
    except EmailNotValidError:
        accepted = False
    outcome = standardize_email(address)
    if outcome.value is not None and "@" not in local:
        assert accepted


@given(st.text())
def test_email_never_raises(text: str) -> None:
    standardize_email(clean_text(text))


EMAILS = st.builds(
    "{}@{}.{}".format,
    st.text(alphabet=st.sampled_from("abcDEF012.+_-"), min_size=1, max_size=15),
    st.sampled_from(["Gmail", "googlemail", "acme", "Yahoo", "mailinator", "bücher"]),
    st.sampled_from(["com", "co.uk", "de", "IO"]),
)


@given(EMAILS)
def test_email_is_idempotent(text: str) -> None:
    first = standardize_email(text)
    if first.value is not None:
        again = standardize_email(str(first.value))
        assert again.value == first.value
        assert again.keys == first.keys


@given(st.text())
def test_email_is_idempotent_on_any_text(text: str) -> None:
    first = standardize_email(clean_text(text))
    if first.value is not None:
        again = standardize_email(str(first.value))
        assert again.value == first.value
        assert again.keys == first.keys
