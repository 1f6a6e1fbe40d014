"""The scaler's recent history per deployment: what it decided at each poll and what became of it."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
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
"""Per deployment. A run of identical outcomes is one event, so this covers far more than 1000 polls."""


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
    repeats: int = 1
    """How many polls in a row ended this way; the event holds the latest one's inputs."""
    first_timestamp_ms: int | None = None
    """When the first of those polls happened (None when `repeats` is 1)."""

    def repeats_of(self, earlier: ScalingEvent) -> bool:
        """The same outcome as `earlier`, for the same reason: a steady state, not news."""
        rule = self.decision.rule if self.decision else None
        earlier_rule = earlier.decision.rule if earlier.decision else None
        return (self.action, self.allocations, rule, self.error) == (
            earlier.action, earlier.allocations, earlier_rule, earlier.error)


class EventLog:
    """A bounded log per deployment: memory stays flat however long the server runs."""

    def __init__(self, max_events: int = MAX_EVENTS, *, fold_repeats: bool = True) -> None:
        self._max_events = max_events
        self._fold_repeats = fold_repeats
        self._events: dict[str, deque[ScalingEvent]] = {}

    def record(self, event: ScalingEvent) -> None:
        """Append the event, or fold it into the newest one when it repeats it (hours of `no_change` are one event)."""
        log = self._events.setdefault(event.deployment_id, deque(maxlen=self._max_events))
        if self._fold_repeats and log and event.action != "scale_from_zero" and event.repeats_of(log[-1]):
            previous = log.pop()
            event = replace(event, repeats=previous.repeats + 1,
                            first_timestamp_ms=previous.first_timestamp_ms or previous.timestamp_ms)
        log.append(event)

    def events(self, deployment_id: str) -> list[ScalingEvent]:
        """Newest first."""
        return list(reversed(self._events.get(deployment_id, ())))

    def forget(self, deployment_id: str) -> None:
        self._events.pop(deployment_id, None)
