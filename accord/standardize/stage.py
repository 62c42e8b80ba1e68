"""The standardize stage: clean every column of a batch and add comparison keys.

:func:`standardize_columns` takes canonical field names to equal-length
lists of values and returns every input field cleaned, the fields that
whole values derive, and the key columns below. Invalid values become None
and produce a :class:`FieldIssue`; placeholders ("N/A", "-", "unknown")
become None without one.

Derived fields fill only rows where the field is empty, which means missing
or a placeholder but not invalid. Each derived field becomes an output
column whenever its source field is an input column:

* ``full_name`` gives ``first_name``, ``middle_name``, ``last_name``,
  ``name_prefix`` and ``name_suffix``.
* ``address`` gives ``street``, ``unit``, ``city``, ``region``,
  ``postal_code`` and ``country``.
* ``street`` gives ``unit`` ("123 Main St Apt 4" keeps "123 Main St").
* ``email`` gives ``company_domain`` when its domain is not free mail.

A derived value goes through the standardizer of the field it fills, so it
gets the same keys and checks as a value typed into that field.

Key columns (None wherever the value is missing or invalid):

* ``first_name_key``, ``middle_name_key``, ``last_name_key``: the name
  folded to ASCII lowercase letters and digits ("O'Neil" gives "oneil",
  "Zoë" gives "zoe").
* ``first_name_nick_key``: the representative of the nickname group of the
  first given name, so equal keys mean nickname-equivalent names. "Bob",
  "Bobby" and "Robert" all give "robert" (see ``nickname_groups``).
* ``email_key``: lowercase address without "+tag"; Gmail addresses also
  lose dots and googlemail.com becomes gmail.com.
* ``email_domain``: the domain of ``email_key``.
* ``email_is_role``: True for shared mailboxes (info@, sales@, noreply@)
  and disposable mail domains.
* ``email_is_freemail``: True for free-mail domains (gmail.com, yahoo.com).
* ``phone_key``: E.164 digits without "+" ("12025550123").
* ``phone_ext``: the extension, or None.
* ``phone_type``: the phonenumbers line type ("mobile", "fixed_line",
  "fixed_line_or_mobile", "toll_free", "voip", ...).
* ``street_key``: the street line with USPS abbreviations, lowercase,
  without punctuation ("123 n main st"); ordinal words become numbers.
* ``postal_code_key``: the compact uppercase code; US ZIP+4 keeps the first
  five digits.
* ``company_name_key``: the folded company name without "The", legal forms
  (Inc, LLC, GmbH, ...), punctuation or spaces ("acme").
* ``company_domain`` itself is a key: the registrable domain
  ("acme.co.uk"), None for free-mail and disposable domains.
* ``company_is_freemail``: True when the row's ``company_domain`` is a
  free-mail or disposable domain that the email domain did not replace.

A field standardized with the same kind under another name gets keys named
after it (``billing_email`` gives ``billing_email_key``).

Phones without a country code are read in the record's ``country`` first,
then in the source's region (``SourceContext.region``, else
``StandardizeConfig.default_region``).

Every expensive parser runs once per distinct (value, context) pair in a
column. Columns with few distinct values also share a bounded cache across
calls (see ``accord.standardize.columns``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from itertools import repeat
from operator import attrgetter
from typing import Any, Literal

import phonenumbers

from accord.logs import get_logger
from accord.standardize.base import Outcome, Scalar
from accord.standardize.columns import standardize_column
from accord.standardize.config import FieldStandardizer, StandardizeConfig
from accord.standardize.dates import DateContext
from accord.standardize.emails import EMAIL_KEYS
from accord.standardize.registry import STANDARDIZERS, Standardizer, default_standardizer
from accord.standardize.text import placeholder_set

logger = get_logger(__name__)

ISSUE_VALUE_LIMIT = 200
"""Characters of the raw value kept in a :class:`FieldIssue`."""

FILL_SOURCES: dict[str, str] = {
    "address": "address",
    "full_name": "person_name",
    "street": "street",
    "email": "email",
}
"""Fields that fill others, with the standardizer that they must have to do so."""

EARLY_FIELDS = ("address", "full_name", "country", "street", "unit", "email", "company_domain")
"""Fields standardized first, in this order, because later fields depend on them."""

DERIVED_FIELDS = (
    "first_name",
    "middle_name",
    "last_name",
    "name_prefix",
    "name_suffix",
    "city",
    "region",
    "postal_code",
)
"""Fields that exist only when derived, standardized after the input fields."""

_KEY_COLUMN_NAMES = {("company_domain", "is_freemail"): "company_is_freemail"}
_VALUE = attrgetter("value")
_KEYS = attrgetter("keys")
_REASON = attrgetter("reason")
_EMAIL_DOMAIN_KEY = EMAIL_KEYS.index("domain")
_EMAIL_FREEMAIL_KEY = EMAIL_KEYS.index("is_freemail")


@dataclass(frozen=True)
class SourceContext:
    """Settings of the source that a batch comes from.

    Attributes:
        source: Source name.
        region: Phone region for numbers without a country code, overriding
            ``StandardizeConfig.default_region``; None uses the default.
        date_order: Day/month order of numeric dates in this source; None
            reports ambiguous dates instead of guessing.
    """

    source: str
    region: str | None
    date_order: Literal["YMD", "MDY", "DMY"] | None


@dataclass(frozen=True)
class FieldIssue:
    """One invalid value.

    Attributes:
        row: Index into the input columns.
        field: Canonical field name.
        value: Raw value as text, truncated to 200 characters.
        reason: Plain sentence saying what is wrong.
        quarantine: True when the field's ``on_invalid`` is "quarantine".
    """

    row: int
    field: str
    value: str
    reason: str
    quarantine: bool


@dataclass
class StandardizeResult:
    """Output of :func:`standardize_columns`.

    Attributes:
        columns: Cleaned input fields, derived fields and key columns, each
            a list as long as the input columns.
        issues: Invalid values, grouped by field in processing order, then
            in row order.
        fields: The fields standardized, in processing order.
    """

    columns: dict[str, list[Any]]
    issues: list[FieldIssue]
    fields: list[str] = field(default_factory=list)


@dataclass
class _Fill:
    """Values derived for one field, with the field each came from."""

    values: list[Scalar]
    sources: list[str | None]


@dataclass
class _Run:
    """State of one call: settings, row countries, pending derived values, output."""

    config: StandardizeConfig
    context: SourceContext
    placeholders: frozenset[str]
    size: int
    today: dt.date
    countries: list[str | None]
    fills: dict[str, _Fill] = field(default_factory=dict)
    issues: list[FieldIssue] = field(default_factory=list)
    out: dict[str, list[Any]] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)
    order: list[str] = field(default_factory=list)


def standardize_columns(
    columns: dict[str, list[Any]],
    config: StandardizeConfig,
    context: SourceContext,
    today: dt.date | None = None,
) -> StandardizeResult:
    """Standardize every column of a batch and add derived fields and keys.

    Args:
        columns: Canonical field name to values; every list has the same
            length. Values are str, int, float, bool, date, datetime or None.
        config: The project's standardize settings.
        context: The source of the batch.
        today: The current date, for two-digit years and the check that
            dates are not in the future; None reads the system clock.

    Returns:
        Cleaned columns with JSON-serializable values, derived fields, key
        columns (see the module docstring) and one issue per invalid value.

    Raises:
        ValueError: The column lists have different lengths.
    """
    started = time.perf_counter()
    size = column_length(columns)
    run = _Run(
        config=config,
        context=context,
        placeholders=placeholder_set(config.placeholders, config.extra_placeholders),
        size=size,
        today=today or dt.date.today(),
        countries=[None] * size,
        out={name: [] for name in columns},
    )
    with _garbage_collection_paused():
        if "country" in columns:
            run.countries = _country_hints(run, columns["country"])
        for name in _processing_order(run, columns):
            _process_field(run, name, columns.get(name))
    logger.info(
        "standardized %d rows of source %s: %d input fields, %d issues in %.2f s",
        size,
        context.source,
        len(columns),
        len(run.issues),
        time.perf_counter() - started,
    )
    return StandardizeResult(columns=run.out, issues=run.issues, fields=run.order)


@contextlib.contextmanager
def _garbage_collection_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, then restore its previous state.

    The stage creates millions of small, acyclic objects (strings, tuples,
    outcomes). Each allocation burst triggers collections that rescan every
    live object, which took about 30% of the stage's CPU time on a
    200,000-row batch. Reference counting still frees everything that is
    not part of a cycle while the collector is paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def field_spec(name: str, config: StandardizeConfig) -> FieldStandardizer:
    """Return the standardizer settings of a field: the project's, else the default."""
    spec = config.fields.get(name)
    if spec is not None:
        return spec
    return FieldStandardizer(standardizer=default_standardizer(name))


def key_column(name: str, suffix: str) -> str:
    """Return the output column of one key of a field ("email", "key" gives "email_key")."""
    return _KEY_COLUMN_NAMES.get((name, suffix), f"{name}_{suffix}")


def column_length(columns: dict[str, list[Any]]) -> int:
    """Return the length shared by every column, or 0 without columns.

    Raises:
        ValueError: The columns have different lengths.
    """
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"input columns must have equal lengths, got {lengths}")
    return next(iter(lengths.values()), 0)


def _processing_order(run: _Run, columns: dict[str, list[Any]]) -> Iterator[str]:
    """Yield the fields to standardize; derived fields appear once their sources ran."""
    for name in EARLY_FIELDS:
        if name in columns or name in run.fills:
            yield name
    for name in columns:
        if name not in run.done:
            yield name
    for name in DERIVED_FIELDS:
        if name in run.fills and name not in run.done:
            yield name


def _country_hints(run: _Run, values: list[Any]) -> list[str | None]:
    """Read the country column early: the address and name parsers use it as a hint."""
    std = STANDARDIZERS[field_spec("country", run.config).standardizer]
    outcomes = standardize_column(std, values, None, None, run.placeholders)
    return [o.value if isinstance(o.value, str) else None for o in outcomes]


def _contexts(
    run: _Run, name: str, spec: FieldStandardizer, std: Standardizer
) -> tuple[list[Hashable] | None, Hashable]:
    """Return per-row contexts (or None) and the shared context of a field."""
    if std.context == "country":
        return list(run.countries), None
    if std.context == "phone":
        fallback = (run.context.region or run.config.default_region).upper()
        by_country: dict[str | None, tuple[str, ...]] = {}
        for country in set(run.countries):
            usable = country in phonenumbers.SUPPORTED_REGIONS and country != fallback
            by_country[country] = (str(country), fallback) if usable else (fallback,)
        return [by_country[country] for country in run.countries], None
    if std.context == "date":
        kind = spec.kind or ("birth" if name == "birth_date" else None)
        return None, DateContext(run.context.date_order, kind, run.today)
    if std.context == "family":
        return None, name == "last_name"
    return None, None


def _process_field(run: _Run, name: str, values: list[Any] | None) -> None:
    """Standardize one field, fill its empty rows from derived values and write its columns."""
    started = time.perf_counter()
    spec = field_spec(name, run.config)
    std = STANDARDIZERS[spec.standardizer]
    raw: list[Any] = values if values is not None else [None] * run.size
    contexts, context = _contexts(run, name, spec, std)
    outcomes = standardize_column(std, raw, contexts, context, run.placeholders)
    issue_values: list[Any] = raw
    fill = run.fills.get(name)
    if fill is not None:
        issue_values = _apply_fill(run, std, fill, outcomes, contexts, context, raw)
    _record_issues(run, name, spec, issue_values, outcomes, fill)
    _write_columns(run, name, std, outcomes)
    _share(run, name, std, outcomes)
    run.done.add(name)
    run.order.append(name)
    logger.debug("standardized %s with %s in %.2f s", name, std.name, time.perf_counter() - started)


def _apply_fill(
    run: _Run,
    std: Standardizer,
    fill: _Fill,
    outcomes: list[Outcome],
    contexts: list[Hashable] | None,
    context: Hashable,
    raw: list[Any],
) -> list[Any]:
    """Replace empty outcomes with those of the derived values; return the values behind each."""
    rows = [
        row
        for row, (outcome, derived) in enumerate(zip(outcomes, fill.values, strict=True))
        if derived is not None and outcome.value is None and outcome.reason is None
    ]
    if not rows:
        return raw
    derived_values = [fill.values[row] for row in rows]
    derived_contexts = [contexts[row] for row in rows] if contexts is not None else None
    derived = standardize_column(std, derived_values, derived_contexts, context, run.placeholders)
    issue_values = list(raw)
    for row, outcome in zip(rows, derived, strict=True):
        outcomes[row] = outcome
        issue_values[row] = fill.values[row]
    filled = set(rows)
    fill.sources = [source if row in filled else None for row, source in enumerate(fill.sources)]
    return issue_values


def _record_issues(
    run: _Run,
    name: str,
    spec: FieldStandardizer,
    values: list[Any],
    outcomes: list[Outcome],
    fill: _Fill | None,
) -> None:
    reasons = list(map(_REASON, outcomes))
    if not any(reasons):
        return
    quarantine = spec.on_invalid == "quarantine"
    for row, reason in enumerate(reasons):
        if reason is None:
            continue
        source = fill.sources[row] if fill is not None else None
        if source is not None:
            reason = f"{reason} (derived from {source})"
        text = "" if values[row] is None else str(values[row])
        run.issues.append(FieldIssue(row, name, text[:ISSUE_VALUE_LIMIT], reason, quarantine))


def _write_columns(run: _Run, name: str, std: Standardizer, outcomes: list[Outcome]) -> None:
    run.out[name] = list(map(_VALUE, outcomes))
    if not std.keys:
        return
    key_columns = zip(*map(_KEYS, outcomes), strict=True) if outcomes else repeat(())
    for suffix, column in zip(std.keys, key_columns, strict=False):
        if suffix == "nick_key" and name != "first_name":
            continue
        run.out[key_column(name, suffix)] = list(column)


def _share(run: _Run, name: str, std: Standardizer, outcomes: list[Outcome]) -> None:
    """Pass on what later fields need: row countries and derived values."""
    if name == "country":
        run.countries = [o.value if isinstance(o.value, str) else None for o in outcomes]
    if FILL_SOURCES.get(name) != std.name:
        return
    if std.name == "email":
        domains: list[Scalar] = [
            o.keys[_EMAIL_DOMAIN_KEY] if o.keys and not o.keys[_EMAIL_FREEMAIL_KEY] else None
            for o in outcomes
        ]
        _add_fill(run, "company_domain", name, domains)
        return
    for index, part in enumerate(std.parts):
        _add_fill(run, part, name, [o.parts[index] if o.parts else None for o in outcomes])


def _add_fill(run: _Run, target: str, source: str, values: list[Scalar]) -> None:
    """Register derived values for ``target``; an earlier source keeps its rows."""
    if target in run.done:
        return
    fill = run.fills.get(target)
    if fill is None:
        sources: list[str | None] = [source if v is not None else None for v in values]
        run.fills[target] = _Fill(values, sources)
        return
    for row, value in enumerate(values):
        if fill.values[row] is None and value is not None:
            fill.values[row] = value
            fill.sources[row] = source
