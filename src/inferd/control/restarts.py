"""When a crashed worker is started again, and when the route gives up and stays failed.

Elasticsearch marks a deployment whose process keeps dying as failed ("must be re-deployed"); inferd
restarts a crashed worker after a growing pause, and gives up after too many crashes in a short window,
so a model that crashes on every load cannot spin the machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class RestartPolicy:
    backoff_s: tuple[float, ...] = (1.0, 2.0, 4.0)
    """The pause before each restart in a row; a crash beyond them gives up."""
    window_s: float = 600.0
    """Crashes older than this are forgotten: a worker that served this long starts counting afresh."""

    def delay_s(self, crash_times: Sequence[float], now: float) -> float | None:
        """The pause before the next restart, or None when the route should stay failed."""
        recent = sum(1 for moment in crash_times if now - moment < self.window_s)
        if recent == 0 or recent > len(self.backoff_s):
            return None
        return self.backoff_s[recent - 1]

    @property
    def max_restarts(self) -> int:
        return len(self.backoff_s)
