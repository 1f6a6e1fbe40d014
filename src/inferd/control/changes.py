"""Waiting for a deployment to change, woken by the change itself instead of polling.

Whatever changes what a waiter looks at (a route's state or size, a rollout's stage, the routing table) calls
`notify`; `wait_until` checks its condition again each time, until it holds or the deadline passes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from inferd.clock import Clock


class ChangeSignal:
    def __init__(self) -> None:
        self._waiters: set[asyncio.Future[None]] = set()

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_until(self, condition: Callable[[], bool], clock: Clock, deadline: float | None = None) -> bool:
        """Wait until `condition()` holds (True) or the clock passes `deadline` (False)."""
        loop = asyncio.get_running_loop()
        while not condition():
            if deadline is not None and clock.monotonic() >= deadline:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.add(waiter)
            timer = clock.call_at(deadline, _wake, waiter) if deadline is not None else None
            try:
                await waiter
            finally:
                self._waiters.discard(waiter)
                if timer is not None:
                    timer.cancel()
        return True


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
