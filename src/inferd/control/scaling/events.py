"""The scaler's recent history per deployment: what it decided at each poll and what became of it."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from inferd.control.scaling.decision import ScalingDecision

Action = Literal[
    "scaled",
    "no_change",
    "skipped_cooldown",
    "skipped_starting",
    "skipped_not_started",
    "apply_failed",
    "scale_from_zero",
]
"""What the service did with a decision.

`skipped_cooldown`: a decrease within the cooldown after this service scaled the deployment up.
`skipped_starting`: a decrease while a route is starting or started within the cooldown (another path, such as
scale from zero, just added capacity). `skipped_not_started`: the deployment is not in the started state.
`scale_from_zero`: an inference found no allocation and the service asked for one.
"""

MAX_EVENTS = 1000
"""Per deployment; at one poll every 10 s, about the last 2.8 hours."""


@dataclass(frozen=True)
class ScalingEvent:
    timestamp_ms: int
    """Wall-clock epoch milliseconds."""
    deployment_id: str
    action: Action
    allocations: int
    """The count this event is about: the one applied, kept, skipped or that failed."""
    decision: ScalingDecision | None
    """The scaler's record; None for a scale from zero, which the infer path asks for, not the scaler."""
    error: str | None = None
    """Why applying failed (`apply_failed` only)."""


class EventLog:
    """A bounded log per deployment: memory stays flat however long the server runs."""

    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self._max_events = max_events
        self._events: dict[str, deque[ScalingEvent]] = {}

    def record(self, event: ScalingEvent) -> None:
        log = self._events.setdefault(event.deployment_id, deque(maxlen=self._max_events))
        log.append(event)

    def events(self, deployment_id: str) -> list[ScalingEvent]:
        """Newest first."""
        return list(reversed(self._events.get(deployment_id, ())))

    def forget(self, deployment_id: str) -> None:
        self._events.pop(deployment_id, None)
