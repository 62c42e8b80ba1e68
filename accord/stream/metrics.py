"""Counters and a latency histogram of the worker, in Prometheus text format 0.0.4."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable

# Upper bounds in seconds of the processing latency histogram (received to committed).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)

RECEIVED = "accord_changes_received_total"
COUNTERS = {
    RECEIVED: "Changes committed to the change log, per source.",
    "accord_changes_processed_total": "Changes written to the store, per source.",
    "accord_changes_failed_total": "Changes that failed processing or were rejected, per source.",
    "accord_changes_stale_total": "Changes skipped because the store holds a newer version.",
    "accord_changes_quarantined_total": "Changes that failed validation, per source.",
}


class Metrics:
    """Thread-safe counters per source and one processing latency histogram.

    ``lag`` returns the age in seconds of the oldest pending change per
    source; the worker reads it from the change log at scrape time.
    ``arrived`` is set whenever received changes are counted, which every
    intake does right after committing them, so the processor can start at
    once instead of at its next check.
    """

    def __init__(self, lag: Callable[[], dict[str, float]] | None = None) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, dict[str, int]] = {name: defaultdict(int) for name in COUNTERS}
        self._bucket_counts = [0] * len(LATENCY_BUCKETS)
        self._latency_count = 0
        self._latency_sum = 0.0
        self._lag = lag
        self.arrived = threading.Event()

    def add(self, counter: str, source: str, amount: int = 1) -> None:
        """Add ``amount`` to a counter of one source."""
        with self._lock:
            self._counters[counter][source] += amount
        if counter == RECEIVED and amount > 0:
            self.arrived.set()

    def value(self, counter: str, source: str) -> int:
        """Return the current value of a counter of one source."""
        with self._lock:
            return self._counters[counter].get(source, 0)

    def observe_latencies(self, seconds: Iterable[float]) -> None:
        """Record processing latencies in seconds."""
        with self._lock:
            for value in seconds:
                self._latency_count += 1
                self._latency_sum += value
                for index, bound in enumerate(LATENCY_BUCKETS):
                    if value <= bound:
                        self._bucket_counts[index] += 1

    def render(self) -> str:
        """Return every metric in Prometheus text format."""
        lines: list[str] = []
        with self._lock:
            for name, help_text in COUNTERS.items():
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
                for source, count in sorted(self._counters[name].items()):
                    lines.append(f'{name}{{source="{_escape(source)}"}} {count}')
            lines += self._histogram_lines()
        lines += self._lag_lines()
        return "\n".join(lines) + "\n"

    def _histogram_lines(self) -> list[str]:
        name = "accord_processing_latency_seconds"
        lines = [
            f"# HELP {name} Seconds from receiving a change to committing it to the store.",
            f"# TYPE {name} histogram",
        ]
        for bound, count in zip(LATENCY_BUCKETS, self._bucket_counts, strict=True):
            lines.append(f'{name}_bucket{{le="{bound}"}} {count}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self._latency_count}')
        lines.append(f"{name}_sum {self._latency_sum}")
        lines.append(f"{name}_count {self._latency_count}")
        return lines

    def _lag_lines(self) -> list[str]:
        name = "accord_lag_seconds"
        lines = [
            f"# HELP {name} Age of the oldest pending change per source; 0 when none waits.",
            f"# TYPE {name} gauge",
        ]
        lag = self._lag() if self._lag is not None else {}
        with self._lock:
            sources = set(self._counters["accord_changes_received_total"]) | set(lag)
        for source in sorted(sources):
            lines.append(f'{name}{{source="{_escape(source)}"}} {lag.get(source, 0.0)}')
        return lines


def _escape(label: str) -> str:
    return label.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
