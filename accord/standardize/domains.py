"""Web domains: registrable domain of a URL, host or email address.

The public suffix list comes only from the snapshot bundled with tldextract
(``suffix_list_urls=()``, ``cache_dir=None``), so no lookup ever leaves the
machine and nothing is written to disk.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re

import tldextract

from accord.standardize.base import Outcome, invalid, quote, read_data_lines

DOMAIN_KEYS = ("is_freemail",)
"""Key suffixes of :func:`standardize_domain`, in ``Outcome.keys`` order."""

_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*://", re.IGNORECASE)
_HOST_LABEL = re.compile(r"^[^\W_](?:[\w-]{0,61}[^\W_])?$")


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


@functools.cache
def freemail_domains() -> frozenset[str]:
    """Return the registrable domains of free and consumer mail providers."""
    return frozenset(read_data_lines("freemail_domains.txt"))


@functools.cache
def disposable_domains() -> frozenset[str]:
    """Return the registrable domains of disposable mail services."""
    return frozenset(read_data_lines("disposable_domains.txt"))


def host_of(text: str) -> str:
    """Return the lowercase host of a URL, email address or bare host name.

    Drops the scheme, user information, path, query, fragment, port and a
    trailing dot. Punycode labels ("xn--bcher-kva") become Unicode ("bücher").
    """
    host = _SCHEME.sub("", text.strip())
    host = re.split(r"[/?#]", host, maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    if not host.startswith("["):
        host = host.split(":", 1)[0]
    host = host.rstrip(".").lower()
    if "xn--" in host:
        with contextlib.suppress(UnicodeError):
            host = host.encode("ascii").decode("idna")
    return host


def registrable_domain(host: str) -> str:
    """Return the registrable domain of a lowercase host, or "" when it has none.

    "www.acme.co.uk" gives "acme.co.uk". Hosts without a public suffix
    ("localhost", "acme") and IP addresses give "".
    """
    parts = _extractor()(host)
    if not parts.suffix or not parts.domain:
        return ""
    return f"{parts.domain}.{parts.suffix}"


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def standardize_domain(text: str) -> Outcome:
    """Reduce a URL, email address or host to its registrable domain.

    Args:
        text: A clean string such as "https://www.Acme.co.uk/about",
            "sales@acme.com" or "acme.com".

    Returns:
        The registrable domain and the key ``is_freemail``. A free-mail or
        disposable domain ("gmail.com", "mailinator.com") has no value and
        ``is_freemail`` True, so that it never links companies. IP addresses, hosts without a public
        suffix and hosts with invalid characters are invalid.
    """
    host = host_of(text)
    if not host:
        return invalid(f"invalid domain {quote(text)}: no host name")
    if _is_ip_address(host):
        return invalid(f"invalid domain {quote(text)}: an IP address, not a domain name")
    labels = host.split(".")
    if not all(_HOST_LABEL.match(label) for label in labels):
        return invalid(f"invalid domain {quote(text)}: characters not allowed in a host name")
    domain = registrable_domain(host)
    if not domain:
        return invalid(f"invalid domain {quote(text)}: no public suffix such as .com")
    if domain in freemail_domains() or domain in disposable_domains():
        return Outcome(None, keys=(True,))
    return Outcome(domain, keys=(False,))
