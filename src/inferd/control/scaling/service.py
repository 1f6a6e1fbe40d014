"""The loop that drives one scaler per adaptive deployment and applies its decisions.

Ported from Elasticsearch's `AdaptiveAllocationsScalerService`. Every `interval_s` it reads each adaptive
deployment's node counters, feeds the interval to the deployment's scaler, and applies a new count through
the `apply` callback (the deployment manager's internal update). A decrease waits out the scale-up cooldown,
after this service's own scale-up or a route that is starting or just started, so fresh capacity is not
taken away before the load it was added for shows in the counters. The clock, the counters and `apply` are
injected, so a test plays hours of traffic in milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from inferd.clock import Clock
from inferd.control.scaling.counters import DeploymentCounters, NodeCounters
from inferd.control.scaling.decision import ScalingDecision
from inferd.control.scaling.events import Action, EventLog, ScalingEvent
from inferd.control.scaling.scaler import AdaptiveAllocationsScaler

INTERVAL_S = 10.0
SCALE_UP_COOLDOWN_S = 300.0
"""`xpack.ml.trained_models.adaptive_allocations.scale_up_cooldown_time`, default 5m."""
SCALE_TO_ZERO_AFTER_S = 86400.0
"""`xpack.ml.trained_models.adaptive_allocations.scale_to_zero_time`, default 24h."""

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdaptiveTarget:
    """A deployment with adaptive allocations enabled, as the deployment manager sees it now."""

    deployment_id: str
    allocations: int
    """The target number of allocations."""
    min_allocations: int | None
    max_allocations: int | None
    started: bool
    """The assignment state is `started`: only then may its count change."""
    route_starting: bool = False
    latest_route_start_ms: int | None = None
    """Wall-clock epoch milliseconds at which the most recent route started."""


class CounterSource(Protocol):
    def adaptive_deployments(self) -> list[AdaptiveTarget]: ...

    def node_counters(self, deployment_id: str) -> Mapping[str, NodeCounters]:
        """Each node's cumulative counters for the deployment, by node id; empty at zero allocations."""
        ...


ApplyAllocations = Callable[[str, int], Awaitable[None]]
"""Set a deployment's number of allocations (an internal update, allowed while adaptive is enabled)."""


@dataclass(frozen=True)
class ScalerStatus:
    last_decision_ms: int | None
    """Wall-clock epoch milliseconds of the scaler's latest decision; None before the first."""
    current_allocations: int
    """As last seen, or as last applied by this service."""
    needed_allocations: int
    """What the load asks for, before the deployment's bounds."""


class _Tracked:
    """What the service keeps per deployment between polls."""

    def __init__(self, scaler: AdaptiveAllocationsScaler) -> None:
        self.scaler = scaler
        self.counters = DeploymentCounters()
        self.allocations = 0
        """The deployment's count as last seen, or as last applied by this service."""
        self.last_scale_up_s: float | None = None
        self.last_decision_ms: int | None = None
        self.last_error: str | None = None


class ScalerService:
    def __init__(
        self,
        clock: Clock,
        source: CounterSource,
        apply: ApplyAllocations,
        *,
        interval_s: float = INTERVAL_S,
        scale_up_cooldown_s: float = SCALE_UP_COOLDOWN_S,
        scale_to_zero_after_s: float = SCALE_TO_ZERO_AFTER_S,
        event_log: EventLog | None = None,
    ) -> None:
        self._clock = clock
        self._source = source
        self._apply = apply
        self._interval_s = interval_s
        self._cooldown_s = scale_up_cooldown_s
        self._scale_to_zero_after_s = scale_to_zero_after_s
        self._log = event_log or EventLog()
        self._tracked: dict[str, _Tracked] = {}
        self._scaling_from_zero: set[str] = set()

    async def run(self) -> None:
        """Poll every `interval_s` until cancelled; no failure stops the loop."""
        while True:
            try:
                await self.tick()
            except Exception:
                logger.exception("adaptive allocations scaler: poll failed")
            await self._clock.sleep(self._interval_s)

    async def tick(self) -> None:
        """One poll of every adaptive deployment; a failing deployment does not stop the others."""
        targets = self._source.adaptive_deployments()
        for gone in self._tracked.keys() - {target.deployment_id for target in targets}:
            del self._tracked[gone]
            self._log.forget(gone)
        for target in targets:
            try:
                await self._poll(target, self._track(target))
            except Exception:
                logger.exception("adaptive allocations scaler: polling [%s] failed", target.deployment_id)

    async def request_scale_from_zero(self, deployment_id: str) -> bool:
        """An inference found no allocation: ask for one. False when the deployment may not scale from zero.

        At most one request per deployment is in flight; later callers return True at once, as do callers that
        find allocations already asked for (their routes still starting), which must not be cut back to one.
        """
        target = next((t for t in self._source.adaptive_deployments() if t.deployment_id == deployment_id), None)
        if target is None or target.min_allocations not in (None, 0):
            return False
        tracked = self._track(target)
        tracked.scaler.reset_time_without_requests()
        if deployment_id in self._scaling_from_zero or target.allocations > 0:
            return True
        self._scaling_from_zero.add(deployment_id)
        tracked.last_scale_up_s = self._clock.monotonic()
        try:
            await self._apply_and_record(tracked, 1, "scale_from_zero", None)
        finally:
            self._scaling_from_zero.discard(deployment_id)
        return True

    def events(self, deployment_id: str) -> list[ScalingEvent]:
        """The deployment's recent events, newest first."""
        return self._log.events(deployment_id)

    def status(self, deployment_id: str) -> ScalerStatus | None:
        tracked = self._tracked.get(deployment_id)
        if tracked is None:
            return None
        return ScalerStatus(tracked.last_decision_ms, tracked.allocations, tracked.scaler.needed_allocations)

    def _track(self, target: AdaptiveTarget) -> _Tracked:
        """The deployment's state, created on first sight; its bounds follow the settings."""
        tracked = self._tracked.get(target.deployment_id)
        if tracked is None:
            scaler = AdaptiveAllocationsScaler(target.deployment_id, target.allocations, self._scale_to_zero_after_s)
            tracked = self._tracked[target.deployment_id] = _Tracked(scaler)
        tracked.scaler.set_min_max(target.min_allocations, target.max_allocations)
        tracked.allocations = target.allocations
        return tracked

    async def _poll(self, target: AdaptiveTarget, tracked: _Tracked) -> None:
        counters = self._source.node_counters(target.deployment_id)
        interval = tracked.counters.advance(counters, self._clock.monotonic())
        if interval is None:
            return  # a first baseline, or no routes: nothing measured
        tracked.scaler.process(interval.stats, interval.elapsed_s, target.allocations)
        new = tracked.scaler.scale()
        decision = tracked.scaler.last_decision
        tracked.last_decision_ms = self._clock.now_ms()
        if new is None:
            self._record(target.deployment_id, "no_change", target.allocations, decision)
            return
        skipped = self._skip_reason(target, tracked, new)
        if skipped is not None:
            logger.debug("adaptive allocations scaler: [%s] %s, not scaling to %d", target.deployment_id, skipped, new)
            self._record(target.deployment_id, skipped, new, decision)
            return
        if new > target.allocations:
            tracked.last_scale_up_s = self._clock.monotonic()
        await self._apply_and_record(tracked, new, "scaled", decision)

    def _skip_reason(self, target: AdaptiveTarget, tracked: _Tracked, new: int) -> Action | None:
        if new < target.allocations:
            scaled_up_s = tracked.last_scale_up_s
            if scaled_up_s is not None and self._clock.monotonic() < scaled_up_s + self._cooldown_s:
                return "skipped_cooldown"
            started_ms = target.latest_route_start_ms
            if target.route_starting or (
                started_ms is not None and self._clock.now_ms() < started_ms + self._cooldown_s * 1000
            ):
                return "skipped_starting"
        if not target.started:
            return "skipped_not_started"
        return None

    async def _apply_and_record(
        self, tracked: _Tracked, allocations: int, action: Action, decision: ScalingDecision | None
    ) -> None:
        deployment_id = tracked.scaler.deployment_id
        try:
            await self._apply(deployment_id, allocations)
        except Exception as error:
            message = str(error) or type(error).__name__
            # The same failure every poll (no capacity, say) is worth one warning, not one every 10 s.
            level = logging.DEBUG if message == tracked.last_error else logging.WARNING
            tracked.last_error = message
            logger.log(level, "adaptive allocations scaler: scaling [%s] to [%d] allocations failed: %s",
                       deployment_id, allocations, message)
            self._record(deployment_id, "apply_failed", allocations, decision, message)
            return
        tracked.last_error = None
        tracked.allocations = allocations
        logger.info("adaptive allocations scaler: scaled [%s] to [%d] allocations (%s)", deployment_id, allocations,
                    decision.rule if decision is not None else action)
        self._record(deployment_id, action, allocations, decision)

    def _record(
        self,
        deployment_id: str,
        action: Action,
        allocations: int,
        decision: ScalingDecision | None,
        error: str | None = None,
    ) -> None:
        self._log.record(ScalingEvent(self._clock.now_ms(), deployment_id, action, allocations, decision, error))
