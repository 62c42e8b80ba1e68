"""Rich progress bars for the stages of a run."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.progress import Progress as RichBars


class RichProgress:
    """Draw one progress bar per task on stderr."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self._bars = RichBars(
            SpinnerColumn(),
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            disable=not enabled,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._bars.stop()

    def begin(self, task: str, total: int | None) -> None:
        self._tasks[task] = self._bars.add_task(task, total=total)

    def advance(self, task: str, amount: int) -> None:
        task_id = self._tasks.get(task)
        if task_id is not None:
            self._bars.advance(task_id, amount)

    def end(self, task: str) -> None:
        task_id = self._tasks.get(task)
        if task_id is None:
            return
        total = self._bars.tasks[task_id].total
        if total is None:
            self._bars.update(task_id, total=1, completed=1)
        else:
            self._bars.update(task_id, completed=total)
