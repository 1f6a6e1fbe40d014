"""Per-route request outcomes and latency histograms, split into time queued, time inferring, and total.

Plain counters and cumulative buckets, so the runtime does not depend on a metrics library; the metrics
endpoint renders them in Prometheus' format. Inference time runs from the batch leaving the queue to the
answer arriving, so it includes the batch's other documents and the trip to the worker.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field

BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
OUTCOMES = ("answered", "error", "rejected", "timeout")


@dataclass
class Histogram:
    bounds: tuple[float, ...] = BUCKETS_S
    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_S) + 1))
    """Observations per bucket (not cumulative); the last is above every bound."""
    sum: float = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, observations at or below it), ending with (inf, all), as Prometheus exposes buckets."""
        running, buckets = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            buckets.append((bound, running))
        return buckets


@dataclass
class RequestLatencies:
    outcomes: Counter[str] = field(default_factory=Counter)
    """Requests by how they ended: one of OUTCOMES."""
    queue: Histogram = field(default_factory=Histogram)
    inference: Histogram = field(default_factory=Histogram)
    total: Histogram = field(default_factory=Histogram)

    def answered(self, queued_s: float, inferring_s: float) -> None:
        self.outcomes["answered"] += 1
        self.queue.observe(queued_s)
        self.inference.observe(inferring_s)
        self.total.observe(queued_s + inferring_s)


def quantile(bounds: tuple[float, ...], counts: list[int], q: float) -> float | None:
    """The q-quantile of observations bucketed by `bounds` (non-cumulative `counts`, one more than the bounds), found
    as Prometheus' `histogram_quantile` finds it: linear within the bucket holding the rank; above every bound, the
    last bound. None when there is nothing observed."""
    total = sum(counts)
    if total == 0:
        return None
    rank = q * total
    below = 0
    for index, count in enumerate(counts):
        if count and below + count >= rank:
            if index == len(bounds):
                return bounds[-1]
            lower = bounds[index - 1] if index > 0 else 0.0
            return lower + (bounds[index] - lower) * (rank - below) / count
        below += count
    return bounds[-1]
