"""Progress reporting hooks; the CLI draws them as rich progress bars, services log them."""

from __future__ import annotations

from typing import Protocol

from accord.logs import get_logger

logger = get_logger(__name__)


class Progress(Protocol):
    """Receives the start, advance and end of each named task of a run."""

    def begin(self, task: str, total: int | None) -> None:
        """Start ``task``; ``total`` is the number of units, or None when unknown."""

    def advance(self, task: str, amount: int) -> None:
        """Mark ``amount`` more units of ``task`` done."""

    def end(self, task: str) -> None:
        """Finish ``task``."""


class LogProgress:
    """Progress reported as log lines, for services and library callers."""

    def begin(self, task: str, total: int | None) -> None:
        logger.debug("%s: started (%s units)", task, total if total is not None else "unknown")

    def advance(self, task: str, amount: int) -> None:
        return None

    def end(self, task: str) -> None:
        logger.debug("%s: done", task)
