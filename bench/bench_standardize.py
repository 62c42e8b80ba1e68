"""Benchmark of the standardize stage on generated customer records.

Run ``python -m bench.bench_standardize --rows 1000000``. The generator
builds people from fixed pools of names, streets, cities and companies.
About 30% of the records repeat an earlier person with the variations that
real sources show: other letter case, nicknames, phone formats, Gmail dots
and plus tags, "Street" against "St", state names against codes and dates
in two orders. The script prints one markdown table with the wall-clock and
CPU time of each field's standardizer on its own (with empty caches), then
of the whole stage on all fields together. It reports timings and checks
none of them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from anyascii import anyascii

from accord.standardize.columns import clear_caches
from accord.standardize.config import StandardizeConfig
from accord.standardize.stage import SourceContext, field_spec, standardize_columns
from bench.arguments import positive_int, report_file
from bench.datasets import REPO_ROOT
from bench.report import section_heading, write_section


def _words(text: str) -> list[str]:
    """Split a word list; "|" joins words that belong together ("van Dyke")."""
    return [word.replace("|", " ") for word in text.split()]


FIRST_NAMES = _words(
    "James Robert John Michael David William Richard Joseph Thomas Charles Christopher "
    "Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian "
    "George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan "
    "Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander Patrick Frank "
    "Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter "
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy "
    "Betty Sandra Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa "
    "Deborah Stephanie Dorothy Rebecca Sharon Laura Cynthia Amy Kathleen Angela Shirley "
    "Brenda Emma Anna Pamela Nicole Samantha Katherine Christine Helen Debra Rachel "
    "Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth "
    "José María Zoë Chloé Renée DeAndre Siobhán Søren Björn François"
)

NICKNAMES = {
    "Robert": "Bob",
    "William": "Bill",
    "Elizabeth": "Liz",
    "Margaret": "Peggy",
    "James": "Jim",
    "Michael": "Mike",
    "Richard": "Dick",
    "Thomas": "Tom",
    "Katherine": "Kate",
    "Jennifer": "Jenny",
    "Anthony": "Tony",
    "Joseph": "Joe",
}

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright "
    "Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins "
    "Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez "
    "Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel "
    "Myers Long Ross Foster Jimenez O'Neil McDonald MacArthur Müller Østergaard "
    "van|Dyke de|la|Cruz O'Brien Smith-Jones García|Márquez"
)

STREET_NAMES = _words(
    "Main Oak Maple Cedar Pine Elm Washington Lake Hill Park Walnut Sunset Lincoln "
    "Jackson Church River Highland Mill Center Willow Adams Franklin Jefferson Spring "
    "Ridge Meadow Forest Chestnut Madison Broad Market Union Prospect Cherry Valley "
    "Dogwood Hickory Laurel Magnolia Sycamore Birch Spruce Poplar Ash Holly Aspen"
)

STREET_SUFFIXES = (
    ("Street", "St", "St.", "STREET"),
    ("Avenue", "Ave", "Ave.", "AVE"),
    ("Boulevard", "Blvd", "Blvd."),
    ("Road", "Rd", "Rd."),
    ("Drive", "Dr", "Dr."),
    ("Lane", "Ln"),
    ("Court", "Ct"),
    ("Place", "Pl"),
)

PLACES = [
    ("New York", "NY", "New York", "10001"),
    ("Los Angeles", "CA", "California", "90012"),
    ("Chicago", "IL", "Illinois", "60601"),
    ("Houston", "TX", "Texas", "77002"),
    ("Phoenix", "AZ", "Arizona", "85004"),
    ("Philadelphia", "PA", "Pennsylvania", "19103"),
    ("San Antonio", "TX", "Texas", "78205"),
    ("San Diego", "CA", "California", "92101"),
    ("Dallas", "TX", "Texas", "75201"),
    ("Austin", "TX", "Texas", "78701"),
    ("Jacksonville", "FL", "Florida", "32202"),
    ("Columbus", "OH", "Ohio", "43215"),
    ("Charlotte", "NC", "North Carolina", "28202"),
    ("Seattle", "WA", "Washington", "98101"),
    ("Denver", "CO", "Colorado", "80202"),
    ("Boston", "MA", "Massachusetts", "02108"),
    ("Nashville", "TN", "Tennessee", "37203"),
    ("Portland", "OR", "Oregon", "97204"),
    ("Las Vegas", "NV", "Nevada", "89101"),
    ("Detroit", "MI", "Michigan", "48226"),
]

AREA_CODES = _words(
    "201 202 203 205 206 207 208 209 210 212 213 214 215 216 217 218 219 224 225 228 "
    "229 231 234 239 240 248 251 252 253 254 256 260 262 267 269 270 276 281 301 302 "
    "303 304 305 307 308 309 310 312 313 314 315 316 317 318 319 320 321 323 325 330 "
    "334 336 337 339 347 351 352 360 361 386 401 402 404 405 406 407 408 409 410 412 "
    "413 414 415 417 419 423 424 425 430 432 434 435 440 443 469 478 479 480 484 501"
)

COMPANY_WORDS = _words(
    "Acme Globex Initech Umbrella Stark Wayne Wonka Hooli Vandelay Soylent Cyberdyne "
    "Tyrell Gringotts Oscorp Aperture Monarch Pied Piper Dunder Mifflin Sterling Cooper "
    "Blue Sky Red Rock Green Leaf Silver Lake North Star Bright Path Summit Harbor Apex "
    "Pinnacle Evergreen Keystone Liberty Frontier Horizon Beacon Atlas Orion Vertex"
)

COMPANY_SUFFIXES = ("Inc", "Inc.", ", Inc.", "LLC", "Ltd", "Corp", "Co", "Group", "")

FREE_MAIL = ("gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com", "icloud.com")


@dataclass(frozen=True)
class Person:
    """One generated customer before any source-specific formatting."""

    first: str
    last: str
    email_local: str
    email_domain: str
    phone: str
    number: int
    street: str
    suffix: int
    unit: str
    place: int
    birth: dt.date
    company: str


def _person(rng: random.Random, index: int) -> Person:
    first = rng.choice(FIRST_NAMES)
    last = rng.choice(LAST_NAMES)
    company = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_WORDS)}"
    if rng.random() < 0.55:
        domain = rng.choice(FREE_MAIL)
    else:
        domain = company.lower().replace(" ", "") + ".com"
    local = f"{first}.{last}{index % 1000}".lower().replace(" ", "").replace("'", "")
    if rng.random() < 0.99:
        # Mail providers rarely accept accented local parts, so people type
        # "jose.garcia" for José García.
        local = anyascii(local)
    line = rng.randint(100, 9999)
    phone = f"{rng.choice(AREA_CODES)}{rng.randint(200, 999)}{line:04d}"
    unit = f"Apt {rng.randint(1, 40)}" if rng.random() < 0.2 else ""
    birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 65 * 365))
    return Person(
        first=first,
        last=last,
        email_local=local,
        email_domain=domain,
        phone=phone,
        number=rng.randint(1, 20000),
        street=rng.choice(STREET_NAMES),
        suffix=rng.randrange(len(STREET_SUFFIXES)),
        unit=unit,
        place=rng.randrange(len(PLACES)),
        birth=birth,
        company=company,
    )


def _variant_case(rng: random.Random, text: str) -> str:
    roll = rng.random()
    if roll < 0.08:
        return text.upper()
    if roll < 0.14:
        return text.lower()
    if roll < 0.17:
        return f"  {text} "
    return text


def _format_phone(rng: random.Random, digits: str) -> str:
    area, exchange, line = digits[:3], digits[3:6], digits[6:]
    formats = (
        f"({area}) {exchange}-{line}",
        f"{area}-{exchange}-{line}",
        f"+1 {area}.{exchange}.{line}",
        f"{area}{exchange}{line}",
        f"1-{area}-{exchange}-{line}",
        f"{area} {exchange} {line} ext {rng.randint(1, 999)}",
    )
    return rng.choice(formats)


def _email(rng: random.Random, person: Person) -> str:
    local = person.email_local
    if person.email_domain == "gmail.com" and rng.random() < 0.2:
        local = local.replace(".", "") + "+shop"
    address = f"{local}@{person.email_domain}"
    return address.upper() if rng.random() < 0.05 else address


def _row(rng: random.Random, person: Person) -> dict[str, Any]:
    first = person.first
    if first in NICKNAMES and rng.random() < 0.3:
        first = NICKNAMES[first]
    city, code, state, zip_code = PLACES[person.place]
    suffix = rng.choice(STREET_SUFFIXES[person.suffix])
    street = f"{person.number} {person.street} {suffix}"
    if person.unit:
        street = f"{street} {person.unit}"
    birth = person.birth.isoformat() if rng.random() < 0.5 else person.birth.strftime("%m/%d/%Y")
    junk = rng.random()
    return {
        "first_name": _variant_case(rng, first),
        "last_name": _variant_case(rng, person.last),
        "email": "N/A" if junk < 0.02 else _email(rng, person),
        "phone": "000-000-0000" if junk > 0.98 else _format_phone(rng, person.phone),
        "street": _variant_case(rng, street),
        "city": _variant_case(rng, city),
        "region": state if rng.random() < 0.3 else code,
        "postal_code": zip_code if rng.random() < 0.8 else f"{zip_code}-{rng.randint(1000, 9999)}",
        "country": rng.choice(("US", "USA", "United States", "us", "U.S.")),
        "birth_date": birth,
        "company_name": f"{person.company} {rng.choice(COMPANY_SUFFIXES)}".strip(),
    }


def generate_columns(rows: int, seed: int) -> dict[str, list[Any]]:
    """Generate ``rows`` customer records as columns; about 30% repeat a person."""
    rng = random.Random(seed)
    people: list[Person] = []
    columns: dict[str, list[Any]] = {}
    for index in range(rows):
        if people and rng.random() < 0.3:
            person = rng.choice(people)
        else:
            person = _person(rng, index)
            people.append(person)
        for name, value in _row(rng, person).items():
            columns.setdefault(name, []).append(value)
    return columns


@dataclass(frozen=True)
class Timing:
    """One benchmark line: wall-clock and CPU seconds of this process."""

    label: str
    field: str
    rows: int
    distinct: int
    seconds: float
    cpu_seconds: float


def _timed(call: Callable[[], object]) -> tuple[float, float]:
    clear_caches()
    started = time.perf_counter()
    cpu_started = time.process_time()
    call()
    return time.perf_counter() - started, time.process_time() - cpu_started


def run_benchmark(rows: int, seed: int) -> list[Timing]:
    """Time each field's standardizer alone, then the whole stage."""
    columns = generate_columns(rows, seed)
    config = StandardizeConfig()
    context = SourceContext(source="bench", region=None, date_order="MDY")
    timings = []
    for name, values in columns.items():
        single = {name: values}
        seconds, cpu = _timed(partial(standardize_columns, single, config, context))
        label = field_spec(name, config).standardizer
        timings.append(Timing(label, name, rows, len(set(values)), seconds, cpu))
    seconds, cpu = _timed(partial(standardize_columns, columns, config, context))
    distinct = sum(len(set(values)) for values in columns.values())
    timings.append(Timing("whole stage", "all fields", rows, distinct, seconds, cpu))
    return timings


def markdown_table(timings: list[Timing]) -> str:
    """Format the timings as a markdown table."""
    lines = [
        "| standardizer | field | rows | distinct values | wall s | CPU s | rows/s (wall) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for timing in timings:
        rate = timing.rows / timing.seconds if timing.seconds else float("inf")
        lines.append(
            f"| {timing.label} | {timing.field} | {timing.rows:,} | {timing.distinct:,} "
            f"| {timing.seconds:.2f} | {timing.cpu_seconds:.2f} | {rate:,.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Parse the command line, run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=positive_int, default=100_000, help="records to generate")
    parser.add_argument("--seed", type=int, default=1, help="random seed for the generator")
    parser.add_argument(
        "--out", type=report_file, default=REPO_ROOT / "docs" / "benchmarks.md", help="report file"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"generating {args.rows:,} records (seed {args.seed})", flush=True)
    timings = run_benchmark(args.rows, args.seed)
    table = markdown_table(timings)
    print(table)
    heading = section_heading("bench.bench_standardize", ["--rows", str(args.rows)])
    write_section(args.out, "standardize", [*heading, table])
    print(f"wrote the standardize section of {args.out}")


if __name__ == "__main__":
    main()
