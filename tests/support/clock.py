"""A clock that tests move by hand, so time-driven code runs hours of time in milliseconds."""

from __future__ import annotations

import asyncio

EPOCH_MS = 1_700_000_000_000
"""The wall-clock time at monotonic 0: a fixed instant, so timestamps in assertions are stable."""


class FakeClock:
    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s

    def monotonic(self) -> float:
        return self._now_s

    def now_ms(self) -> int:
        return EPOCH_MS + round(self._now_s * 1000)

    def advance(self, seconds: float) -> None:
        self._now_s += seconds

    async def sleep(self, seconds: float) -> None:
        """Moves time forward and yields once, as a real sleep would let other tasks run."""
        self.advance(seconds)
        await asyncio.sleep(0)
