"""Dates and timestamps: many input forms to ISO 8601.

Accepted forms:

* ISO 8601 ("2020-03-04", "2020-03-04T10:15:00Z") and "2020/03/04".
* Numeric day and month in either order ("03/04/2020", "4.3.2020",
  "03-04-20"). ``date_order`` of the source ("MDY" or "DMY") decides the
  order. Without it, a value whose day is over 12 decides itself, and a
  value where both parts are 12 or less and differ is reported as ambiguous
  instead of guessed.
* Month names in English, French, German and Spanish ("March 4, 2020",
  "4 mars 2020", "4-Mar-2020"), with weekdays and ordinals ignored.
* Compact "YYYYMMDD", Excel serial day numbers (1900 date system, below
  100000), Unix epoch seconds (9 to 11 digits) and milliseconds (12 to 14
  digits).

Two-digit years: a birth date takes the latest century that does not put it
in the future. Any other date takes 20yy when that is at most 20 years after
the current year, else 19yy (in 2026, "46" is 2046 and "47" is 1947).
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from anyascii import anyascii

from accord.standardize.base import Outcome, invalid, quote, word_set

DateOrder = Literal["YMD", "MDY", "DMY"]
DateKind = Literal["birth", "event"]

EARLIEST_BIRTH_YEAR = 1900
"""Birth dates before January 1 of this year are rejected."""

DATE_KEYS = ("key",)
"""Key of a date: its ISO text, also kept for a rejected year-first date."""

TWO_DIGIT_YEAR_LOOKAHEAD = 20
"""Years after the current year that a two-digit event year may reach."""

_MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "january jan janvier janv januar enero ene",
        "february feb fevrier fevr fev februar febrero",
        "march mar mars marz maerz marzo",
        "april apr avril avr abril abr",
        "may mai mayo",
        "june jun juin juni junio",
        "july jul juillet juil juli julio",
        "august aug aout august agosto ago",
        "september sep sept septembre setiembre septiembre",
        "october oct octobre oktober octubre okt",
        "november nov novembre noviembre",
        "december dec decembre dezember diciembre dez dic",
    ],
    start=1,
):
    for _name in _names.split():
        _MONTHS[_name] = _number

_IGNORED_WORDS = word_set(
    "st nd rd th of de the le der am at on monday mon tuesday tue tues wednesday wed "
    "thursday thu thur thurs friday fri saturday sat sunday sun"
)

_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_YEAR_FIRST = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_TIME = re.compile(
    r"[T\s,]*(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*"
    r"(?:([AaPp])\.?[Mm]\.?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)
_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_EXCEL_EPOCH = dt.datetime(1899, 12, 30)
_UNIX_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class DateContext:
    """Settings that a date value is read with.

    Attributes:
        order: Day/month order of the source, or None when undeclared.
        kind: "birth" rejects dates before 1900 and in the future.
        today: The current date, for two-digit years and future checks.
    """

    order: DateOrder | None
    kind: DateKind | None
    today: dt.date


class DateProblem(ValueError):
    """A value that cannot be read as a date; the message gives the reason."""


def _two_digit_year(year: int, context: DateContext) -> int:
    if context.kind == "birth":
        return 2000 + year if 2000 + year <= context.today.year else 1900 + year
    limit = context.today.year + TWO_DIGIT_YEAR_LOOKAHEAD
    return 2000 + year if 2000 + year <= limit else 1900 + year


def _make_date(year: int, month: int, day: int) -> dt.date:
    if not 1 <= month <= 12:
        raise DateProblem(f"month {month} is out of range")
    if not 1 <= year <= 9999:
        raise DateProblem(f"year {year} is out of range")
    last_day = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last_day:
        month_name = calendar.month_name[month]
        raise DateProblem(f"day {day} is out of range for {month_name} {year}")
    return dt.date(year, month, day)


def _year(token: str, context: DateContext) -> int:
    value = int(token)
    if len(token) <= 2:
        return _two_digit_year(value, context)
    return value


def _day_month(first: int, second: int, order: DateOrder | None, text: str) -> tuple[int, int]:
    """Return (day, month) of two numbers that precede a year."""
    if order == "MDY":
        return second, first
    if order == "DMY":
        return first, second
    if first > 12 >= second:
        return first, second
    if second > 12 >= first:
        return second, first
    if first == second:
        return first, second
    if first > 12 and second > 12:
        raise DateProblem("neither of the first two numbers can be a month")
    raise DateProblem(f"ambiguous date {quote(text)}: set date_order on the source")


def _numeric_date(numbers: list[str], context: DateContext, text: str) -> dt.date:
    """Read three numbers as a date."""
    first, second, third = numbers
    if len(first) >= 3:
        return _make_date(int(first), int(second), int(third))
    if context.order == "YMD":
        if len(third) <= 2:
            return _make_date(_year(first, context), int(second), int(third))
        day, month = _day_month(int(first), int(second), None, text)
        return _make_date(_year(third, context), month, day)
    if len(third) <= 2 and context.order is None:
        raise DateProblem(f"ambiguous date {quote(text)}: set date_order on the source")
    day, month = _day_month(int(first), int(second), context.order, text)
    return _make_date(_year(third, context), month, day)


def _named_month_date(numbers: list[str], month: int, context: DateContext) -> dt.date:
    """Read a day and a year around a month name."""
    if len(numbers) != 2:
        raise DateProblem("expected a day and a year with the month name")
    long_numbers = [n for n in numbers if len(n) >= 3 or int(n) > 31]
    if long_numbers:
        year_token = long_numbers[0]
        day_token = numbers[1] if numbers[0] == year_token else numbers[0]
    else:
        day_token, year_token = numbers
    return _make_date(_year(year_token, context), month, int(day_token))


def _date_from_tokens(text: str, context: DateContext) -> dt.date:
    numbers: list[str] = []
    month: int | None = None
    for token in _TOKEN.findall(text):
        if token.isdigit():
            numbers.append(token)
            continue
        word = anyascii(token).lower().rstrip(".")
        if word in _MONTHS and month is None:
            month = _MONTHS[word]
        elif word not in _IGNORED_WORDS:
            raise DateProblem(f"unrecognized word {quote(token)}")
    if month is not None:
        return _named_month_date(numbers, month, context)
    if len(numbers) != 3:
        raise DateProblem("expected a day, a month and a year")
    return _numeric_date(numbers, context, text)


def _excel_serial(serial: float) -> dt.datetime:
    """Convert an Excel 1900-system serial day number to a naive datetime.

    Excel counts 1900-02-29, which does not exist, as day 60, so serials
    below 60 are one day later than the epoch arithmetic gives.
    """
    if serial < 1:
        raise DateProblem("Excel serial numbers start at 1")
    if 60 <= serial < 61:
        raise DateProblem("Excel serial 60 is 1900-02-29, which does not exist")
    days = serial + 1 if serial < 60 else serial
    return _EXCEL_EPOCH + dt.timedelta(days=days)


def _compact_date(digits: str) -> dt.date:
    return _make_date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def datetime_from_number(number: float) -> dt.datetime:
    """Read a number as YYYYMMDD, an Excel serial, epoch seconds or epoch milliseconds.

    Returns:
        A naive datetime for YYYYMMDD and Excel serials, a UTC datetime for
        epoch values.

    Raises:
        DateProblem: The number fits none of the forms.
    """
    if number != number or number in (float("inf"), float("-inf")):
        raise DateProblem("not a finite number")
    if number.is_integer() and 10_000_000 <= number <= 99_991_231:
        try:
            compact = _compact_date(str(int(number)))
        except DateProblem:
            pass
        else:
            return dt.datetime(compact.year, compact.month, compact.day)
    if number < 100_000:
        return _excel_serial(number)
    if 100_000_000 <= number < 1e11:
        return _UNIX_EPOCH + dt.timedelta(seconds=number)
    if 1e11 <= number < 1e14:
        return _UNIX_EPOCH + dt.timedelta(milliseconds=number)
    raise DateProblem("a number that is not YYYYMMDD, an Excel serial or an epoch time")


def _date_from_text(text: str, context: DateContext) -> dt.date:
    text = text.translate(_DASHES)
    if _NUMBER.fullmatch(text):
        if len(text) == 8 and text.isdigit():
            return _compact_date(text)
        return datetime_from_number(float(text)).date()
    iso = _ISO_DATE.match(text)
    if iso and (len(text) == 10 or text[10] in "T "):
        return _make_date(int(iso[1]), int(iso[2]), int(iso[3]))
    time_match = _TIME.search(text)
    date_part = text[: time_match.start()] if time_match else text
    return _date_from_tokens(date_part, context)


def parse_date(value: object, context: DateContext) -> dt.date:
    """Read a date from text, a number, a date or a datetime.

    Raises:
        DateProblem: The value is not a date; the message gives the reason.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise DateProblem("a boolean, not a date")
    if isinstance(value, int | float):
        return datetime_from_number(float(value)).date()
    if isinstance(value, str):
        return _date_from_text(value, context)
    raise DateProblem(f"a {type(value).__name__}, not a date")


def _birth_problem(value: dt.date, context: DateContext) -> str | None:
    if value.year < EARLIEST_BIRTH_YEAR:
        return f"is before {EARLIEST_BIRTH_YEAR}"
    if value > context.today:
        return "is in the future"
    return None


def _year_first_key(value: object) -> str | None:
    """Return "YYYY-MM-DD" from the digits of a year-first date, whatever their range.

    "1949-0-13" gives "1949-00-13". Other forms give None, because their
    day and month order is not certain.
    """
    if not isinstance(value, str):
        return None
    match = _YEAR_FIRST.fullmatch(value.strip().translate(_DASHES))
    if match is None:
        return None
    year, month, day = match.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def standardize_date(value: object, context: DateContext) -> Outcome:
    """Standardize a date to "YYYY-MM-DD", with the same text as its key.

    Args:
        value: A clean string, a number, a date or a datetime.
        context: Day/month order, kind and the current date.

    Returns:
        The ISO date, or an invalid outcome with the reason: impossible dates
        ("2020-02-30"), ambiguous day/month order without ``date_order``,
        and for birth dates years before 1900 or dates in the future. A
        rejected date written year first keeps its digits as the key
        ("1949-00-13"), so that matching can still compare it with a date
        that differs by a typo, while the value stays empty.
    """
    shown = quote(str(value))
    try:
        parsed = parse_date(value, context)
    except DateProblem as problem:
        message = str(problem)
        if message.startswith("ambiguous"):
            return invalid(message)
        return _invalid_with_key(f"invalid date {shown}: {message}", _year_first_key(value))
    except (OverflowError, ValueError) as error:
        return invalid(f"invalid date {shown}: {error}")
    if context.kind == "birth":
        birth_problem = _birth_problem(parsed, context)
        if birth_problem:
            return _invalid_with_key(f"birth date {shown} {birth_problem}", parsed.isoformat())
    return Outcome(parsed.isoformat(), (parsed.isoformat(),))


def _invalid_with_key(reason: str, key: str | None) -> Outcome:
    return Outcome(None, (key,) if key else (), reason=reason)


def _time_of(match: re.Match[str]) -> tuple[dt.time, dt.tzinfo | None]:
    hour, minute = int(match[1]), int(match[2])
    second = int(match[3] or 0)
    microsecond = int((match[4] or "0")[:6].ljust(6, "0"))
    meridiem = (match[5] or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            raise DateProblem(f"hour {hour} is out of range for a 12-hour clock")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise DateProblem(f"time {match.group(0).strip()} is out of range")
    zone = match[6]
    tzinfo: dt.tzinfo | None = None
    if zone in ("Z", "UTC", "GMT"):
        tzinfo = dt.UTC
    elif zone:
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
        tzinfo = dt.timezone(offset if zone[0] == "+" else -offset)
    return dt.time(hour, minute, second, microsecond), tzinfo


def parse_timestamp(value: object, context: DateContext) -> dt.datetime:
    """Read a timestamp from text, a number, a date or a datetime.

    Raises:
        DateProblem: The value is not a timestamp; the message gives the reason.
    """
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise DateProblem("a boolean, not a timestamp")
    if isinstance(value, int | float):
        return datetime_from_number(float(value))
    if not isinstance(value, str):
        raise DateProblem(f"a {type(value).__name__}, not a timestamp")
    text = value.translate(_DASHES)
    if _NUMBER.fullmatch(text) and not (len(text) == 8 and text.isdigit()):
        return datetime_from_number(float(text))
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    time_match = _TIME.search(text)
    date_part = text[: time_match.start()] if time_match else text
    day = _date_from_text(date_part, context)
    if time_match is None:
        return dt.datetime(day.year, day.month, day.day)
    clock, tzinfo = _time_of(time_match)
    return dt.datetime.combine(day, clock, tzinfo=tzinfo)


def format_timestamp(value: dt.datetime) -> str:
    """Format a timestamp as ISO 8601; aware values are converted to UTC first."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.isoformat()


def standardize_timestamp(value: object, context: DateContext) -> Outcome:
    """Standardize a timestamp to ISO 8601.

    Args:
        value: A clean string, a number, a date or a datetime.
        context: Day/month order and the current date.

    Returns:
        "YYYY-MM-DDTHH:MM:SS" (with fractional seconds when present). Values
        with a time zone are converted to UTC and end in "+00:00"; values
        without one stay naive. A date alone becomes midnight.
    """
    shown = quote(str(value))
    try:
        parsed = parse_timestamp(value, context)
    except DateProblem as problem:
        message = str(problem)
        if message.startswith("ambiguous"):
            return invalid(message)
        return invalid(f"invalid timestamp {shown}: {message}")
    except (OverflowError, ValueError) as error:
        return invalid(f"invalid timestamp {shown}: {error}")
    return Outcome(format_timestamp(parsed))
