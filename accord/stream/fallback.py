"""Keep a record's last valid change when its latest change in a micro-batch is invalid.

A micro-batch applies only the latest change of each record and marks the
earlier ones superseded. Applied one at a time, though, an earlier valid
change would be stored and a later invalid one only quarantined. So when
the latest change of a record would be quarantined, the latest earlier
change that is valid (or a delete) is applied first, and the invalid one
after it, which leaves the record as the valid change wrote it.

Validity is checked by mapping, standardizing and validating each
candidate alone, in process; batches where no record repeats skip this.
"""

from __future__ import annotations

from collections import defaultdict

from accord.config.models import Project, SourceBase
from accord.ingest import process_rows
from accord.stream.changelog import PendingChange
from accord.stream.ordering import Plan
from accord.stream.rows import rows_table


def _quarantined(project: Project, source: SourceBase, change: PendingChange) -> bool:
    """Return whether ``change``, processed alone, would be quarantined."""
    batch = process_rows(project, source, rows_table(source, [change.payload]))
    return any(entry.source_key == change.source_key for entry in batch.quarantine)


def valid_fallbacks(project: Project, source: SourceBase, plan: Plan) -> list[PendingChange]:
    """Return the superseded changes to apply before ``plan.apply``, in sequence order.

    For each record whose applied change would be quarantined, that is its
    latest earlier change in the batch that is a delete or would be accepted.
    """
    earlier: dict[str, list[PendingChange]] = defaultdict(list)
    for change in plan.superseded:
        earlier[change.source_key].append(change)
    fallbacks = []
    for change in plan.apply:
        candidates = earlier.get(change.source_key)
        if not candidates or change.op == "delete":
            continue
        if not _quarantined(project, source, change):
            continue
        for candidate in sorted(candidates, key=lambda c: c.seq, reverse=True):
            if candidate.op == "delete" or not _quarantined(project, source, candidate):
                fallbacks.append(candidate)
                break
    return sorted(fallbacks, key=lambda c: c.seq)
