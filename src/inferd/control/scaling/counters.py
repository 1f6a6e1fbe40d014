"""From each node's cumulative deployment counters to the requests of the last poll interval.

Deployment stats report counters since each route started (`inference_count`, the error counts) and an
average inference time over all of them; the scaler needs what happened since the previous poll. As
Elasticsearch's scaler service does, each node's counters are subtracted from the node's previous ones and
the nodes' intervals are summed, the inference time weighted by the successful requests behind it.
A node seen for the first time only gives a baseline. A node whose counters went down restarted its route,
so its counters count from zero again; a node that left is forgotten, and is new again if it comes back.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class NodeCounters:
    """One node's counters for a deployment, as its stats report them."""

    inference_count: int
    pending: int
    """Requests queued on the node now (`number_of_pending_requests`)."""
    failed: int
    """`error_count + timeout_count + rejected_execution_count`."""
    average_inference_time_ms: float

    @property
    def total_time_s(self) -> float:
        return self.inference_count * self.average_inference_time_ms / 1000.0


@dataclass(frozen=True)
class RequestStats:
    """What a deployment (or one node) saw during one poll interval (Elasticsearch's scaler `Stats`)."""

    success_count: int
    pending_count: int
    failed_count: int
    inference_time_s: float
    """Mean seconds per successful request; NaN when none succeeded."""

    @property
    def request_count(self) -> int:
        return self.success_count + self.pending_count + self.failed_count

    @property
    def total_time_s(self) -> float:
        # Elasticsearch multiplies even when nothing succeeded, so one idle node's NaN hides every other
        # node's time; an interval without successes contributes no time instead.
        return self.success_count * self.inference_time_s if self.success_count > 0 else 0.0

    def add(self, other: RequestStats) -> RequestStats:
        """Both intervals together; the inference time is the success-weighted mean."""
        success = self.success_count + other.success_count
        return RequestStats(
            success_count=success,
            pending_count=self.pending_count + other.pending_count,
            failed_count=self.failed_count + other.failed_count,
            inference_time_s=(self.total_time_s + other.total_time_s) / success if success > 0 else math.nan,
        )


NO_REQUESTS = RequestStats(0, 0, 0, math.nan)


def node_interval(old: NodeCounters, new: NodeCounters) -> RequestStats:
    """What one node did between two polls, never negative."""
    if _restarted(old, new):
        old = NodeCounters(0, 0, 0, 0.0)
    success = max(0, new.inference_count - old.inference_count)
    return RequestStats(
        success_count=success,
        pending_count=max(0, new.pending - old.pending),
        failed_count=max(0, new.failed - old.failed),
        inference_time_s=_time_per_request(new.total_time_s - old.total_time_s, success),
    )


def _restarted(old: NodeCounters, new: NodeCounters) -> bool:
    """Cumulative counts only grow while a route lives; a drop means a new route counting from zero."""
    return new.inference_count < old.inference_count or new.failed < old.failed


def _time_per_request(total_s: float, success: int) -> float:
    # Averages of averages can round a nearly free interval (inference cache hits) just below zero.
    return max(0.0, total_s / success) if success > 0 else math.nan


def combine(intervals: Iterable[RequestStats]) -> RequestStats:
    total = NO_REQUESTS
    for interval in intervals:
        total = total.add(interval)
    return total


@dataclass(frozen=True)
class PollInterval:
    stats: RequestStats
    elapsed_s: float


class DeploymentCounters:
    """The baseline of one deployment's nodes, advanced at every poll."""

    def __init__(self) -> None:
        self._baseline: dict[str, NodeCounters] = {}
        self._baseline_s: float | None = None

    def advance(self, counters: Mapping[str, NodeCounters], now_s: float) -> PollInterval | None:
        """The interval since the previous poll, or None when no node has a baseline to compare with yet."""
        elapsed_s = None if self._baseline_s is None else now_s - self._baseline_s
        if elapsed_s is not None and elapsed_s <= 0:
            return None  # no time to measure a rate over: the next poll counts these requests
        known = [node_interval(self._baseline[node], new) for node, new in counters.items() if node in self._baseline]
        self._baseline = dict(counters)
        self._baseline_s = now_s
        if not known or elapsed_s is None:
            return None
        return PollInterval(combine(known), elapsed_s)
