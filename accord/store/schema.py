"""Store schema, one migration per version.

A store records its schema version in ``accord_meta``; opening a store with
an older version applies the missing migrations in one transaction.
"""

from __future__ import annotations

MIGRATIONS: list[list[str]] = [
    # Version 1: runs, source state, versioned source records and quarantine.
    [
        """CREATE TABLE runs (
            run_id INTEGER NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL,
            summary JSON
        )""",
        """CREATE TABLE source_state (
            source VARCHAR NOT NULL,
            cursor VARCHAR,
            last_run_id INTEGER,
            updated_at TIMESTAMP
        )""",
        """CREATE TABLE source_records (
            source VARCHAR NOT NULL,
            source_key VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            content_hash VARCHAR NOT NULL,
            raw JSON,
            data JSON,
            first_seen TIMESTAMP NOT NULL,
            last_seen TIMESTAMP NOT NULL,
            changed_at TIMESTAMP NOT NULL,
            deleted_at TIMESTAMP,
            run_id INTEGER NOT NULL
        )""",
        """CREATE TABLE record_versions (
            source VARCHAR NOT NULL,
            source_key VARCHAR NOT NULL,
            version INTEGER NOT NULL,
            content_hash VARCHAR NOT NULL,
            raw JSON,
            data JSON,
            deleted BOOLEAN NOT NULL,
            recorded_at TIMESTAMP NOT NULL,
            run_id INTEGER NOT NULL
        )""",
        """CREATE TABLE quarantine (
            run_id INTEGER NOT NULL,
            source VARCHAR NOT NULL,
            source_key VARCHAR,
            location VARCHAR,
            rule VARCHAR NOT NULL,
            field VARCHAR,
            value VARCHAR,
            reason VARCHAR NOT NULL,
            raw JSON,
            quarantined_at TIMESTAMP NOT NULL
        )""",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
