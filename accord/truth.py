"""Score the stored entities against a ground-truth file."""

from __future__ import annotations

import csv
from pathlib import Path

from accord.errors import AccordError
from accord.evaluation import Scores, score
from accord.store.duckdb_store import Store


def read_truth(path: Path) -> dict[str, str]:
    """Read a CSV with columns source, source_key, entity into record ID -> true entity."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = {"source", "source_key", "entity"} - set(reader.fieldnames or [])
            if missing:
                raise AccordError(
                    f"{path}: missing column(s) {', '.join(sorted(missing))}; expected "
                    "source,source_key,entity"
                )
            return {f"{row['source']}:{row['source_key']}": row["entity"] for row in reader}
    except OSError as exc:
        raise AccordError(f"cannot read ground truth {path}: {exc}") from exc


def score_store(store: Store, truth_path: Path) -> Scores:
    """Return pairwise and B-cubed scores of the person entities against ground truth."""
    truth = read_truth(truth_path)
    predicted = dict(
        store.connection.execute(
            """SELECT m.record_id, m.entity_id FROM entity_members m
               JOIN entities e USING (entity_id) WHERE e.entity_type = 'person'"""
        ).fetchall()
    )
    return score(predicted, truth)
