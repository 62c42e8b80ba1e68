"""Parquet reader: struct columns become dotted names, other types become plain ones."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from accord.config.models import ParquetSource
from accord.errors import SourceError
from accord.logs import get_logger
from accord.sources.base import Capabilities, ReadResult
from accord.sources.records import finish_read, table_row_locator
from accord.sources.values import OutOfRange, normalize_table

logger = get_logger(__name__)


class ParquetReader:
    """Reads a Parquet source file."""

    capabilities = Capabilities(incremental=True, detects_deletes=True)

    def __init__(self, source: ParquetSource, path: Path) -> None:
        """Prepare to read ``path`` with the settings of ``source``."""
        self.source = source
        self.path = path

    def read(self, since: str | None) -> ReadResult:
        """Read every row of the file, keeping those changed after ``since``.

        Raises:
            SourceError: When the file is missing or is not a Parquet file.
        """
        out_of_range: dict[str, OutOfRange] = {}
        table = normalize_table(self._read_table(), out_of_range)
        logger.info(
            "source '%s': read %d rows from %s", self.source.name, table.num_rows, self.path
        )

        return finish_read(
            table,
            self.source,
            since,
            table_row_locator(table),
            origin=f"the columns of {self.path}",
            out_of_range=out_of_range,
        )

    def _read_table(self) -> pa.Table:
        name = self.source.name
        if not self.path.is_file():
            raise SourceError(
                name, f"file not found: {self.path}. Check 'path' in the source settings."
            )
        try:
            return pq.read_table(self.path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise SourceError(
                name,
                f"cannot read {self.path} as Parquet: {exc}. Check that 'path' names a "
                "Parquet file, or set the kind that matches the file.",
            ) from None
