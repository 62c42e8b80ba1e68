"""What a tool run returns to the benchmark: phase times and predicted clusters."""

from __future__ import annotations

import time
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class ToolRun:
    """Phase wall times in seconds, cluster label per record ID, and remarks."""

    phases: dict[str, float] = field(default_factory=dict)
    predicted: dict[str, Hashable] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the block and add its wall time to phase ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - start
