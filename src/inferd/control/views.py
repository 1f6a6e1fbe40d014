"""What the API shows of a deployment: frozen snapshots, taken in one step on the event loop.

The API renders these, never the live routes: a view cannot change under a renderer, and the routes (the data
plane) stay free to change how they keep their counters. A route's view carries its role (serving, a
rollout's incoming route, or draining) and the build it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from inferd.control.deployment import Deployment
from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.deployment_settings import DeploymentSettings
from inferd.control.lifecycle import AllocationState, AssignmentState, Lifecycle
from inferd.control.rollout import Rollout
from inferd.runtime.latency import RequestLatencies
from inferd.runtime.protocol import WorkerStats
from inferd.runtime.revision import WorkerResources
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState


class RouteRole(StrEnum):
    SERVING = "serving"
    INCOMING = "incoming"
    DRAINING = "draining"


@dataclass(frozen=True)
class RouteCounts:
    """A route's counters (Elasticsearch's node deployment stats)."""

    inference_count: int
    inference_cache_hit_count: int
    error_count: int
    timeout_count: int
    rejected_count: int
    pending_documents: int
    average_inference_time_ms: float | None
    average_inference_time_ms_excluding_cache_hits: float
    last_access_ms: int | None
    peak_throughput_per_minute: int
    throughput_last_minute: int
    average_inference_time_ms_last_minute: float | None
    inference_cache_hit_count_last_minute: int
    restarts: int

    @property
    def failures(self) -> int:
        return self.error_count + self.timeout_count + self.rejected_count


@dataclass(frozen=True)
class RouteView:
    node_id: str
    role: RouteRole
    build_number: int
    routing_state: RouteState
    reason: str | None
    allocations: int
    threads_per_allocation: int
    start_time_ms: int
    counts: RouteCounts
    latencies: RequestLatencies
    """Read at render time (the metrics endpoint); the histograms are not copied."""
    device: str = "cpu"
    """Where its worker runs on the node (`cuda:N` for a GPU deployment's)."""

    @property
    def current_allocations(self) -> int:
        """A failed route serves nothing, whatever it was sized to."""
        return 0 if self.routing_state is RouteState.FAILED else self.allocations


@dataclass(frozen=True)
class DeploymentView:
    deployment_id: str
    model_id: str
    build_number: int
    settings: DeploymentSettings
    resources: WorkerResources
    model_bytes: int
    per_deployment_memory_bytes: int
    per_allocation_memory_bytes: int
    state: AssignmentState
    lifecycle: Lifecycle
    allocation_state: AllocationState
    allocation_count: int
    reason: str | None
    stopping: bool
    start_time_ms: int
    max_assigned_allocations: int
    routes: tuple[RouteView, ...]
    """The routing table, by node."""
    incoming: tuple[RouteView, ...]
    draining: tuple[RouteView, ...]
    rollout: Rollout | None
    """The rollout in progress, else the last one (each is settled once it ends)."""
    builds_in_use: frozenset[int]

    @property
    def number_of_allocations(self) -> int:
        return self.settings.number_of_allocations

    @property
    def adaptive_allocations(self) -> AdaptiveAllocations | None:
        return self.settings.adaptive_allocations


@dataclass(frozen=True)
class WorkerReport:
    """What one serving route's worker says of itself (None when it could not answer)."""

    node_id: str
    routing_state: RouteState
    stats: WorkerStats | None
    load_time_ms: float | None


async def worker_reports(deployment: Deployment) -> list[WorkerReport]:
    reports = []
    for node_id, route in sorted(deployment.routes.items()):
        stats = await route.worker_stats()
        reports.append(WorkerReport(node_id, route.state, stats, route.load_time_ms))
    return reports


def view_of(deployment: Deployment) -> DeploymentView:
    serving = deployment.serving
    incoming = deployment.rollout.routes if deployment.rollout is not None else {}
    return DeploymentView(
        deployment_id=deployment.deployment_id,
        model_id=deployment.model_id,
        build_number=serving.build_number,
        settings=deployment.settings,
        resources=serving.resources,
        model_bytes=serving.model_bytes,
        per_deployment_memory_bytes=serving.per_deployment_memory_bytes,
        per_allocation_memory_bytes=serving.per_allocation_memory_bytes,
        state=deployment.state,
        lifecycle=deployment.lifecycle,
        allocation_state=deployment.allocation_state,
        allocation_count=deployment.allocation_count,
        reason=deployment.reason,
        stopping=deployment.stopping,
        start_time_ms=deployment.start_time_ms,
        max_assigned_allocations=deployment.max_assigned_allocations,
        routes=tuple(route_view(route, RouteRole.SERVING) for _, route in sorted(deployment.routes.items())),
        incoming=tuple(route_view(route, RouteRole.INCOMING) for _, route in sorted(incoming.items())),
        draining=tuple(route_view(route, RouteRole.DRAINING) for route in deployment.draining),
        rollout=deployment.rollout or deployment.last_rollout,
        builds_in_use=deployment.builds_in_use,
    )


def route_view(route: Route, role: RouteRole) -> RouteView:
    stats = route.stats
    counts = RouteCounts(
        inference_count=stats.inference_count,
        inference_cache_hit_count=stats.inference_cache_hit_count,
        error_count=stats.error_count,
        timeout_count=stats.timeout_count,
        rejected_count=route.rejected_count,
        pending_documents=route.pending_documents,
        average_inference_time_ms=stats.average_inference_time_ms,
        average_inference_time_ms_excluding_cache_hits=stats.average_inference_time_ms_excluding_cache_hits,
        last_access_ms=stats.last_access_ms,
        peak_throughput_per_minute=stats.peak_throughput_per_minute,
        throughput_last_minute=stats.throughput_last_minute,
        average_inference_time_ms_last_minute=stats.average_inference_time_ms_last_minute,
        inference_cache_hit_count_last_minute=stats.inference_cache_hit_count_last_minute,
        restarts=route.restarts,
    )
    return RouteView(route.node_id, role, route.revision.build_number, route.state, route.reason, route.allocations,
                     route.threads_per_allocation, route.start_time_ms, counts, route.latencies, route.device)
