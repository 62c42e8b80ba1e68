"""The standardizers by name, their keys and parts, and the default per field."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from accord.model import CANONICAL_FIELDS
from accord.standardize.addresses import ADDRESS_PARTS, standardize_address
from accord.standardize.base import Outcome, Scalar
from accord.standardize.companies import COMPANY_KEYS, standardize_company
from accord.standardize.config import StandardizerName
from accord.standardize.countries import standardize_country, standardize_region
from accord.standardize.dates import (
    DATE_KEYS,
    DateContext,
    standardize_date,
    standardize_timestamp,
)
from accord.standardize.domains import DOMAIN_KEYS, standardize_domain
from accord.standardize.emails import EMAIL_KEYS, standardize_email
from accord.standardize.names import (
    NAME_PART_KEYS,
    PERSON_NAME_PARTS,
    standardize_name_part,
    standardize_person_name,
)
from accord.standardize.phones import PHONE_KEYS, phone_text, standardize_phone
from accord.standardize.postal_codes import POSTAL_CODE_KEYS, postal_text, standardize_postal_code
from accord.standardize.streets import (
    STREET_KEYS,
    STREET_PARTS,
    standardize_street,
    standardize_unit,
)
from accord.standardize.text import standardize_city, standardize_text

Runner = Callable[[object, Hashable], Outcome]


@dataclass(frozen=True)
class Standardizer:
    """One kind of value: how to standardize it and what it adds.

    Attributes:
        name: Name used in the project file.
        run: Standardizes one value in a context built by the stage. The
            value is a clean, non-placeholder string or, for kinds that
            accept them, a number, date or datetime.
        keys: Suffixes of the key columns, in ``Outcome.keys`` order.
        parts: Fields that the value derives, in ``Outcome.parts`` order.
        context: What the context holds: "none", "country" (the record's
            country), "phone" (regions to try), "date" (a DateContext) or
            "family" (whether the field is a family name).
        coerce: Converts a non-string input (a number, date or datetime) to
            what ``run`` accepts.
    """

    name: StandardizerName
    run: Runner
    keys: tuple[str, ...] = ()
    parts: tuple[str, ...] = ()
    context: str = "none"
    coerce: Callable[[object], object] = lambda value: as_text(value)


def as_text(value: object) -> str:
    """Convert a number, date or datetime to text for a text-based standardizer.

    Integral floats lose their ".0", so a spreadsheet cell holding 2134.0
    gives "2134". Booleans become "true" or "false".
    """
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def to_scalar(value: object) -> Scalar:
    """Convert a value to a JSON-serializable scalar without other changes.

    Dates and datetimes become ISO 8601 strings, non-finite floats None,
    and types other than str, int, float and bool their ``str()``.
    """
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _run_text(value: object, context: Hashable) -> Outcome:
    if isinstance(value, str):
        return standardize_text(value)
    return Outcome(to_scalar(value))


def _run_none(value: object, context: Hashable) -> Outcome:
    return Outcome(to_scalar(value))


def _text_runner(function: Callable[[str], Outcome]) -> Runner:
    def run(value: object, context: Hashable) -> Outcome:
        return function(str(value))

    return run


def _run_person_name(value: object, context: Hashable) -> Outcome:
    return standardize_person_name(str(value), context if isinstance(context, str) else None)


def _run_name_part(value: object, context: Hashable) -> Outcome:
    return standardize_name_part(str(value), family=bool(context))


def _run_phone(value: object, context: Hashable) -> Outcome:
    regions = context if isinstance(context, tuple) else ("US",)
    return standardize_phone(str(value), regions)


def _run_address(value: object, context: Hashable) -> Outcome:
    return standardize_address(str(value), context if isinstance(context, str) else None)


def _run_postal_code(value: object, context: Hashable) -> Outcome:
    return standardize_postal_code(str(value), context if isinstance(context, str) else None)


def _run_region(value: object, context: Hashable) -> Outcome:
    return standardize_region(str(value), context if isinstance(context, str) else None)


def _run_date(value: object, context: Hashable) -> Outcome:
    if not isinstance(context, DateContext):
        raise TypeError("the date standardizer needs a DateContext")
    return standardize_date(value, context)


def _run_timestamp(value: object, context: Hashable) -> Outcome:
    if not isinstance(context, DateContext):
        raise TypeError("the timestamp standardizer needs a DateContext")
    return standardize_timestamp(value, context)


def _phone_input(value: object) -> object:
    return phone_text(value) or as_text(value)


def _postal_input(value: object) -> object:
    return postal_text(value) or as_text(value)


def _unchanged(value: object) -> object:
    return value


STANDARDIZERS: dict[str, Standardizer] = {
    std.name: std
    for std in [
        Standardizer("text", _run_text, coerce=_unchanged),
        Standardizer("none", _run_none, coerce=_unchanged),
        Standardizer("person_name", _run_person_name, parts=PERSON_NAME_PARTS, context="country"),
        Standardizer("name_part", _run_name_part, keys=NAME_PART_KEYS, context="family"),
        Standardizer("email", _text_runner(standardize_email), keys=EMAIL_KEYS),
        Standardizer("phone", _run_phone, keys=PHONE_KEYS, context="phone", coerce=_phone_input),
        Standardizer("address", _run_address, parts=ADDRESS_PARTS, context="country"),
        Standardizer(
            "street", _text_runner(standardize_street), keys=STREET_KEYS, parts=STREET_PARTS
        ),
        Standardizer("unit", _text_runner(standardize_unit)),
        Standardizer("city", _text_runner(standardize_city)),
        Standardizer(
            "postal_code",
            _run_postal_code,
            keys=POSTAL_CODE_KEYS,
            context="country",
            coerce=_postal_input,
        ),
        Standardizer("date", _run_date, keys=DATE_KEYS, context="date", coerce=_unchanged),
        Standardizer("timestamp", _run_timestamp, context="date", coerce=_unchanged),
        Standardizer("country", _text_runner(standardize_country)),
        Standardizer("region", _run_region, context="country"),
        Standardizer("company", _text_runner(standardize_company), keys=COMPANY_KEYS),
        Standardizer("domain", _text_runner(standardize_domain), keys=DOMAIN_KEYS),
    ]
}
"""Every standardizer, by the name that the project file uses."""

DEFAULT_STANDARDIZERS: dict[str, StandardizerName] = {
    "full_name": "person_name",
    "first_name": "name_part",
    "middle_name": "name_part",
    "last_name": "name_part",
    "email": "email",
    "phone": "phone",
    "address": "address",
    "street": "street",
    "unit": "unit",
    "city": "city",
    "region": "region",
    "postal_code": "postal_code",
    "country": "country",
    "birth_date": "date",
    "last_seen_at": "timestamp",
    "updated_at": "timestamp",
    "company_name": "company",
    "company_domain": "domain",
}
"""Standardizer of each canonical field that has a specific one."""


def default_standardizer(field: str) -> StandardizerName:
    """Return the standardizer a field gets when the project file does not set one.

    Canonical date fields get "date" and timestamp fields "timestamp";
    every other field without an entry in :data:`DEFAULT_STANDARDIZERS`
    gets "text".
    """
    name = DEFAULT_STANDARDIZERS.get(field)
    if name:
        return name
    canonical = CANONICAL_FIELDS.get(field)
    if canonical and canonical.type == "date":
        return "date"
    if canonical and canonical.type == "timestamp":
        return "timestamp"
    return "text"
