"""Attach records that carry only an email to the one customer whose name it spells.

Product analytics and newsletter tools often know a customer only by a
login email. Pairwise scoring cannot link such a record with confidence,
because one name agreement is weak evidence against the prior for a random
pair. After clustering, though, the question becomes whether exactly one
customer has the name the email spells (``jane.doe@``, ``doe.jane@`` or
``jdoe@``). If exactly one does, the record joins that customer; if two
customers share the name, the record stays on its own.
"""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pyarrow as pa

from accord.resolve.inputs import INPUT_TABLE
from accord.store.bulk import register

RULE = "email spells the name of one customer"


def email_only_links(
    connection: duckdb.DuckDBPyConnection, labels: dict[str, str]
) -> list[tuple[str, str]]:
    """Return (email-only record, named record) pairs to link, given current clusters.

    A record alone in its cluster links to the smallest named record whose
    name its email spells, when all such records share one cluster.
    """
    joins = " UNION ".join(
        f"""SELECT t.record_id AS thin, n.record_id AS named
            FROM accord_thin t JOIN {INPUT_TABLE} n ON t.email_local_key = n.{column}"""
        for column in ("name_full_key", "name_reversed_key", "name_initial_key")
    )
    register(connection, "accord_labels", _label_table(labels))
    try:
        rows = connection.execute(
            f"""WITH accord_thin AS MATERIALIZED (
                    SELECT record_id, email_local_key FROM {INPUT_TABLE}
                    WHERE first_name_key IS NULL AND last_name_key IS NULL
                      AND email_local_key IS NOT NULL AND length(email_local_key) >= 4
                      AND record_id IN (
                          SELECT record_id FROM accord_labels
                          QUALIFY count(*) OVER (PARTITION BY label) = 1))
                SELECT j.thin, min(j.named)
                FROM ({joins}) j JOIN accord_labels l ON l.record_id = j.named
                GROUP BY j.thin HAVING count(DISTINCT l.label) = 1
                ORDER BY j.thin"""
        ).fetchall()
    finally:
        connection.unregister("accord_labels")
    return [(thin, named) for thin, named in rows]


def _label_table(labels: dict[str, str]) -> pa.Table:
    return pa.table(
        {
            "record_id": pa.array(list(labels), pa.string()),
            "label": pa.array(list(labels.values()), pa.string()),
        }
    )


REVIEW_RULE = "only plausible customer with this full name"


def unique_candidate_links(
    connection: duckdb.DuckDBPyConnection,
    labels: dict[str, str],
    review: list[tuple[str, str, float, object]],
) -> list[tuple[str, str]]:
    """Return review pairs that join a thin lone record to the only customer it could be.

    A record still on its own that has a name but no phone, street or birth
    date (a support requester with a work email, say) joins a customer when
    one of its review pairs points into that customer, the two records have
    the same full name, and no other customer has a record with that name.
    Two customers with the name, or any customer with the name outside the
    review pairs, leave it for review.
    """
    if not review:
        return []
    sizes: dict[str, int] = defaultdict(int)
    for label in labels.values():
        sizes[label] += 1
    rows = _records_named_like(connection, {record for pair in review for record in pair[:2]})
    names = {record: name for record, name, _ in rows}
    thin = {record for record, _, is_thin in rows if is_thin}
    clusters_by_name: dict[str, set[str]] = defaultdict(set)
    for record, full_name in names.items():
        clusters_by_name[full_name].add(labels[record])
    links = []
    for a, b, _, _ in sorted(review):
        for lone, other in ((a, b), (b, a)):
            name = names.get(lone)
            if lone not in thin or sizes[labels[lone]] != 1 or name is None:
                continue
            if names.get(other) != name:
                continue
            if clusters_by_name[name] - {labels[lone]} == {labels[other]}:
                links.append((lone, other))
    unique: dict[str, str] = {}
    for lone, other in links:
        unique.setdefault(lone, other)
    return sorted(unique.items())


def _records_named_like(
    connection: duckdb.DuckDBPyConnection, records: set[str]
) -> list[tuple[str, str, bool]]:
    """Return (record, full name, is thin) of each record named like one of ``records``."""
    ids = pa.table({"record_id": pa.array(sorted(records), pa.string())})
    register(connection, "accord_review_records", ids)
    try:
        return connection.execute(
            f"""SELECT record_id, name_full_key,
                       phone_key IS NULL AND street_key IS NULL AND birth_date IS NULL
                FROM {INPUT_TABLE} WHERE name_full_key IN (
                    SELECT name_full_key FROM {INPUT_TABLE}
                    WHERE record_id IN (SELECT record_id FROM accord_review_records))"""
        ).fetchall()
    finally:
        connection.unregister("accord_review_records")
