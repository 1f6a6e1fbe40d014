"""One deployment as the control plane holds it: what was asked for, and the routes that run it.

What a worker is started with (the build, its task options, threads, queue, cache, priority) is a
`Revision`; changing any of it starts new workers (a rollout), while the number of allocations changes
inside the running ones. During a rollout the deployment holds two revisions: the one its routes serve
and the rollout's target, whose routes start beside them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.registry import Deployable
from inferd.runtime.protocol import LoadModel
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState
from inferd.units import parse_byte_size

if TYPE_CHECKING:
    from inferd.control.rollout import Rollout

REVISION_SETTINGS = ("threads_per_allocation", "queue_capacity", "cache_size", "priority", "max_batch_documents")
"""The settings a running worker cannot change: a new value needs a new worker."""
PERSISTED_SETTINGS = ("number_of_allocations", *REVISION_SETTINGS)


@dataclass(frozen=True)
class Revision:
    """A build with the resources its workers run with."""

    build_number: int
    task_options: dict[str, Any]
    """The build's stored inference config for its task; each request's update is applied over it."""
    input_field: str
    model_bytes: int
    per_deployment_memory_bytes: int
    per_allocation_memory_bytes: int
    threads_per_allocation: int
    queue_capacity: int
    cache_size: str
    priority: str
    max_batch_documents: int
    load: LoadModel
    """What its workers are told to load (allocations set per route)."""


@dataclass
class Deployment:
    deployment_id: str
    model_id: str
    task_type: str
    revision: Revision
    """What its serving routes run."""
    number_of_allocations: int
    """The target: what the user asked for (the routes may run fewer when they do not fit)."""
    adaptive_allocations: AdaptiveAllocations | None
    start_time_ms: int
    routes: dict[str, Route] = field(default_factory=dict)
    """The serving routes, by node: the routing table."""
    draining: dict[Route, Revision] = field(default_factory=dict)
    """Routes a rollout replaced (or a failed rollout's new ones), finishing what they hold, with what they run;
    they hold their memory until they stop."""
    rollout: Rollout | None = None
    last_rollout: Rollout | None = None
    reason: str | None = None
    stopping: bool = False
    max_assigned_allocations: int = 0

    # The serving revision's fields, read as the deployment's own (Elasticsearch's view has one of each).
    build_number = property(lambda self: self.revision.build_number)
    task_options = property(lambda self: self.revision.task_options)
    input_field = property(lambda self: self.revision.input_field)
    model_bytes = property(lambda self: self.revision.model_bytes)
    per_deployment_memory_bytes = property(lambda self: self.revision.per_deployment_memory_bytes)
    per_allocation_memory_bytes = property(lambda self: self.revision.per_allocation_memory_bytes)
    threads_per_allocation = property(lambda self: self.revision.threads_per_allocation)
    queue_capacity = property(lambda self: self.revision.queue_capacity)
    cache_size = property(lambda self: self.revision.cache_size)
    priority = property(lambda self: self.revision.priority)
    max_batch_documents = property(lambda self: self.revision.max_batch_documents)

    @property
    def target_revision(self) -> Revision:
        """What the deployment is moving to: the rollout's target, or what it runs."""
        return self.rollout.target if self.rollout is not None else self.revision

    @property
    def target_routes(self) -> dict[str, Route]:
        """The routes the planner sizes: the rollout's new ones while it runs, else the serving ones."""
        return self.rollout.routes if self.rollout is not None else self.routes

    def settings(self, revision: Revision | None = None) -> dict[str, Any]:
        """What the user asked for, as the store keeps it (and a restarted server starts again)."""
        revision = revision or self.revision
        settings: dict[str, Any] = {"number_of_allocations": self.number_of_allocations}
        settings |= {name: getattr(revision, name) for name in REVISION_SETTINGS}
        settings["adaptive_allocations"] = self.adaptive_allocations.stored() if self.adaptive_allocations else None
        return settings

    @property
    def builds_in_use(self) -> frozenset[int]:
        """The builds its workers run (two while a rollout moves it from one to another)."""
        builds = {self.build_number} if self.routes or self.rollout is None else set()
        if self.rollout is not None:
            builds |= {self.rollout.source.build_number, self.rollout.target.build_number}
        return frozenset(builds or {self.build_number})

    @property
    def all_routes(self) -> list[Route]:
        """Every route with a worker or about to have one: serving, incoming and draining."""
        incoming = list(self.rollout.routes.values()) if self.rollout is not None else []
        return [*self.routes.values(), *incoming, *self.draining]

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
    def lifecycle(self) -> str:
        """The word a person expects: deploying (starting, or a rollout in progress), deployed, stopping, failed."""
        if self.stopping:
            return "stopping"
        if self.rollout is not None:
            return "deploying"
        return {"started": "deployed", "failed": "failed"}.get(self.state, "deploying")

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


def revision_of(deployable: Deployable, settings: Mapping[str, Any], *, max_batch_tokens: int,
                max_document_windows: int | None) -> Revision:
    """A build (as the registry hands it out) with the resources the settings give it."""
    build = deployable.model.build
    (_, task_options), = build.config["inference_config"].items()
    metadata = build.config.get("metadata", {})
    model_bytes = build.total_definition_length or 0
    cache_size = settings["cache_size"] if settings["cache_size"] is not None else f"{model_bytes}b"
    load = LoadModel(
        definition_path=str(deployable.definition_path),
        task_type=task_type_of(deployable),
        tokenization=task_options["tokenization"],
        vocabulary=deployable.vocabulary.vocabulary,
        merges=deployable.vocabulary.merges,
        scores=deployable.vocabulary.scores,
        threads_per_allocation=settings["threads_per_allocation"],
        allocations=0,
        max_batch_rows=max(settings["max_batch_documents"], 1),
        max_batch_tokens=max_batch_tokens,
        cache_size_bytes=parse_byte_size(cache_size, "cache_size"),
        low_priority=settings["priority"] == "low",
        max_document_windows=max_document_windows,
    )
    return Revision(
        build_number=build.build_number,
        task_options=task_options,
        input_field=build.config["input"]["field_names"][0],
        model_bytes=model_bytes,
        per_deployment_memory_bytes=metadata.get("per_deployment_memory_bytes", 0),
        per_allocation_memory_bytes=metadata.get("per_allocation_memory_bytes", 0),
        threads_per_allocation=settings["threads_per_allocation"],
        queue_capacity=settings["queue_capacity"],
        cache_size=cache_size,
        priority=settings["priority"],
        max_batch_documents=settings["max_batch_documents"],
        load=load,
    )


def task_type_of(deployable: Deployable) -> str:
    (task_type, _), = deployable.model.build.config["inference_config"].items()
    return str(task_type)


def deployment_of(deployment_id: str, revision: Revision, task_type: str, model_id: str,
                  settings: Mapping[str, Any], start_time_ms: int) -> Deployment:
    """A deployment of the revision with the user's allocation settings (as `Deployment.settings` stores them)."""
    return Deployment(
        deployment_id=deployment_id,
        model_id=model_id,
        task_type=task_type,
        revision=revision,
        number_of_allocations=settings["number_of_allocations"],
        adaptive_allocations=AdaptiveAllocations.from_settings(settings),
        start_time_ms=start_time_ms,
    )
