"""A size-bounded cache of standardizer outcomes shared across calls."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from itertools import islice
from typing import Generic, TypeVar

KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")


class BoundedCache(Generic[KeyT, ValueT]):
    """A dictionary that drops its oldest quarter when it reaches ``max_size`` entries.

    Eviction is by insertion order, not by last use: a plain ``dict`` keeps
    reads as fast as a dictionary lookup, which matters more here than the
    hit rate of a true LRU. Reads are lock-free and writes take a lock, so
    threads can share one cache.
    """

    def __init__(self, max_size: int) -> None:
        if max_size < 4:
            raise ValueError(f"cache max_size must be at least 4, got {max_size}")
        self.max_size = max_size
        self._data: dict[KeyT, ValueT] = {}
        self._lock = threading.Lock()

    def get(self, key: KeyT) -> ValueT | None:
        """Return the cached value for ``key``, or None when it is absent."""
        return self._data.get(key)

    def put(self, key: KeyT, value: ValueT) -> None:
        """Store ``value`` under ``key``, evicting the oldest entries when full."""
        with self._lock:
            if len(self._data) >= self.max_size:
                oldest = list(islice(self._data, self.max_size // 4))
                for old_key in oldest:
                    del self._data[old_key]
            self._data[key] = value

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
