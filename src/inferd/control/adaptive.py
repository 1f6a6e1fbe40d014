"""Adaptive allocations wired to the deployments: what the scaler reads of them, and inferences that wait while
a deployment scales up from zero allocations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from inferd.clock import Clock
from inferd.control.deployment import Deployment
from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.lifecycle import AssignmentState
from inferd.control.routing import pick_route, serving_routes
from inferd.control.scaling import AdaptiveTarget, NodeCounters
from inferd.control.scaling.service import INTERVAL_S, SCALE_TO_ZERO_AFTER_S, SCALE_UP_COOLDOWN_S
from inferd.errors import InferdError, RequestTimeout, StatusConflict, TooManyRequests
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState

MAX_WAITING_REQUESTS = 100
"""Per deployment, as Elasticsearch's `InferenceWaitForAllocation.MAX_PENDING_REQUEST_COUNT`."""


@dataclass(frozen=True)
class ScalerSettings:
    """The server settings of the adaptive allocations scaler (Elasticsearch's defaults)."""

    interval_s: float = INTERVAL_S
    scale_up_cooldown_s: float = SCALE_UP_COOLDOWN_S
    scale_to_zero_after_s: float = SCALE_TO_ZERO_AFTER_S


def scales_from_zero(deployment: Deployment) -> bool:
    """Adaptive allocations with no minimum (or 0): an inference that finds no allocation asks for one."""
    adaptive = deployment.adaptive_allocations
    return bool(adaptive and adaptive.enabled and adaptive.min_allocations in (None, 0))


def allocations_after_update(current: int, requested: int | None, adaptive: AdaptiveAllocations | None) -> int:
    """The count an `_update` leaves: the one asked for, else the current one; but a deployment scaled to zero
    whose adaptive allocations are turned off gets one, since nothing would ever bring it back."""
    allocations = requested or current
    if allocations == 0 and not (adaptive is not None and adaptive.enabled):
        return 1
    return allocations


class RouteCounters:
    """The scaler's counter source: each adaptive deployment and the cumulative counters of its routes."""

    def __init__(self, deployments: Callable[[], Iterable[Deployment]]) -> None:
        self._deployments = deployments

    def adaptive_deployments(self) -> list[AdaptiveTarget]:
        targets = []
        for deployment in self._deployments():
            adaptive = deployment.adaptive_allocations
            if adaptive is None or not adaptive.enabled or deployment.stopping:
                continue
            routes = deployment.live_routes
            targets.append(AdaptiveTarget(
                deployment_id=deployment.deployment_id,
                allocations=deployment.number_of_allocations,
                min_allocations=adaptive.min_allocations,
                max_allocations=adaptive.max_allocations,
                started=deployment.state is AssignmentState.STARTED,
                # A rollout replaces the workers: what they measure says little about the new ones.
                route_starting=deployment.rollout is not None or any(route.state is RouteState.STARTING for route in routes),
                latest_route_start_ms=max((route.start_time_ms for route in routes), default=None),
            ))
        return targets

    def node_counters(self, deployment_id: str) -> dict[str, NodeCounters]:
        deployment = next((d for d in self._deployments() if d.deployment_id == deployment_id), None)
        if deployment is None:
            return {}
        return {route.node_id: _counters(route) for route in deployment.live_routes}


def _counters(route: Route) -> NodeCounters:
    stats = route.stats
    return NodeCounters(
        inference_count=stats.inference_count,
        pending=route.pending_documents,
        failed=stats.error_count + stats.timeout_count + route.rejected_count,
        average_inference_time_ms=stats.average_inference_time_ms or 0.0,
    )



class AllocationWaits:
    """Inferences parked while their deployment scales up from zero: at most `limit` per deployment, each until
    its own timeout, so a cold start costs the caller time, never an error."""

    def __init__(self, clock: Clock, limit: int = MAX_WAITING_REQUESTS) -> None:
        self._clock = clock
        self._limit = limit
        self._waiting: Counter[str] = Counter()

    def waiting(self, deployment_id: str) -> int:
        return self._waiting[deployment_id]

    async def wait(self, deployment: Deployment, timeout_s: float, timeout_text: str) -> Route:
        """A route that serves, once one does."""
        deployment_id = deployment.deployment_id
        if self._waiting[deployment_id] >= self._limit:
            raise TooManyRequests(
                f"Rejected inference request waiting for an allocation of deployment [{deployment_id}]. "
                "Too many pending requests"
            )
        deadline = self._clock.monotonic() + timeout_s
        self._waiting[deployment_id] += 1
        try:
            await deployment.changes.wait_until(
                lambda: bool(serving_routes(deployment)) or deployment.stopping
                or deployment.state is AssignmentState.FAILED, self._clock, deadline)
            if deployment.stopping:
                raise StatusConflict(f"Trained model [{deployment_id}] is [stopping]")
            if not serving_routes(deployment):
                if deployment.state is AssignmentState.FAILED:
                    raise InferdError(f"Trained model deployment [{deployment_id}] failed to start: "
                                      f"{deployment.failure_reasons}")
                raise RequestTimeout(
                    f"Timed out after [{timeout_text}] waiting for trained model deployment [{deployment_id}] "
                    "to start. Use the trained model stats API to track the state of the deployment and try "
                    "again once it has started."
                )
            return pick_route(deployment)
        finally:
            self._waiting[deployment_id] -= 1
            if not self._waiting[deployment_id]:
                del self._waiting[deployment_id]
