"""Resolution and merge stages that run inside the batch transaction."""

from __future__ import annotations

from typing import Any

import duckdb

from accord.config.loader import LoadedProject
from accord.progress import Progress


def after_ingest(
    loaded: LoadedProject,
    connection: duckdb.DuckDBPyConnection,
    run_id: int,
    progress: Progress,
) -> dict[str, Any]:
    """Resolve entities and merge golden records from the stored source records."""
    return {}
