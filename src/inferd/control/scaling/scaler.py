"""The adaptive allocations scaler of one deployment: estimate the load, decide the number of allocations.

Ported from Elasticsearch's `AdaptiveAllocationsScaler` (the version with a configurable scale-to-zero time).
Each poll feeds the requests of the interval to two Kalman filters, the request rate and the inference time;
their product is the load, a number of busy allocations (Little's law). The count goes up while the low end
of the load keeps allocations over 90% busy, and down while the high end would keep one fewer under 85%
busy: the gap between the two thresholds and the error bands keep the count from oscillating.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

from inferd.control.scaling.counters import RequestStats
from inferd.control.scaling.decision import Estimate, Rule, ScalingDecision
from inferd.control.scaling.kalman import KalmanFilter1d

SCALE_UP_THRESHOLD = 0.9
SCALE_DOWN_THRESHOLD = 0.85
MAX_ALLOCATIONS_SAFEGUARD = 32
"""The ceiling when no maximum is set, against runaway scaling (Elasticsearch's safeguard)."""

logger = logging.getLogger(__name__)


class AdaptiveAllocationsScaler:
    def __init__(self, deployment_id: str, allocations: int, scale_to_zero_after_s: float) -> None:
        self.deployment_id = deployment_id
        self._scale_to_zero_after_s = scale_to_zero_after_s
        # The request rate changes with user behaviour, so large misses are detected as changes; the inference
        # time changes when the count does, which the scaler knows and passes in.
        self._rate = KalmanFilter1d(autodetect_dynamics_change=True)
        self._time = KalmanFilter1d()
        self._time_without_requests_s = 0.0
        self._allocations = allocations
        self._needed = allocations
        self._min: int | None = None
        self._max: int | None = None
        self._dynamics_changed = False
        self.last_decision: ScalingDecision | None = None
        """The record of the latest `scale()`."""

    def set_min_max(self, min_allocations: int | None, max_allocations: int | None) -> None:
        self._min = min_allocations
        self._max = max_allocations

    def process(self, stats: RequestStats, time_interval_s: float, current_allocations: int) -> None:
        """Feed one poll interval's requests; `current_allocations` is the deployment's count now."""
        requests = stats.request_count
        if requests > 0:
            self._time_without_requests_s = 0.0
        else:
            self._time_without_requests_s += time_interval_s

        # Requests as a Poisson process: the count's variance is its mean, at least 1 (fewer cannot be
        # measured). The estimate, not the measurement, gives the mean, since the measurement biases it.
        rate = requests / time_interval_s
        rate_mean = self._rate.estimate if self._rate.has_value else rate
        self._rate.add(rate, max(1.0, rate_mean * time_interval_s) / (time_interval_s * time_interval_s))

        if requests > 0 and not math.isnan(stats.inference_time_s):
            # Unknown distribution: take the standard deviation equal to the mean, over `requests` samples.
            time_s = stats.inference_time_s
            time_mean = self._time.estimate if self._time.has_value else time_s
            self._time.add(time_s, time_mean * time_mean / requests, self._dynamics_changed)

        self._allocations = current_allocations
        self._dynamics_changed = False

    def reset_time_without_requests(self) -> None:
        """A request just arrived at zero allocations (scale from zero): the idle time starts again."""
        self._time_without_requests_s = 0.0

    @property
    def needed_allocations(self) -> int:
        return self._needed

    @property
    def load_lower(self) -> float:
        time_lower = self._time.lower if self._time.has_value else 1.0
        return max(0.0, self._rate.lower) * max(0.0, time_lower)

    @property
    def load_upper(self) -> float:
        time_upper = self._time.upper if self._time.has_value else 1.0
        return self._rate.upper * time_upper

    def scale(self) -> int | None:
        """The new number of allocations, or None to keep the current one; records `last_decision`."""
        current = self._allocations
        if not self._rate.has_value:
            self.last_decision = self._decision("no_estimate", current, self._needed, current)
            return None

        load_lower, load_upper = self.load_lower, self.load_upper
        count = walk(current, 1, lambda count: _busy_share(load_lower, count) > SCALE_UP_THRESHOLD)
        count = walk(count, -1, lambda count: count > 1 and load_upper / (count - 1) < SCALE_DOWN_THRESHOLD)
        needed = count

        rule: Rule = "scale_up" if count > current else "scale_down" if count < current else "no_change"
        if self._max is None and count > MAX_ALLOCATIONS_SAFEGUARD:
            count, rule = MAX_ALLOCATIONS_SAFEGUARD, "clamped_to_safeguard"
        if self._min is not None and count < self._min:
            count, rule = self._min, "clamped_to_min"
        if self._max is not None and count > self._max:
            count, rule = self._max, "clamped_to_max"
        if self._min in (None, 0) and self._time_without_requests_s > self._scale_to_zero_after_s:
            count, needed, rule = 0, 0, "scale_to_zero"

        self._allocations = count
        self._needed = needed
        self.last_decision = self._decision(rule, current, needed, count, load_lower, load_upper)
        logger.debug(
            "[%s] adaptive allocations scaler: load in [%.3f, %.3f], %s, %d -> %d allocations",
            self.deployment_id, load_lower, load_upper, rule, current, count,
        )
        if count == current:
            return None
        # The inference time per request changes with the count: the time filter must follow it.
        self._dynamics_changed = True
        return count

    def _decision(
        self,
        rule: Rule,
        current: int,
        needed: int,
        new: int,
        load_lower: float | None = None,
        load_upper: float | None = None,
    ) -> ScalingDecision:
        return ScalingDecision(
            rule=rule,
            current_allocations=current,
            needed_allocations=needed,
            new_allocations=new,
            request_rate=_estimate(self._rate),
            inference_time=_estimate(self._time),
            load_lower=load_lower,
            load_upper=load_upper,
            min_allocations=self._min,
            max_allocations=self._max,
            time_without_requests_s=self._time_without_requests_s,
        )


def walk(count: int, step: int, holds: Callable[[int], bool]) -> int:
    """Where `while holds(count): count += step` stops, found in logarithmically many checks: along the walk
    `holds` is true up to some count and false from there on (each step, one at a time, let a deployment given
    a huge allocation count hold the event loop for hours)."""
    if not holds(count):
        return count
    held, jump = 0, 1  # `holds` is true `held` steps along; probe twice as far each time
    while holds(count + (held + jump) * step):
        held, jump = held + jump, jump * 2
    stop = held + jump  # true at `held`, false at `stop`: halve the gap
    while stop - held > 1:
        middle = (held + stop) // 2
        held, stop = (middle, stop) if holds(count + middle * step) else (held, middle)
    return count + stop * step


def _busy_share(load: float, allocations: int) -> float:
    """The load per allocation; with none, any load is too much (as Java's division by zero gives)."""
    if allocations == 0:
        return math.inf if load > 0 else math.nan
    return load / allocations


def _estimate(estimator: KalmanFilter1d) -> Estimate | None:
    if not estimator.has_value:
        return None
    return Estimate(estimator.estimate, estimator.lower, estimator.upper)
