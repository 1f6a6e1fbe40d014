"""The console's live feed: one sampler per server, its samples pushed to every console that listens.

Each second, while at least one console listens, the sampler snapshots the deployments' counters (on the event
loop, in one step, as `_stats` does) and renders a sample of the last `WINDOW_S` of snapshots
(`api/schemas/live.py`); every listener gets the same sample, so ten open consoles cost one sampler, not ten
pollers. With no listener left the sampler stops.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator
from functools import partial
from typing import Any

from inferd.api.schemas.live import Snapshot, render_sample, take_snapshot
from inferd.clock import Clock
from inferd.control import DeploymentManager

INTERVAL_S = 1.0
WINDOW_S = 5.0
"""Rates and percentiles cover the last few seconds: smooth enough to read, recent enough to see a change."""


class LiveFeed:
    def __init__(self, deployments: DeploymentManager, clock: Clock, interval_s: float = INTERVAL_S,
                 window_s: float = WINDOW_S) -> None:
        self._deployments = deployments
        self._clock = clock
        self._interval_s = interval_s
        self._snapshots: deque[Snapshot] = deque(maxlen=max(2, round(window_s / interval_s) + 1))
        self._latest: dict[str, Any] | None = None
        self._sequence = 0
        self._new_sample = asyncio.Condition()
        self._listeners = 0
        self._sampler: asyncio.Task[None] | None = None

    async def samples(self) -> AsyncGenerator[dict[str, Any], None]:
        """Every sample from now on, as it is taken; the latest one at once when there is one."""
        self._listeners += 1
        if self._sampler is None:
            self._sampler = asyncio.create_task(self._run())
        try:
            seen = self._sequence - 1 if self._latest is not None else self._sequence
            while True:
                async with self._new_sample:
                    await self._new_sample.wait_for(partial(self._newer_than, seen))
                    seen = self._sequence
                    sample = self._latest
                assert sample is not None
                yield sample
        finally:
            self._listeners -= 1
            if self._listeners == 0 and self._sampler is not None:
                self._sampler.cancel()
                self._sampler = None
                self._snapshots.clear()
                self._latest = None

    def _newer_than(self, sequence: int) -> bool:
        return self._sequence != sequence

    def _snapshot(self) -> Snapshot:
        return take_snapshot(self._deployments.views(), self._clock.monotonic(), self._clock.now_ms())

    async def _run(self) -> None:
        self._snapshots.append(self._snapshot())
        while True:
            await self._clock.sleep(self._interval_s)
            self._snapshots.append(self._snapshot())
            sample = render_sample(list(self._snapshots))
            async with self._new_sample:
                self._latest = sample
                self._sequence += 1
                self._new_sample.notify_all()
