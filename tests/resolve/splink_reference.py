"""Splink 5's own blocking and prediction, the reference for Accord's pair scoring."""

from __future__ import annotations

import duckdb
import pyarrow as pa

from accord.resolve.model import MatchModel


def splink_predict(table: pa.Table, model: MatchModel, threshold: float) -> pa.Table:
    """Score the blocked pairs of ``table`` with Splink; keep those at ``threshold`` or above."""
    from splink import DuckDBAPI, Linker

    settings = {
        **model.settings,
        "retain_matching_columns": True,
        "retain_intermediate_calculation_columns": True,
    }
    connection = duckdb.connect()
    try:
        database = DuckDBAPI(connection)
        linker = Linker(database.register(table, table_name="accord_input"), settings)
        frame = linker.inference.predict(
            threshold_match_probability=threshold, warning_mode="never"
        )
        return frame.as_pyarrow_table()
    finally:
        connection.close()
