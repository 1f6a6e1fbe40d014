"""Control-plane objects for unit tests: revisions and deployments built by hand, without a registry or a store."""

from __future__ import annotations

from typing import Any

from inferd.clock import Clock
from inferd.control.deployment import Deployment
from inferd.control.deployment_request import AdaptiveAllocations
from inferd.runtime.protocol import LoadModel
from inferd.runtime.revision import Priority, Revision, WorkerResources
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState
from tests.support.clock import EPOCH_MS


def make_revision(*, build_number: int = 1, queue_capacity: int = 3, threads_per_allocation: int = 1,
                  max_batch_documents: int = 16, task_type: str = "pass_through", model_id: str = "m",
                  definition_path: str = "unused.pt", tokenization: dict[str, Any] | None = None,
                  vocabulary: list[str] | None = None) -> Revision:
    """A revision whose workers load `definition_path` (a real worker needs its tokenization and vocabulary too)."""
    load = LoadModel(definition_path=definition_path, task_type=task_type, tokenization=tokenization or {},
                     vocabulary=vocabulary or ["a"],
                     merges=None, scores=None, threads_per_allocation=threads_per_allocation, allocations=0,
                     max_batch_rows=max_batch_documents, max_batch_tokens=384, cache_size_bytes=0)
    resources = WorkerResources(threads_per_allocation, queue_capacity, "0b", Priority.NORMAL, max_batch_documents)
    return Revision(model_id=model_id, build_number=build_number, task_type=task_type, task_options={},
                    input_field="text_field", model_bytes=0, per_deployment_memory_bytes=0,
                    per_allocation_memory_bytes=0, resources=resources, load=load)


def make_deployment(deployment_id: str = "d", *, allocations: int = 1, adaptive: AdaptiveAllocations | None = None,
                    revision: Revision | None = None) -> Deployment:
    revision = revision or make_revision()
    return Deployment(deployment_id=deployment_id, model_id=revision.model_id, task_type=revision.task_type,
                      serving=revision, number_of_allocations=allocations, adaptive_allocations=adaptive,
                      start_time_ms=EPOCH_MS)


def add_route(deployment: Deployment, clock: Clock, node_id: str = "node-0", *, allocations: int = 1,
              state: RouteState = RouteState.STARTED) -> Route:
    """A real route without a worker, put in the given state by hand (`set_state` moves it later)."""
    route = Route(deployment.deployment_id, node_id, deployment.serving, allocations, clock,
                  on_change=deployment.changed)
    route.state = state
    deployment.routes[node_id] = route
    deployment.changed()
    return route


def set_state(deployment: Deployment, route: Route, state: RouteState, *, recovering: bool | None = None) -> None:
    """Put a route in a state by hand, as its worker would have, and wake whoever waits on the deployment."""
    route.state = state
    if recovering is not None:
        route.recovering = recovering
    deployment.changed()
