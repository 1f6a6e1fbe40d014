"""A one-dimensional Kalman filter: the scaler's estimate of a noisy rate or time, with its error.

Ported from Elasticsearch's `KalmanFilter1d`. Instead of a model of how the quantity moves, the filter fixes
how much to smooth in the steady state (`smoothing_factor`: roughly how many recent measurements count), and
it lets the estimate jump when the quantity visibly changed: either the caller says so, or (when
`autodetect_dynamics_change`) a measurement misses the estimate by more than 10 standard deviations.
"""

from __future__ import annotations

import math

SMOOTHING_FACTOR = 100.0
"""With the scaler's 10 s polls, about the last 100 measurements (15 minutes) weigh in the estimate."""
_CHANGE_THRESHOLD = 100.0
"""A squared miss over this many variances (10 sigma) means the quantity itself changed."""


class KalmanFilter1d:
    def __init__(self, smoothing_factor: float = SMOOTHING_FACTOR, autodetect_dynamics_change: bool = False) -> None:
        self._smoothing_factor = smoothing_factor
        self._autodetect = autodetect_dynamics_change
        self._value = math.inf
        self._variance = math.inf
        self._changed_last_time = False

    def add(self, value: float, variance: float, dynamics_changed: bool = False) -> None:
        """Fold in one measurement; `dynamics_changed` says the quantity may have moved since the last one."""
        if not self.has_value:
            changed = True
            self._value = value
            self._variance = variance
        else:
            process_variance = variance / self._smoothing_factor
            changed = dynamics_changed or self._detect_change(value, variance)
            if changed or self._changed_last_time:
                # A likely change (or the step right after one): inject enough noise to follow the measurement.
                process_variance = value * value
            gain = (self._variance + process_variance) / (self._variance + process_variance + variance)
            self._value += gain * (value - self._value)
            self._variance = (1 - gain) * (self._variance + process_variance)
        self._changed_last_time = changed

    @property
    def has_value(self) -> bool:
        return self._value < math.inf and self._variance < math.inf

    @property
    def estimate(self) -> float:
        return self._value

    @property
    def error(self) -> float:
        """The standard error of the estimate."""
        return math.sqrt(self._variance)

    @property
    def lower(self) -> float:
        return self._value - self.error

    @property
    def upper(self) -> float:
        return self._value + self.error

    def _detect_change(self, value: float, variance: float) -> bool:
        miss = value - self._value
        return self._autodetect and miss * miss / (variance + self._variance) > _CHANGE_THRESHOLD
