"""A size-bounded cache of standardizer outcomes shared across calls."""

from __future__ import annotations

import threading
from collections.abc import Hashable
from itertools import islice
from typing import Any, Generic, TypeVar

KeyT = TypeVar("KeyT", bound=Hashable)
ValueT = TypeVar("ValueT")


_ALL_CACHES: list[BoundedCache[Any, Any]] = []


def clear_all_caches() -> None:
    """Empty every :class:`BoundedCache` created so far."""
    for cache in _ALL_CACHES:
        cache.clear()


class BoundedCache(Generic[KeyT, ValueT]):
    """A dictionary that drops its oldest quarter when it reaches ``max_size`` entries.

    Eviction is by insertion order, not by last use: a plain ``dict`` keeps
    reads and writes as fast as dictionary operations, which matters more
    here than the hit rate of a true LRU. Only eviction takes a lock, so
    threads can share one cache. A value written while another thread
    evicts may be dropped, which costs a recomputation and nothing else.
    """

    def __init__(self, max_size: int) -> None:
        if max_size < 4:
            raise ValueError(f"cache max_size must be at least 4, got {max_size}")
        self.max_size = max_size
        self._data: dict[KeyT, ValueT] = {}
        self._lock = threading.Lock()
        _ALL_CACHES.append(self)

    def get(self, key: KeyT) -> ValueT | None:
        """Return the cached value for ``key``, or None when it is absent."""
        return self._data.get(key)

    def put(self, key: KeyT, value: ValueT) -> None:
        """Store ``value`` under ``key``, evicting the oldest entries when full."""
        if len(self._data) >= self.max_size:
            self._evict()
        self._data[key] = value

    def _evict(self) -> None:
        with self._lock:
            if len(self._data) < self.max_size:
                return
            oldest = list(islice(self._data, self.max_size // 4))
            for old_key in oldest:
                self._data.pop(old_key, None)

    def clear(self) -> None:
        """Remove every entry."""
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)
