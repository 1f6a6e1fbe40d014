"""What one evaluation of the scaler saw and decided: the record behind the user-visible "why"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Rule = Literal[
    "no_estimate",
    "no_change",
    "scale_up",
    "scale_down",
    "clamped_to_safeguard",
    "clamped_to_min",
    "clamped_to_max",
    "scale_to_zero",
]
"""The rule that settled the new count.

`no_estimate`: no request rate measured yet, so nothing to decide. `no_change`, `scale_up`, `scale_down`: the
load alone. `clamped_to_safeguard`: the load wants more than 32 allocations and no maximum is set.
`clamped_to_min`, `clamped_to_max`: the deployment's bounds overrode the load. `scale_to_zero`: no requests
for longer than the scale-to-zero time while the minimum allows zero.
"""


@dataclass(frozen=True)
class Estimate:
    """A filtered estimate with its one-standard-error band."""

    value: float
    lower: float
    upper: float


@dataclass(frozen=True)
class ScalingDecision:
    rule: Rule
    current_allocations: int
    needed_allocations: int
    """What the load asks for before the bounds, or 0 when scaling to zero."""
    new_allocations: int
    """The count after the bounds; equal to `current_allocations` when nothing changes."""
    request_rate: Estimate | None
    """Requests per second; None before the first measurement."""
    inference_time: Estimate | None
    """Seconds per request; None until a request with a measured time was seen."""
    load_lower: float | None
    """Busy allocations (requests/s x s/request), low end; None without a rate estimate."""
    load_upper: float | None
    min_allocations: int | None
    max_allocations: int | None
    time_without_requests_s: float
