"""One deployment as the control plane holds it: what was asked for, and the routes that run it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.registry import Deployable
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState


PERSISTED_SETTINGS = ("threads_per_allocation", "number_of_allocations", "queue_capacity", "cache_size", "priority",
                      "max_batch_documents")


@dataclass
class Deployment:
    deployment_id: str
    model_id: str
    build_number: int
    task_type: str
    task_options: dict[str, Any]
    """The model's stored inference config for its task; each request's update is applied over it."""
    input_field: str
    model_bytes: int
    per_deployment_memory_bytes: int
    per_allocation_memory_bytes: int
    threads_per_allocation: int
    number_of_allocations: int
    """The target: what the user asked for (the routes may run fewer when they do not fit)."""
    queue_capacity: int
    cache_size: str
    priority: str
    max_batch_documents: int
    adaptive_allocations: AdaptiveAllocations | None
    start_time_ms: int
    routes: dict[str, Route] = field(default_factory=dict)
    reason: str | None = None
    stopping: bool = False
    max_assigned_allocations: int = 0

    def settings(self) -> dict[str, Any]:
        """What the user asked for, as the store keeps it (and a restarted server starts again)."""
        settings: dict[str, Any] = {name: getattr(self, name) for name in PERSISTED_SETTINGS}
        settings["adaptive_allocations"] = asdict(self.adaptive_allocations) if self.adaptive_allocations else None
        return settings

    @property
    def builds_in_use(self) -> frozenset[int]:
        """The builds its workers run (two while a rollout moves it from one to another)."""
        return frozenset({self.build_number})

    @property
    def live_routes(self) -> list[Route]:
        return [route for route in self.routes.values() if route.state is not RouteState.STOPPED]

    @property
    def allocation_count(self) -> int:
        """Allocations on routes that take requests (Elasticsearch counts routable routes only)."""
        return sum(route.allocations for route in self.routes.values() if route.state is RouteState.STARTED)

    @property
    def state(self) -> str:
        """The assignment state: `stopping` is sticky; `started` once any route is (or when scaled to zero); `failed`
        when every route has failed for good (none is restarting its worker); otherwise `starting`."""
        if self.stopping:
            return "stopping"
        if self.number_of_allocations == 0:
            return "started"  # scaled to zero by adaptive allocations: up, and the next inference scales it back
        if any(route.state is RouteState.STARTED for route in self.routes.values()):
            return "started"
        if self.live_routes and all(route.failed_for_good for route in self.live_routes):
            return "failed"
        return "starting"

    @property
    def settled(self) -> bool:
        """Serving, failed for good, or with nowhere to run: nothing more will happen without a change."""
        return self.state in ("started", "failed") or not self.live_routes

    @property
    def allocation_state(self) -> str:
        """Elasticsearch's `AllocationStatus.calculateState`: zero of zero (scaled to zero) is fully allocated."""
        count = self.allocation_count
        if count == 0 and self.number_of_allocations > 0:
            return "starting"
        return "fully_allocated" if count >= self.number_of_allocations else "started"

    def note_allocations(self) -> None:
        self.max_assigned_allocations = max(
            self.max_assigned_allocations, sum(route.allocations for route in self.live_routes)
        )


def deployment_of(deployment_id: str, deployable: Deployable, settings: Mapping[str, Any], start_time_ms: int,
                   ) -> Deployment:
    """A deployment of the deployable build with the user's settings (as `Deployment.settings` stores them)."""
    build = deployable.model.build
    (task_type, task_options), = build.config["inference_config"].items()
    metadata = build.config.get("metadata", {})
    model_bytes = build.total_definition_length or 0
    adaptive = settings["adaptive_allocations"]
    return Deployment(
        deployment_id=deployment_id,
        model_id=deployable.model.model_id,
        build_number=build.build_number,
        task_type=task_type,
        task_options=task_options,
        input_field=build.config["input"]["field_names"][0],
        model_bytes=model_bytes,
        per_deployment_memory_bytes=metadata.get("per_deployment_memory_bytes", 0),
        per_allocation_memory_bytes=metadata.get("per_allocation_memory_bytes", 0),
        threads_per_allocation=settings["threads_per_allocation"],
        number_of_allocations=settings["number_of_allocations"],
        queue_capacity=settings["queue_capacity"],
        cache_size=settings["cache_size"] if settings["cache_size"] is not None else f"{model_bytes}b",
        priority=settings["priority"],
        max_batch_documents=settings["max_batch_documents"],
        adaptive_allocations=AdaptiveAllocations(**adaptive) if isinstance(adaptive, Mapping) else adaptive,
        start_time_ms=start_time_ms,
    )
