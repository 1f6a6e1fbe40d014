"""A clock that tests move by hand, so time-driven code runs hours of time in milliseconds.

Its timers fire when the clock is moved past them, in time order, each with the clock reading its own moment:
the code under test sees time pass exactly as it would, and never waits for it. A `sleep` moves time on by
itself (a loop such as the scaler's runs its hours at once), or, with `sleep_advances=False`, waits like any
timer for the test to move the clock past it (a restart's back-off, say, happens when the test says).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

EPOCH_MS = 1_700_000_000_000
"""The wall-clock time at monotonic 0: a fixed instant, so timestamps in assertions are stable."""


@dataclass(order=True)
class FakeTimer:
    when: float
    order: int
    callback: Callable[..., Any] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class FakeClock:
    def __init__(self, start_s: float = 0.0, *, sleep_advances: bool = True) -> None:
        self._now_s = start_s
        self._sleep_advances = sleep_advances
        self._timers: list[FakeTimer] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._now_s

    def now_ms(self) -> int:
        return EPOCH_MS + round(self._now_s * 1000)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> FakeTimer:
        timer = FakeTimer(when, next(self._order), callback, args)
        heapq.heappush(self._timers, timer)
        return timer

    def advance(self, seconds: float) -> None:
        """Move time forward, firing every timer due by then at its own moment."""
        target = self._now_s + seconds
        while self._timers and self._timers[0].when <= target:
            timer = heapq.heappop(self._timers)
            if not timer.cancelled:
                self._now_s = max(self._now_s, timer.when)
                timer.callback(*timer.args)
        self._now_s = target

    @property
    def pending_timers(self) -> int:
        return sum(not timer.cancelled for timer in self._timers)

    async def sleep(self, seconds: float) -> None:
        """Moves time forward and yields once, as a real sleep would let other tasks run; or, unless sleeps advance
        the clock, waits until the test has moved it `seconds` on."""
        if self._sleep_advances:
            self.advance(seconds)
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.call_at(self._now_s + seconds, _wake, woken)
        try:
            await woken
        finally:
            timer.cancel()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
