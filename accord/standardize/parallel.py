"""Standardize large batches in worker processes, one chunk of rows per task.

:class:`StandardizePool` cuts the columns of a batch into chunks of
consecutive rows, runs :func:`accord.standardize.stage.standardize_columns`
on each chunk in a process pool and joins the chunks in row order. Every
output value depends only on its own row and the run date, and the pool
passes one run date to every chunk. The joined result therefore equals that
of one serial call, with the same columns and issues in the same order.

Batches of fewer than ``min_rows`` rows, and pools of one worker, run
serially in the calling process because starting workers would cost more
than it saves. Workers start with the first large batch and stop when the
pool closes. Log records of the workers go through the caller's handlers.

Workers are spawned, so they import the caller's main module. A script that
runs the pipeline needs an ``if __name__ == "__main__":`` guard. Without
one, each worker reruns the script's top-level code and fails, and the pool
then standardizes in the calling process.
"""

from __future__ import annotations

import datetime as dt
import logging
import logging.handlers
import multiprocessing
import os
import queue
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from itertools import chain
from types import TracebackType
from typing import Any

from accord.logs import get_logger
from accord.standardize.config import StandardizeConfig
from accord.standardize.stage import (
    SourceContext,
    StandardizeResult,
    column_length,
    standardize_columns,
)

logger = get_logger(__name__)

CHUNK_ROWS = 25_000
"""Rows per task. Smaller chunks balance the workers better, but each
worker parses a value that repeats across its chunks again once its outcome
cache has dropped it."""

PARALLEL_MIN_ROWS = 2 * CHUNK_ROWS
"""Rows below which a batch is standardized in the calling process."""


class StandardizePool:
    """Worker processes that standardize the chunks of large batches.

    Use it as a context manager, or call :meth:`close`, so that the workers
    and their memory go away once the batches are done.
    """

    def __init__(
        self,
        workers: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
        min_rows: int = PARALLEL_MIN_ROWS,
    ) -> None:
        """Set up a pool of ``workers`` processes (default: one per CPU) without starting them.

        Raises:
            ValueError: ``workers`` or ``chunk_rows`` is less than 1.
        """
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be at least 1, got {chunk_rows}")
        self.chunk_rows = chunk_rows
        self.min_rows = min_rows
        self._executor: ProcessPoolExecutor | None = None
        self._listener: logging.handlers.QueueListener | None = None

    def __enter__(self) -> StandardizePool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def standardize(
        self, columns: dict[str, list[Any]], config: StandardizeConfig, context: SourceContext
    ) -> StandardizeResult:
        """Standardize a batch like :func:`standardize_columns`, in chunks when it is large.

        Raises:
            ValueError: The column lists have different lengths.
        """
        size = column_length(columns)
        if self.workers < 2 or size < max(self.min_rows, 2):
            return standardize_columns(columns, config, context)
        started = time.perf_counter()
        today = dt.date.today()
        starts = list(range(0, size, self.chunk_rows))
        executor = self._start()
        try:
            futures = [
                executor.submit(
                    standardize_columns,
                    {
                        name: values[start : start + self.chunk_rows]
                        for name, values in columns.items()
                    },
                    config,
                    context,
                    today,
                )
                for start in starts
            ]
            result = join_chunks([future.result() for future in futures], starts)
        except BrokenProcessPool as error:
            # A worker died: killed for memory, or it could not import the
            # caller's main module (a script without an `if __name__ ==
            # "__main__":` guard). The batch still completes serially.
            logger.warning(
                "standardize workers failed (%s); standardizing source %s in this process",
                error,
                context.source,
            )
            self.close()
            self.workers = 1
            return standardize_columns(columns, config, context, today)
        logger.info(
            "standardized %d rows of source %s in %d chunks on %d workers in %.2f s",
            size,
            context.source,
            len(starts),
            self.workers,
            time.perf_counter() - started,
        )
        return result

    def close(self) -> None:
        """Stop the workers; a later large batch starts new ones.

        Idle workers exit in the background, because freeing their parser
        caches on exit can take seconds.
        """
        if self._executor is not None:
            self._executor.shutdown(wait=False)
            self._executor = None
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is not None:
            return self._executor
        # Spawned workers do not inherit the DuckDB threads and locks of this
        # process, which a forked child could find held.
        context = multiprocessing.get_context("spawn")
        records: queue.Queue[logging.LogRecord] = context.Queue()  # type: ignore[assignment]
        self._listener = logging.handlers.QueueListener(records, _ForwardHandler())
        self._listener.start()
        level = logging.getLogger("accord").getEffectiveLevel()
        self._executor = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(records, level),
        )
        logger.info("started %d standardize workers", self.workers)
        return self._executor


def join_chunks(results: list[StandardizeResult], starts: list[int]) -> StandardizeResult:
    """Join the results of consecutive row chunks that start at ``starts`` into one.

    Issues are ordered as :func:`standardize_columns` orders them: by field
    in processing order, then by row.

    Raises:
        ValueError: The chunks have different output columns, or no chunks are given.
    """
    if not results:
        raise ValueError("join_chunks needs at least one chunk result")
    first = results[0]
    for result in results[1:]:
        if list(result.columns) != list(first.columns):
            raise ValueError(
                f"chunk output columns differ: {list(result.columns)} != {list(first.columns)}"
            )
    columns = {
        name: list(chain.from_iterable(result.columns[name] for result in results))
        for name in first.columns
    }
    rank = {name: index for index, name in enumerate(first.fields)}
    issues = [
        replace(issue, row=issue.row + start)
        for start, result in zip(starts, results, strict=True)
        for issue in result.issues
    ]
    issues.sort(key=lambda issue: (rank[issue.field], issue.row))
    return StandardizeResult(columns=columns, issues=issues, fields=list(first.fields))


class _ForwardHandler(logging.Handler):
    """Pass a worker's log record to the logger of the same name in this process."""

    def emit(self, record: logging.LogRecord) -> None:
        logging.getLogger(record.name).handle(record)


def _init_worker(records: queue.Queue[logging.LogRecord], level: int) -> None:
    root = logging.getLogger()
    root.handlers = [logging.handlers.QueueHandler(records)]
    root.setLevel(level)
