"""Deterministic stitching: records that share a configured key are linked.

A value shared by more records than ``max_group_size`` is not evidence of
one customer (a switchboard number, a role mailbox, a placeholder that got
through); such values are reported and skipped. Role email addresses never
stitch on their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from accord.config.models import DeterministicRule, MatchingConfig, Project
from accord.logs import get_logger
from accord.model import CANONICAL_FIELDS

logger = get_logger(__name__)


@dataclass(frozen=True)
class FrequentValue:
    """A key value shared by too many records to stitch on."""

    rule: str
    records: int


def default_rules(project: Project) -> list[DeterministicRule]:
    """Return the stitching rules used when the project sets none.

    Every external ID field stitches without a guard, because two systems
    that store each other's ID have already declared the link; the email
    comparison key stitches with the first-name guard.
    """
    rules = [
        DeterministicRule(name=name, fields=[name], guard=False)
        for name, field in project.extra_fields.items()
        if field.role == "external_id"
    ]
    if "external_id" in CANONICAL_FIELDS and any(
        "external_id" in source.fields for source in project.sources
    ):
        rules.append(DeterministicRule(name="external_id", fields=["external_id"], guard=False))
    rules.append(DeterministicRule(name="email", fields=["email_key"], guard=True))
    return rules


def rules_for(project: Project) -> list[DeterministicRule]:
    """Return the configured stitching rules, or the defaults."""
    configured = project.matching.deterministic
    return list(configured) if configured is not None else default_rules(project)


def stitch(
    connection: duckdb.DuckDBPyConnection,
    table: str,
    rules: list[DeterministicRule],
    config: MatchingConfig,
    columns: set[str],
) -> tuple[str, list[FrequentValue]]:
    """Create temp table ``accord_stitched`` of pairs linked by a rule.

    The table has ``record_a < record_b``, the rule name and whether the rule
    is guarded. Returns its name and the values skipped as too frequent.
    """
    connection.execute(
        "CREATE OR REPLACE TEMP TABLE accord_stitched "
        "(record_a VARCHAR, record_b VARCHAR, rule VARCHAR, guard BOOLEAN)"
    )
    frequent: list[FrequentValue] = []
    for rule in rules:
        missing = [field for field in rule.fields if field not in columns]
        if missing:
            logger.debug("stitching rule %s skipped: no data in %s", rule.name, ", ".join(missing))
            continue
        frequent.extend(_stitch_rule(connection, table, rule, config.max_group_size))
    if frequent:
        logger.info(
            "%d key values were shared by more than %d records and not used to stitch",
            len(frequent),
            config.max_group_size,
        )
    return "accord_stitched", frequent


def _stitch_rule(
    connection: duckdb.DuckDBPyConnection, table: str, rule: DeterministicRule, limit: int
) -> list[FrequentValue]:
    fields = [f'"{field}"' for field in rule.fields]
    not_null = " AND ".join(
        f"{field} IS NOT NULL AND CAST({field} AS VARCHAR) <> ''" for field in fields
    )
    if "email_key" in rule.fields:
        not_null += " AND NOT coalesce(email_is_role, FALSE)"
    keys = ", ".join(fields)
    connection.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE accord_groups AS
        SELECT record_id, {keys}, count(*) OVER (PARTITION BY {keys}) AS group_size
        FROM {table} WHERE {not_null}
        """
    )
    join = " AND ".join(f"a.{field} = b.{field}" for field in fields)
    connection.execute(
        f"""
        INSERT INTO accord_stitched
        SELECT a.record_id, b.record_id, ?, ?
        FROM accord_groups a JOIN accord_groups b ON {join} AND a.record_id < b.record_id
        WHERE a.group_size <= ?
        """,
        [rule.name, rule.guard, limit],
    )
    rows = connection.execute(
        f"SELECT group_size FROM accord_groups WHERE group_size > ? GROUP BY {keys}, group_size",
        [limit],
    ).fetchall()
    connection.execute("DROP TABLE accord_groups")
    return [FrequentValue(rule.name, int(size)) for (size,) in rows]
