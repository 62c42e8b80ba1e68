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
    # Version 2: match model, entities with stable IDs, review queue, decisions, golden records.
    [
        """CREATE TABLE match_models (
            model_id INTEGER NOT NULL,
            trained_at TIMESTAMP NOT NULL,
            records INTEGER NOT NULL,
            comparisons JSON NOT NULL,
            settings JSON NOT NULL
        )""",
        """CREATE TABLE entities (
            entity_id VARCHAR NOT NULL,
            entity_type VARCHAR NOT NULL,
            created_seq BIGINT NOT NULL,
            created_at TIMESTAMP NOT NULL,
            updated_at TIMESTAMP NOT NULL,
            status VARCHAR NOT NULL,
            merged_into VARCHAR
        )""",
        """CREATE TABLE entity_members (
            entity_id VARCHAR NOT NULL,
            source VARCHAR NOT NULL,
            source_key VARCHAR NOT NULL,
            record_id VARCHAR NOT NULL
        )""",
        """CREATE TABLE entity_aliases (
            alias_id VARCHAR NOT NULL,
            entity_id VARCHAR NOT NULL,
            retired_at TIMESTAMP NOT NULL,
            reason VARCHAR NOT NULL
        )""",
        """CREATE TABLE entity_links (
            person_id VARCHAR NOT NULL,
            organization_id VARCHAR NOT NULL
        )""",
        """CREATE TABLE match_edges (
            record_a VARCHAR NOT NULL,
            record_b VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            rule VARCHAR,
            match_probability DOUBLE,
            match_weight DOUBLE,
            run_id INTEGER NOT NULL
        )""",
        """CREATE TABLE review_queue (
            record_a VARCHAR NOT NULL,
            record_b VARCHAR NOT NULL,
            match_probability DOUBLE NOT NULL,
            match_weight DOUBLE,
            status VARCHAR NOT NULL,
            first_run_id INTEGER NOT NULL,
            last_run_id INTEGER NOT NULL
        )""",
        """CREATE TABLE match_decisions (
            record_a VARCHAR NOT NULL,
            record_b VARCHAR NOT NULL,
            decision VARCHAR NOT NULL,
            decided_at TIMESTAMP NOT NULL,
            decided_by VARCHAR,
            note VARCHAR
        )""",
        """CREATE TABLE golden_values (
            entity_id VARCHAR NOT NULL,
            field VARCHAR NOT NULL,
            value JSON,
            rule VARCHAR NOT NULL,
            source VARCHAR,
            source_key VARCHAR,
            version INTEGER,
            observed_at TIMESTAMP,
            all_values JSON,
            contributors JSON,
            run_id INTEGER NOT NULL
        )""",
        """CREATE TABLE golden_changes (
            run_id INTEGER NOT NULL,
            entity_id VARCHAR NOT NULL,
            field VARCHAR NOT NULL,
            old_value JSON,
            new_value JSON,
            source VARCHAR,
            changed_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE entity_events (
            run_id INTEGER NOT NULL,
            entity_id VARCHAR NOT NULL,
            event VARCHAR NOT NULL,
            other_id VARCHAR,
            happened_at TIMESTAMP NOT NULL
        )""",
    ],
    # Version 3: sync to destinations (state, outbox, dead letters), suppression lists, triggers.
    [
        """CREATE TABLE sync_runs (
            sync_id INTEGER NOT NULL,
            started_at TIMESTAMP NOT NULL,
            finished_at TIMESTAMP,
            status VARCHAR NOT NULL,
            summary JSON
        )""",
        """CREATE TABLE sync_state (
            destination VARCHAR NOT NULL,
            record_key VARCHAR NOT NULL,
            entity_id VARCHAR NOT NULL,
            payload JSON NOT NULL,
            payload_hash VARCHAR NOT NULL,
            sent_at TIMESTAMP NOT NULL,
            sync_id INTEGER NOT NULL
        )""",
        """CREATE TABLE sync_outbox (
            change_id BIGINT NOT NULL,
            sync_id INTEGER NOT NULL,
            destination VARCHAR NOT NULL,
            record_key VARCHAR NOT NULL,
            entity_id VARCHAR NOT NULL,
            operation VARCHAR NOT NULL,
            record JSON NOT NULL,
            fields JSON NOT NULL,
            payload_hash VARCHAR NOT NULL,
            fixes JSON,
            idempotency_key VARCHAR NOT NULL,
            status VARCHAR NOT NULL,
            attempts INTEGER NOT NULL,
            created_at TIMESTAMP NOT NULL,
            sent_at TIMESTAMP,
            error VARCHAR
        )""",
        """CREATE TABLE sync_dead_letters (
            change_id BIGINT NOT NULL,
            sync_id INTEGER NOT NULL,
            destination VARCHAR NOT NULL,
            record_key VARCHAR NOT NULL,
            entity_id VARCHAR NOT NULL,
            operation VARCHAR NOT NULL,
            status_code INTEGER,
            response_body VARCHAR,
            error VARCHAR NOT NULL,
            failed_at TIMESTAMP NOT NULL,
            replayed_at TIMESTAMP
        )""",
        """CREATE TABLE suppression_list (
            list_name VARCHAR NOT NULL,
            entity_id VARCHAR NOT NULL,
            email VARCHAR,
            reason VARCHAR,
            added_at TIMESTAMP NOT NULL
        )""",
        """CREATE TABLE trigger_log (
            run_id INTEGER NOT NULL,
            trigger_name VARCHAR NOT NULL,
            entity_id VARCHAR NOT NULL,
            event VARCHAR NOT NULL,
            field VARCHAR,
            old_value JSON,
            new_value JSON,
            action VARCHAR NOT NULL,
            result VARCHAR NOT NULL,
            detail VARCHAR,
            fired_at TIMESTAMP NOT NULL
        )""",
    ],
    # Version 4: the streaming worker's durable change log and its processed micro-batches.
    [
        "CREATE SEQUENCE change_log_seq START 1",
        """CREATE TABLE change_log (
            seq BIGINT NOT NULL DEFAULT nextval('change_log_seq'),
            source VARCHAR NOT NULL,
            source_key VARCHAR NOT NULL,
            op VARCHAR NOT NULL,
            payload JSON NOT NULL,
            received_at TIMESTAMP NOT NULL,
            intake VARCHAR NOT NULL,
            source_position VARCHAR,
            processed_at TIMESTAMP,
            status VARCHAR NOT NULL,
            error VARCHAR,
            run_id INTEGER
        )""",
        """CREATE TABLE stream_batches (
            run_id INTEGER NOT NULL,
            processed_at TIMESTAMP NOT NULL,
            changes INTEGER NOT NULL,
            entity_ids JSON NOT NULL,
            delivered_at TIMESTAMP
        )""",
    ],
]

SCHEMA_VERSION = len(MIGRATIONS)
