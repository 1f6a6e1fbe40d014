"""Time as a dependency: everything that reads the clock or sets a timer takes one, so tests can control it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def now_ms(self) -> int:
        """Wall-clock epoch milliseconds, Elasticsearch's timestamp unit."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        """Run `callback(*args)` on the event loop once `monotonic()` reaches `when` (at once if it has)."""
        ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any) -> Timer:
        # Relative to time.monotonic(), which `monotonic()` reads: the loop's own clock may be another one (uvloop's).
        return asyncio.get_running_loop().call_later(max(0.0, when - time.monotonic()), callback, *args)
