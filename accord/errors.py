"""Exception tree for Accord.

Every error that Accord raises on purpose derives from :class:`AccordError`.
Errors that come from bad input carry enough context (file, key path, line,
row) to find and fix the input; :class:`TransientError` marks failures that a
retry can cure, so callers decide on retries by type, not by message.
"""

from __future__ import annotations

from dataclasses import dataclass


class AccordError(Exception):
    """Root of every error that Accord raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One problem found in a project file."""

    file: str
    key_path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        key = f" at '{self.key_path}'" if self.key_path else ""
        return f"{where}{key}: {self.message}"


class ConfigError(AccordError):
    """The project file is invalid; holds every problem found, not only the first."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"invalid project file ({count} {noun}):\n{lines}")


class SourceError(AccordError):
    """A source could not be read; the message names the source and the cause."""

    def __init__(self, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"source '{source}': {message}")


class TransientError(AccordError):
    """A failure that may succeed when retried (timeouts, 429, 5xx)."""


class StoreError(AccordError):
    """The store is unusable: locked, from a newer Accord version, or corrupt."""


class OutputPathError(AccordError):
    """An export path that is a folder, or whose folder is missing or is not a folder."""


class NotFoundError(AccordError):
    """A requested entity, record or run does not exist."""


class RunError(AccordError):
    """A pipeline run failed; the previous committed state is kept."""
