"""Export golden records, or current source records before the first merge."""

from __future__ import annotations

from pathlib import Path

from accord.errors import OutputPathError
from accord.store.duckdb_store import Store

_FORMATS = {
    "csv": "(FORMAT csv, HEADER true)",
    "parquet": "(FORMAT parquet)",
    "jsonl": "(FORMAT json)",
}


def check_output_file(path: Path) -> None:
    """Check that ``path`` names a file that can be created or overwritten.

    Folders are not created, so a mistyped folder fails here instead of
    leaving new empty folders behind.

    Raises:
        OutputPathError: if ``path`` is a folder or its folder is missing or is not a folder.
    """
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder; give the path of a file to write inside it")
    folder = path.parent
    if not folder.exists():
        raise OutputPathError(
            f"cannot write {path}: folder {folder} does not exist; create it or choose another path"
        )
    if not folder.is_dir():
        raise OutputPathError(
            f"cannot write {path}: {folder} is not a folder; choose a path inside a folder"
        )


def _quote_path(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def export_table(store: Store, path: Path, file_format: str) -> int:
    """Write one row per golden record (entity) to ``path``; return the row count.

    Raises:
        OutputPathError: if ``path`` cannot take a file; see :func:`check_output_file`.
    """
    check_output_file(path)
    connection = store.connection
    golden = store.table_exists("golden_values") and bool(
        (connection.execute("SELECT count(*) FROM golden_values").fetchone() or (0,))[0]
    )
    if golden:
        query = """
            SELECT * FROM (
                PIVOT (SELECT g.entity_id, e.entity_type, g.field,
                              json_extract_string(g.value, '$') AS value
                       FROM golden_values g JOIN entities e USING (entity_id))
                ON field USING first(value) GROUP BY entity_id, entity_type)
            ORDER BY entity_id"""
    else:
        query = """SELECT source, source_key, data FROM source_records
                   WHERE deleted_at IS NULL ORDER BY source, source_key"""
    connection.execute(f"COPY ({query}) TO {_quote_path(path)} {_FORMATS[file_format]}")
    row = connection.execute(f"SELECT count(*) FROM ({query})").fetchone()
    return int(row[0]) if row else 0
