"""Email addresses: syntax validation, display form and matching keys.

Syntax is checked with email-validator (``check_deliverability=False``, so
no DNS lookup happens). Domains repeat far more than addresses, so each
distinct domain is validated once and cached. A local part made only of
RFC 5322 ``atext`` characters and dots (a dot-atom, at most 64 characters)
is accepted without another email-validator call, because email-validator
accepts exactly such local parts on its first check. Every other local part
(quoted, internationalized, malformed) goes through ``validate_email`` with
a fixed domain.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email

from accord.standardize.base import Outcome, invalid, quote, word_set
from accord.standardize.cache import BoundedCache
from accord.standardize.domains import disposable_domains, freemail_domains, registrable_domain

EMAIL_KEYS = ("key", "domain", "is_role", "is_freemail")
"""Key suffixes of :func:`standardize_email`, in ``Outcome.keys`` order."""

ROLE_LOCAL_PARTS: frozenset[str] = word_set(
    "abuse accounting accounts admin administrator billing careers contact customercare "
    "customerservice customersupport donotreply enquiries enquiry feedback finance hello "
    "help helpdesk hostmaster hr info inquiries it jobs legal mail mailerdaemon marketing "
    "media news newsletter noreply noresponse office orders postmaster press privacy "
    "recruiting reservations root sales security service support team webmaster"
)
"""Local parts of shared mailboxes, compared without dots, hyphens or underscores."""

_PLACEHOLDER_LOCAL_PARTS = word_set(
    "test none noemail nomail no na null nobody asdf xxx abc email unknown fake dummy "
    "notprovided noreply"
)
_PLACEHOLDER_DOMAINS = word_set(
    "test.com none.com noemail.com nomail.com na.com null.com asdf.com xxx.com abc.com "
    "email.com unknown.com fake.com dummy.com domain.com notprovided.com"
)
_RESERVED_DOMAINS = frozenset({"example.com", "example.net", "example.org"})
_GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})

# RFC 5322 "atext": the characters of a dot-atom besides the dot.
_ATEXT = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM_CHARS = _ATEXT + "."
_ANGLE_ADDRESS = re.compile(r"<([^<>]*)>\s*$")
_SEPARATOR = re.compile(r"[,; ]")
_MAX_ADDRESS_LENGTH = 254
_MAX_DOT_ATOM_LENGTH = 64


@dataclass(frozen=True, slots=True)
class _Domain:
    """A validated email domain and what is known about it."""

    display: str
    ascii: str
    registrable: str
    is_freemail: bool
    is_disposable: bool


_DOMAIN_CACHE: BoundedCache[str, _Domain | str] = BoundedCache(65_536)


def _validate_domain(domain: str) -> _Domain | str:
    """Validate the part after the "@" once per distinct domain.

    Returns:
        The normalized domain, or the reason it is invalid.
    """
    cached = _DOMAIN_CACHE.get(domain)
    if cached is None:
        cached = _check_domain(domain)
        _DOMAIN_CACHE.put(domain, cached)
    return cached


def _check_domain(domain: str) -> _Domain | str:
    try:
        checked = validate_email(f"postmaster@{domain}", check_deliverability=False)
    except EmailNotValidError as error:
        return str(error)
    display = checked.domain.lower()
    registrable = registrable_domain(display) or display
    return _Domain(
        display=display,
        ascii=checked.ascii_domain,
        registrable=registrable,
        is_freemail=registrable in freemail_domains(),
        is_disposable=registrable in disposable_domains(),
    )


def _extract_address(text: str) -> str:
    """Strip a "mailto:" prefix, a display name, quotes and trailing punctuation."""
    match = _ANGLE_ADDRESS.search(text) if ">" in text else None
    if match:
        text = match.group(1)
    text = text.strip().rstrip(".,;:").strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].split("?", 1)[0]
    return text


def is_dot_atom(local: str) -> bool:
    """Return whether a local part is an RFC 5322 dot-atom of at most 64 characters.

    A dot-atom is one or more runs of ``atext`` characters joined by single
    dots, with no dot at either end.
    """
    return (
        0 < len(local) <= _MAX_DOT_ATOM_LENGTH
        and not local.strip(_DOT_ATOM_CHARS)
        and local[0] != "."
        and local[-1] != "."
        and ".." not in local
    )


def _validate_local_part(local: str) -> tuple[str, str | None]:
    """Return the normalized local part and the reason it is invalid, if any.

    A local part that is not a plain dot-atom goes through ``validate_email``
    with the fixed domain "example.com", so that only the local part's rules
    apply. The caller checks the length of the whole address.
    """
    if is_dot_atom(local):
        return local, None
    try:
        checked = validate_email(f"{local}@example.com", check_deliverability=False)
    except EmailNotValidError as error:
        return local, str(error)
    return checked.local_part, None


def email_key(local: str, domain: str) -> str:
    """Build the matching key of a valid address.

    The local part is lowercased and loses its "+tag". At gmail.com and
    googlemail.com dots are dropped too, and googlemail.com becomes gmail.com,
    because Gmail delivers all those forms to one mailbox.
    """
    base = local.lower()
    plus = base.find("+")
    if plus > 0:
        base = base[:plus]
    if domain in _GMAIL_DOMAINS:
        base = base.replace(".", "")
        domain = "gmail.com"
    return f"{base}@{domain}"


def is_role_local_part(local: str) -> bool:
    """Return whether a lowercase local part names a shared mailbox ("info", "no-reply")."""
    compact = local.split("+", 1)[0].replace(".", "").replace("-", "").replace("_", "")
    return compact in ROLE_LOCAL_PARTS


def _placeholder_reason(local: str, domain: _Domain) -> str | None:
    if domain.registrable in _RESERVED_DOMAINS:
        return f"{domain.registrable} is reserved for examples"
    if local.lower() in _PLACEHOLDER_LOCAL_PARTS and domain.registrable in _PLACEHOLDER_DOMAINS:
        return "a placeholder address"
    return None


def standardize_email(text: str) -> Outcome:
    """Validate an email address and build its keys.

    Args:
        text: A clean string such as "John.Smith+news@GoogleMail.com" or
            "John Smith <john@acme.com>".

    Returns:
        The display address (local part as typed, domain lowercase) and the
        keys in :data:`EMAIL_KEYS` order: the matching key (see
        :func:`email_key`), the key's domain, whether the address is a role
        or disposable address, and whether the domain is a free-mail
        provider. Invalid syntax, more than one address, reserved example
        domains and placeholder addresses ("test@test.com") are invalid.
    """
    address = _extract_address(text)
    if address.count("@") > 1 and _SEPARATOR.search(address):
        return invalid(f"invalid email {quote(text)}: contains more than one address")
    local, at, domain_part = address.rpartition("@")
    if not at:
        return invalid(f"invalid email {quote(text)}: missing '@'")
    if not local:
        return invalid(f"invalid email {quote(text)}: nothing before '@'")
    if not domain_part:
        return invalid(f"invalid email {quote(text)}: nothing after '@'")
    domain = _validate_domain(domain_part)
    if isinstance(domain, str):
        return invalid(f"invalid email {quote(text)}: {domain}")
    local, problem = _validate_local_part(local)
    if problem:
        return invalid(f"invalid email {quote(text)}: {problem}")
    length = len(local) + 1 + len(domain.ascii)
    if not local.isascii():
        length = len(f"{local}@{domain.ascii}".encode())
    if length > _MAX_ADDRESS_LENGTH:
        return invalid(f"invalid email {quote(text)}: longer than 254 bytes")
    placeholder = _placeholder_reason(local, domain)
    if placeholder:
        return invalid(f"invalid email {quote(text)}: {placeholder}")
    key = email_key(local, domain.display)
    key_domain = key.rpartition("@")[2]
    is_role = domain.is_disposable or is_role_local_part(local.lower())
    return Outcome(
        f"{local}@{domain.display}",
        keys=(key, key_domain, is_role, domain.is_freemail),
    )
