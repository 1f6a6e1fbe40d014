"""A thread-safe least-frequently-used cache of byte strings, bounded by the bytes it holds.

Elasticsearch's native process keeps such a cache of inference results per process (reference §3.2);
inferd's worker keeps one shared by its allocations. An entry weighs its key plus its value, so the bound
is what the entries occupy rather than a count. When an entry must make room, the least frequently used
goes first and, among equally used ones, the one that reached its count earliest. A bound of 0 disables
the cache, and an entry heavier than the whole bound is not stored (it would only empty the cache).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class _Entry:
    value: bytes
    weight: int
    uses: int = 1


class LfuCache:
    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self.size_bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: dict[bytes, _Entry] = {}
        self._by_uses: dict[int, OrderedDict[bytes, None]] = {}  # uses -> keys, earliest to reach it first
        self._fewest_uses = 0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.capacity_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: bytes) -> bytes | None:
        """The value under `key`, counting one more use of it; None (a miss) if absent."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
            self._forget_uses(key, entry.uses)
            entry.uses += 1
            self._by_uses.setdefault(entry.uses, OrderedDict())[key] = None
            return entry.value

    def put(self, key: bytes, value: bytes) -> bool:
        """Store `value`, evicting the least used entries to make room; False if it cannot fit at all."""
        weight = len(key) + len(value)
        with self._lock:
            if key in self._entries:
                return True  # results are deterministic: what is stored already is the same value
            if weight > self.capacity_bytes:
                return False
            while self.size_bytes + weight > self.capacity_bytes:
                self._evict_one()
            self._entries[key] = _Entry(value, weight)
            self._by_uses.setdefault(1, OrderedDict())[key] = None
            self._fewest_uses = 1
            self.size_bytes += weight
            return True

    def clear(self) -> None:
        """Drop every entry; the hit and miss counters carry on."""
        with self._lock:
            self._entries.clear()
            self._by_uses.clear()
            self._fewest_uses = 0
            self.size_bytes = 0

    def _evict_one(self) -> None:
        keys = self._by_uses[self._fewest_uses]
        key, _ = keys.popitem(last=False)
        if not keys:
            del self._by_uses[self._fewest_uses]
            self._fewest_uses = min(self._by_uses, default=0)
        self.size_bytes -= self._entries.pop(key).weight

    def _forget_uses(self, key: bytes, uses: int) -> None:
        keys = self._by_uses[uses]
        del keys[key]
        if not keys:
            del self._by_uses[uses]
            if self._fewest_uses == uses:
                self._fewest_uses = uses + 1
