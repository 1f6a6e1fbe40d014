"""What API keys and users cache between checks: entries that expire, and a generation for what was dropped.

An entry answers for `ttl_s` after it was stored. Dropping entries (one key changed, or everything when
another process changed something) moves the generation on, which does two jobs: a load that read the
store before the drop cannot store what it read (`put` with the generation read first), and whatever was
verified under an older generation (`verified.VerifiedCredentials`) must be checked again.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Generic, TypeVar

from inferd.clock import Clock

MAX_ENTRIES = 10_000
V = TypeVar("V")


class ExpiringCache(Generic[V]):
    def __init__(self, clock: Clock, ttl_s: float) -> None:
        self._clock = clock
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[V, float]] = {}
        self._lock = threading.Lock()
        self.generation = 0

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key)
        if entry is None or self._clock.monotonic() - entry[1] > self.ttl_s:
            return None
        return entry[0]

    def put(self, key: str, value: V, generation: int) -> None:
        """Store `value`, read from the store under `generation`, unless entries were dropped since."""
        with self._lock:
            if generation != self.generation:
                return
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = (value, self._clock.monotonic())

    def forget(self, keys: Iterable[str]) -> None:
        with self._lock:
            self.generation += 1
            for key in keys:
                self._entries.pop(key, None)

    def forget_all(self) -> None:
        with self._lock:
            self.generation += 1
            self._entries.clear()
