"""The commented starter project that ``accord init`` writes."""

from __future__ import annotations

STARTER_PROJECT = """\
# Accord project file. Validate it with 'accord validate', run it with 'accord run'.
version: 1
name: my-customers

# Where Accord keeps source records, entities, golden records and history.
store:
  path: accord.duckdb          # relative to this file

# Options for cleaning values before matching.
standardize:
  default_region: US           # phone numbers without a country code are read as this region
  extra_placeholders: []       # values to treat as missing, besides N/A, null, unknown, ...

# Every system that holds customers. Each source has a unique name, a kind
# (csv, json, jsonl, parquet, sql, rest_api), a primary key, and a mapping
# from canonical fields (left) to its own columns (right).
sources:
  - name: crm
    kind: csv
    path: data/customers.csv
    primary_key: id
    cursor: updated_at         # optional: read only rows changed since the last run
    fields:
      first_name: first_name
      last_name: last_name
      email: email
      phone: phone
      lifecycle_stage:
        from: status
        values:                # map the tool's words to canonical values
          Lead: lead
          Customer: customer
        unmapped: quarantine   # or 'pass' to keep unknown values, 'null' to drop them
      updated_at: updated_at

  # A SQL table, for example:
  # - name: billing
  #   kind: sql
  #   url: postgresql+psycopg://user:${BILLING_DB_PASSWORD}@localhost/billing
  #   table: customers
  #   primary_key: customer_id
  #   fields:
  #     email: email
  #     subscription_status: status

# Records that fail a rule are quarantined with the reason, never dropped.
quality:
  - rule: one_of_present
    fields: [email, phone]

# Identity resolution thresholds (match probabilities between 0 and 1).
matching:
  auto_merge: 0.95
  review: 0.80
"""

STARTER_DATA = """\
id,first_name,last_name,email,phone,status,updated_at
1,Ada,Lovelace,ada@analytical-engines.org,+1 415 555 0100,Customer,2024-05-01T10:00:00
2,Alan,Turing,alan@turing-machines.org,(415) 555-0101,Lead,2024-05-02T11:30:00
"""
