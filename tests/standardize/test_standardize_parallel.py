"""Standardizing in worker processes gives exactly the serial result."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from accord.config.loader import load_project
from accord.ingest import process_rows
from accord.standardize.config import FieldStandardizer, StandardizeConfig
from accord.standardize.parallel import StandardizePool
from accord.standardize.stage import SourceContext, StandardizeResult, standardize_columns

ROWS = 3_000
REPO_ROOT = Path(__file__).resolve().parents[2]

# One row per case: fills from full names, addresses and emails, placeholders,
# invalid values, per-row phone countries, ambiguous dates and mixed types.
HARD_CASES: list[dict[str, Any]] = [
    {"full_name": "Dr. Robert O'NEIL Jr.", "email": "Rob.ONeil+news@GoogleMail.com"},
    {"full_name": "smith, liz", "first_name": "Elizabeth", "phone": "020 7946 0958"},
    {"full_name": "Ann Lee", "first_name": "N/A", "country": "United Kingdom"},
    {"full_name": "Ann Lee", "first_name": "12345", "birth_date": "2999-01-01"},
    {"address": "123 N. Main Street Apt 4B, Springfield, IL 62704-1234", "country": None},
    {"address": "10 Downing Street, London SW1A 2AA, UK", "country": "Narnia"},
    {"address": "123 Main St, Springfield, IL 6270X", "phone": "(202) 555-0123 ext 89"},
    {"street": "123 Main St Apt 4", "unit": None, "phone": "1-800-FLOWERS"},
    {"street": "9 Elm St #2", "unit": "Suite 5", "phone": 2025550199},
    {"email": "info@acme.co.uk", "company_domain": "gmail.com"},
    {"email": "jo@acme.com", "company_domain": "https://www.globex.com/about"},
    {"email": "not-an-email", "phone": "unknown", "country": "US"},
    {"email": "x" * 300, "phone": "000-000-0000", "country": "Deutschland"},
    {"email": "bob@mailinator.com", "phone": "202 555 0123", "country": "US"},
    {"signup_date": "03/04/2020", "birth_date": dt.date(1980, 5, 6), "plan": 1},
    {"signup_date": "2020-01-05", "birth_date": "1850-01-01", "plan": True},
    {"signup_date": "31/12/99", "plan": 1.0, "mrr": float("nan")},
    {"plan": "1", "mrr": 9.5, "company_name": "The Acme Company, Inc."},
    {"company_name": "ACME LLC", "updated_at": dt.datetime(2020, 3, 4, 10, 15, tzinfo=dt.UTC)},
    {"updated_at": "2020-03-04 10:15", "region": "Ontario", "postal_code": "k1a0b1"},
    {"updated_at": 1583280000, "region": "calif.", "postal_code": "2134", "country": "USA"},
    {"full_name": "  Zoë\u200b  Ångström ", "email": "?", "phone": "asdf"},
    {"full_name": "-", "email": "", "phone": None, "plan": "TBD"},
    {},
]
FIELDS = sorted({name for case in HARD_CASES for name in case})

CONFIG = StandardizeConfig(
    default_region="GB",
    extra_placeholders=["TBD"],
    fields={"email": FieldStandardizer(standardizer="email", on_invalid="quarantine")},
)
CONTEXT = SourceContext(source="mixed", region="AU", date_order="DMY")


def hard_columns(rows: int = ROWS) -> dict[str, list[Any]]:
    """Return columns of ``rows`` rows: the hard cases in random order, some made unique."""
    rng = random.Random(7)
    columns: dict[str, list[Any]] = {name: [] for name in FIELDS}
    for row in range(rows):
        case = rng.choice(HARD_CASES)
        for name in FIELDS:
            value = case.get(name)
            if row % 5 == 0 and name == "email" and isinstance(value, str) and "@" in value:
                value = f"{row}.{value}"
            columns[name].append(value)
    return columns


def typed(result: StandardizeResult) -> dict[str, list[tuple[type, Any]]]:
    """Return the columns with each value's type, so that 1, 1.0 and True differ."""
    return {
        name: [(type(value), value) for value in values] for name, values in result.columns.items()
    }


@pytest.fixture(scope="module")
def pool() -> Iterator[StandardizePool]:
    with StandardizePool(workers=2, min_rows=0) as started:
        yield started


@pytest.mark.parametrize("chunk_rows", [1_000, 997, 250, ROWS + 1])
def test_pool_equals_serial(pool: StandardizePool, chunk_rows: int) -> None:
    columns = hard_columns()
    today = dt.date.today()
    serial = standardize_columns(columns, CONFIG, CONTEXT, today)
    pool.chunk_rows = chunk_rows

    parallel = pool.standardize(columns, CONFIG, CONTEXT)

    assert list(parallel.columns) == list(serial.columns)
    assert typed(parallel) == typed(serial)
    assert parallel.issues == serial.issues
    assert parallel.fields == serial.fields
    assert pool._executor is not None
    assert {issue.field for issue in serial.issues} >= {"email", "phone", "birth_date"}


def test_pool_rejects_unequal_columns(pool: StandardizePool) -> None:
    with pytest.raises(ValueError, match="equal lengths"):
        pool.standardize({"email": ["a@b.com"] * 10, "phone": []}, CONFIG, CONTEXT)


@pytest.mark.parametrize(
    ("workers", "min_rows", "rows"),
    [(1, 0, 500), (2, 501, 500), (2, 0, 1)],
)
def test_small_batch_runs_serially(workers: int, min_rows: int, rows: int) -> None:
    columns = hard_columns(rows)
    serial = standardize_columns(columns, CONFIG, CONTEXT)

    with StandardizePool(workers=workers, chunk_rows=100, min_rows=min_rows) as small:
        result = small.standardize(columns, CONFIG, CONTEXT)
        assert small._executor is None

    assert typed(result) == typed(serial)
    assert result.issues == serial.issues


@pytest.mark.parametrize(("workers", "chunk_rows"), [(0, 10), (2, 0)])
def test_pool_rejects_bad_settings(workers: int, chunk_rows: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        StandardizePool(workers=workers, chunk_rows=chunk_rows)


UNGUARDED_SCRIPT = """\
from accord.standardize.config import StandardizeConfig
from accord.standardize.parallel import StandardizePool
from accord.standardize.stage import SourceContext, standardize_columns

columns = {"email": ["A@Acme.com", "bad"] * 50, "phone": ["202 555 0123", None] * 50}
context = SourceContext(source="crm", region=None, date_order=None)
config = StandardizeConfig()
with StandardizePool(workers=2, chunk_rows=10, min_rows=0) as pool:
    result = pool.standardize(columns, config, context)
serial = standardize_columns(columns, config, context)
print("equal" if result.columns == serial.columns and result.issues == serial.issues else "differ")
"""


def test_unguarded_script_falls_back_to_serial(tmp_path: Path) -> None:
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(UNGUARDED_SCRIPT), "utf-8")

    # The script imports Accord from this checkout, as the test does.
    path = os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])
    completed = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": path},
    )

    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.splitlines()[-1] == "equal"
    assert "standardizing source crm in this process" in completed.stderr


PROJECT = """\
name: parallel-test
standardize:
  default_region: GB
  fields:
    email: {standardizer: email, on_invalid: quarantine}
sources:
  - name: shop
    kind: csv
    path: shop.csv
    primary_key: id
    date_order: DMY
    fields:
      full_name: name
      email: email
      phone: phone
      address: address
      country: country
      birth_date: dob
quality:
  - rule: one_of_present
    fields: [email, phone]
"""


def test_process_rows_pool_equals_serial(pool: StandardizePool, tmp_path: Path) -> None:
    (tmp_path / "accord.yaml").write_text(PROJECT, encoding="utf-8")
    (tmp_path / "shop.csv").write_text("id,name,email,phone,address,country,dob\n", "utf-8")
    loaded = load_project(tmp_path / "accord.yaml")
    source = loaded.project.sources[0]
    columns = hard_columns()
    text = {name: [None if v is None else str(v) for v in columns[name]] for name in FIELDS}
    rows = pa.table(
        {
            "id": [str(row % (ROWS - 40)) for row in range(ROWS)],
            "name": text["full_name"],
            "email": text["email"],
            "phone": text["phone"],
            "address": text["address"],
            "country": text["country"],
            "dob": text["birth_date"],
        }
    )
    pool.chunk_rows = 700

    serial = process_rows(loaded.project, source, rows)
    parallel = process_rows(loaded.project, source, rows, pool=pool)

    assert parallel.accepted.equals(serial.accepted)
    assert parallel.quarantine == serial.quarantine
    assert parallel.warnings == serial.warnings
    assert parallel.deleted_keys == serial.deleted_keys
    assert serial.quarantined > 40
