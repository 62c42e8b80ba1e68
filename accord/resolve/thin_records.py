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

from accord.resolve.inputs import INPUT_TABLE

RULE = "email spells the name of one customer"


def email_only_links(
    connection: duckdb.DuckDBPyConnection, labels: dict[str, str]
) -> list[tuple[str, str]]:
    """Return (email-only record, named record) pairs to link, given current clusters."""
    sizes: dict[str, int] = defaultdict(int)
    for label in labels.values():
        sizes[label] += 1
    joins = " UNION ".join(
        f"""SELECT t.record_id AS thin, n.record_id AS named
            FROM accord_thin t JOIN {INPUT_TABLE} n ON t.email_local_key = n.{column}"""
        for column in ("name_full_key", "name_reversed_key", "name_initial_key")
    )
    connection.execute(
        f"""CREATE OR REPLACE TEMP TABLE accord_thin AS
            SELECT record_id, email_local_key FROM {INPUT_TABLE}
            WHERE first_name_key IS NULL AND last_name_key IS NULL
              AND email_local_key IS NOT NULL AND length(email_local_key) >= 4"""
    )
    rows = connection.execute(f"SELECT thin, named FROM ({joins}) ORDER BY 1, 2").fetchall()
    connection.execute("DROP TABLE accord_thin")
    candidates: dict[str, dict[str, str]] = defaultdict(dict)
    for thin, named in rows:
        if sizes[labels[thin]] == 1:
            candidates[thin].setdefault(labels[named], named)
    return [
        (thin, next(iter(found.values())))
        for thin, found in sorted(candidates.items())
        if len(found) == 1
    ]


REVIEW_RULE = "only plausible customer with this full name"


def unique_candidate_links(
    connection: duckdb.DuckDBPyConnection,
    labels: dict[str, str],
    review: list[tuple[str, str, float, object]],
) -> list[tuple[str, str]]:
    """Return review pairs that join a lone record to the only customer it could be.

    A record still on its own whose every review pair points into one
    customer, and whose full name equals the name of a record of that
    customer, joins it. Two candidate customers leave it for review.
    """
    sizes: dict[str, int] = defaultdict(int)
    for label in labels.values():
        sizes[label] += 1
    options: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for a, b, _, _ in review:
        for lone, other in ((a, b), (b, a)):
            if sizes[labels[lone]] == 1 and sizes[labels[other]] > 1:
                options[lone][labels[other]].append(other)
    single = {
        lone: next(iter(found.values())) for lone, found in options.items() if len(found) == 1
    }
    if not single:
        return []
    names = dict(
        connection.execute(
            f"SELECT record_id, name_full_key FROM {INPUT_TABLE} WHERE name_full_key IS NOT NULL"
        ).fetchall()
    )
    links = []
    for lone, others in sorted(single.items()):
        same_name = [
            other
            for other in others
            if names.get(lone) is not None and names.get(other) == names.get(lone)
        ]
        if same_name:
            links.append((lone, sorted(same_name)[0]))
    return links
