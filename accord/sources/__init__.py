"""Source readers: one module per kind of system, each with the same shape.

:func:`open_reader` returns the reader for a configured source, and
:data:`CAPABILITIES` states what each kind of source can do.
"""

from __future__ import annotations

from pathlib import Path

from accord.config.models import (
    CsvSource,
    JsonSource,
    ParquetSource,
    RestSource,
    SourceBase,
    SqlSource,
)
from accord.errors import SourceError
from accord.sources.base import Capabilities, SourceReader
from accord.sources.csv_file import CsvReader
from accord.sources.json_file import JsonReader
from accord.sources.parquet_file import ParquetReader
from accord.sources.rest import RestReader
from accord.sources.sql import SqlReader

CAPABILITIES: dict[str, Capabilities] = {
    "csv": CsvReader.capabilities,
    "json": JsonReader.capabilities,
    "jsonl": JsonReader.capabilities,
    "parquet": ParquetReader.capabilities,
    "sql": SqlReader.capabilities,
    "rest_api": RestReader.capabilities,
}
"""What each source kind can do.

``incremental`` means a read can return only the rows changed after the
last cursor. ``detects_deletes`` means every read, incremental ones too,
reports which rows the source still has (``ReadResult.present_keys``).
"""

__all__ = ["CAPABILITIES", "open_reader"]


def resolve_path(path: str, project_dir: Path) -> Path:
    """Return ``path`` as an absolute path, resolving a relative path against ``project_dir``."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    return (project_dir / candidate).resolve()


def open_reader(source: SourceBase, project_dir: Path) -> SourceReader:
    """Return the reader for ``source``, chosen by its kind.

    Args:
        source: The source settings from the project file.
        project_dir: The folder of the project file; relative file paths
            and relative SQLite database paths start there.

    Returns:
        A reader whose ``read(since)`` returns the rows of the source.

    Raises:
        SourceError: When the source kind has no reader.
    """
    if isinstance(source, CsvSource):
        return CsvReader(source, resolve_path(source.path, project_dir))
    if isinstance(source, JsonSource):
        return JsonReader(source, resolve_path(source.path, project_dir))
    if isinstance(source, ParquetSource):
        return ParquetReader(source, resolve_path(source.path, project_dir))
    if isinstance(source, SqlSource):
        return SqlReader(source, project_dir)
    if isinstance(source, RestSource):
        return RestReader(source)
    kinds = ", ".join(CAPABILITIES)
    raise SourceError(source.name, f"no reader for this kind of source. Known kinds: {kinds}.")
