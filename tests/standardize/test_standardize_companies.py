"""Company names and web domains."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accord.standardize.companies import company_key, standardize_company
from accord.standardize.domains import standardize_domain
from accord.standardize.text import clean_text

COMPANY_CASES = [
    ("Acme Inc.", "Acme Inc.", "acme"),
    ("ACME, INC", "ACME, INC", "acme"),
    ("Acme , Inc.", "Acme, Inc.", "acme"),
    ("The Acme Company, Inc.", "The Acme Company, Inc.", "acme"),
    ("Acme Co", "Acme Co", "acme"),
    ("Acme LLC", "Acme LLC", "acme"),
    ("Acme L.L.C.", "Acme L.L.C.", "acme"),
    ("Acme Ltd.", "Acme Ltd.", "acme"),
    ("Acme Corp.", "Acme Corp.", "acme"),
    ("Acme Corporation", "Acme Corporation", "acme"),
    ("Siemens AG", "Siemens AG", "siemens"),
    ("Foo GmbH & Co. KG", "Foo GmbH & Co. KG", "foo"),
    ("Bar S.A.", "Bar S.A.", "bar"),
    ("Tesco PLC", "Tesco PLC", "tesco"),
    ("ABC Holdings Co., Ltd.", "ABC Holdings Co., Ltd.", "abcholdings"),
    ("Johnson & Johnson", "Johnson & Johnson", "johnsonandjohnson"),
    ("Johnson and Johnson", "Johnson and Johnson", "johnsonandjohnson"),
    ("AT&T Inc.", "AT&T Inc.", "atandt"),
    ("L.L.Bean, Inc.", "L.L.Bean, Inc.", "llbean"),
    ("Société Générale S.A.", "Société Générale S.A.", "societegenerale"),
    ("Nestlé S.A.", "Nestlé S.A.", "nestle"),
    ("Barclays UK", "Barclays UK", "barclaysuk"),
    ("The Company", "The Company", "company"),
    ("Inc", "Inc", "inc"),
    ("3M Company", "3M Company", "3m"),
    ("Coca-Cola Co", "Coca-Cola Co", "cocacola"),
    ("eBay", "eBay", "ebay"),
    ("株式会社", "株式会社", "zhushihuishe"),
]


@pytest.mark.parametrize(("text", "display", "key"), COMPANY_CASES)
def test_company_cases(text: str, display: str, key: str) -> None:
    outcome = standardize_company(clean_text(text))
    assert outcome.value == display
    assert outcome.keys[0] == key


def test_company_without_letters_is_invalid() -> None:
    assert standardize_company("&&").reason is not None


def test_company_variants_share_key() -> None:
    assert company_key("The ACME Corp.") == company_key("acme, inc")


DOMAIN_CASES = [
    ("acme.com", "acme.com", False),
    ("ACME.COM", "acme.com", False),
    ("www.acme.com", "acme.com", False),
    ("https://www.Acme.co.uk/about?x=1#top", "acme.co.uk", False),
    ("http://shop.acme.com:8080/", "acme.com", False),
    ("sales@acme.com", "acme.com", False),
    ("mailto:sales@acme.io", "acme.io", False),
    ("acme.com.", "acme.com", False),
    ("a.b.c.acme.com.au", "acme.com.au", False),
    ("bücher.de", "bücher.de", False),
    ("xn--bcher-kva.de", "bücher.de", False),
    ("foo.github.io", "github.io", False),
    ("gmail.com", None, True),
    ("https://mail.google.com", "google.com", False),
    ("yahoo.co.uk", None, True),
    ("mailinator.com", None, True),
    ("john@gmail.com", None, True),
]


@pytest.mark.parametrize(("text", "domain", "is_freemail"), DOMAIN_CASES)
def test_domain_cases(text: str, domain: str | None, is_freemail: bool) -> None:
    outcome = standardize_domain(clean_text(text))
    assert outcome.value == domain
    assert outcome.keys[0] is is_freemail


INVALID_DOMAIN_CASES = [
    ("localhost", "no public suffix"),
    ("acme", "no public suffix"),
    ("192.168.1.1", "IP address"),
    ("http://[::1]/", "IP address"),
    ("acme corp.com", "characters not allowed"),
    ("-acme.com", "characters not allowed"),
    ("https://", "no host name"),
    ("acme_.com", "characters not allowed"),
]


@pytest.mark.parametrize(("text", "reason_part"), INVALID_DOMAIN_CASES)
def test_invalid_domain_cases(text: str, reason_part: str) -> None:
    outcome = standardize_domain(text)
    assert outcome.value is None
    assert reason_part in str(outcome.reason)


@given(st.text())
def test_company_never_raises(text: str) -> None:
    standardize_company(clean_text(text))


@given(st.text())
def test_company_is_idempotent(text: str) -> None:
    first = standardize_company(clean_text(text))
    if first.value is not None:
        again = standardize_company(str(first.value))
        assert again.value == first.value
        assert again.keys == first.keys


@given(st.text())
def test_domain_never_raises(text: str) -> None:
    standardize_domain(clean_text(text))


@given(st.text())
def test_domain_is_idempotent(text: str) -> None:
    first = standardize_domain(clean_text(text))
    if first.value is not None:
        again = standardize_domain(str(first.value))
        assert again.value == first.value
        assert again.keys == first.keys


DOMAIN_TEXT = st.builds(
    "{}{}{}.{}".format,
    st.sampled_from(["", "https://", "http://www.", "mailto:a@"]),
    st.sampled_from(["", "shop.", "WWW."]),
    st.sampled_from(["acme", "Globex", "bücher", "gmail", "example"]),
    st.sampled_from(["com", "co.uk", "de", "io/path"]),
)


@given(DOMAIN_TEXT)
def test_domain_is_idempotent_on_urls(text: str) -> None:
    first = standardize_domain(text)
    if first.value is not None:
        again = standardize_domain(str(first.value))
        assert again.value == first.value
        assert again.keys == first.keys
