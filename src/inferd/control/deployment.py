"""One deployment as the control plane holds it: what was asked for, and the routes that run it.

Each route serves its own `Revision` (a build with its workers' resources). The serving routes form the
routing table; during a rollout the deployment also holds the rollout's incoming routes, and routes a rollout
replaced drain until they stop. `serving` is the revision new serving routes are launched with. Whatever
changes what a waiter looks at calls `changed()`, which wakes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from inferd.control.changes import ChangeSignal
from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.deployment_settings import DeploymentSettings
from inferd.control.lifecycle import (
    AllocationState,
    AssignmentState,
    Lifecycle,
    allocation_state,
    assignment_state,
)
from inferd.control.registry import Deployable
from inferd.runtime.device import batch_tokens
from inferd.runtime.protocol import LoadModel
from inferd.runtime.revision import Priority, Revision
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState
from inferd.units import parse_byte_size

if TYPE_CHECKING:
    from inferd.control.rollout import Rollout


@dataclass
class Deployment:
    deployment_id: str
    model_id: str
    task_type: str
    serving: Revision
    """What its serving routes run (a new serving route, after a crash or a resize, is launched with it)."""
    number_of_allocations: int
    """The target: what the user (or the scaler) asked for; the routes may run fewer when they do not fit."""
    adaptive_allocations: AdaptiveAllocations | None
    start_time_ms: int
    routes: dict[str, Route] = field(default_factory=dict)
    """The serving routes, by node: the routing table."""
    draining: list[Route] = field(default_factory=list)
    """Routes a rollout replaced (or a failed rollout's new ones), finishing what they hold; they hold their memory
    until they stop."""
    rollout: Rollout | None = None
    last_rollout: Rollout | None = None
    reason: str | None = None
    stopping: bool = False
    max_assigned_allocations: int = 0
    changes: ChangeSignal = field(default_factory=ChangeSignal)

    def changed(self) -> None:
        self.changes.notify()

    @property
    def settings(self) -> DeploymentSettings:
        """What the user asked for, as the store keeps it: the target allocations with the serving resources."""
        return DeploymentSettings.of(self.number_of_allocations, self.adaptive_allocations, self.serving.resources)

    @property
    def target_revision(self) -> Revision:
        """What the deployment is moving to: the rollout's target, or what it runs."""
        return self.rollout.target if self.rollout is not None else self.serving

    @property
    def target_routes(self) -> dict[str, Route]:
        """The routes the planner sizes: the rollout's new ones while it runs, else the serving ones."""
        return self.rollout.routes if self.rollout is not None else self.routes

    @property
    def builds_in_use(self) -> frozenset[int]:
        """The builds its workers run (two while a rollout moves it from one to another)."""
        builds = {route.revision.build_number for route in self.all_routes if route.state is not RouteState.STOPPED}
        return frozenset(builds | {self.serving.build_number, self.target_revision.build_number})

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
    def state(self) -> AssignmentState:
        return assignment_state(self.stopping, self.number_of_allocations, self.routes.values())

    @property
    def allocation_state(self) -> AllocationState:
        return allocation_state(self.allocation_count, self.number_of_allocations)

    @property
    def lifecycle(self) -> Lifecycle:
        if self.stopping:
            return Lifecycle.STOPPING
        if self.rollout is not None:
            return Lifecycle.DEPLOYING
        return {AssignmentState.STARTED: Lifecycle.DEPLOYED, AssignmentState.FAILED: Lifecycle.FAILED}.get(
            self.state, Lifecycle.DEPLOYING)

    @property
    def settled(self) -> bool:
        """Serving, failed for good, or with nowhere to run: nothing more will happen without a change."""
        return self.state in (AssignmentState.STARTED, AssignmentState.FAILED) or not self.live_routes

    @property
    def failure_reasons(self) -> str:
        return "; ".join(route.reason or "failed" for route in self.live_routes)

    def note_allocations(self) -> None:
        self.max_assigned_allocations = max(
            self.max_assigned_allocations, sum(route.allocations for route in self.live_routes)
        )


def revision_of(deployable: Deployable, settings: DeploymentSettings, *, max_batch_tokens: int,
                max_document_windows: int | None) -> Revision:
    """A build (as the registry hands it out) with the resources the settings give it."""
    build = deployable.model.build
    (task_type, task_options), = build.config["inference_config"].items()
    metadata = build.config.get("metadata", {})
    model_bytes = build.total_definition_length or 0
    resources = settings.resources(model_bytes)
    load = LoadModel(
        definition_path=str(deployable.definition_path),
        definition_sha256=build.definition_sha256,
        task_type=task_type,
        tokenization=task_options["tokenization"],
        vocabulary=deployable.vocabulary.vocabulary,
        merges=deployable.vocabulary.merges,
        scores=deployable.vocabulary.scores,
        threads_per_allocation=resources.threads_per_allocation,
        allocations=0,
        max_batch_rows=max(resources.max_batch_documents, 1),
        max_batch_tokens=batch_tokens(resources.device, max_batch_tokens),
        cache_size_bytes=parse_byte_size(resources.cache_size, "cache_size"),
        low_priority=resources.priority is Priority.LOW,
        max_document_windows=max_document_windows,
        device=str(resources.device),
        precision=str(resources.precision),
    )
    return Revision(
        model_id=deployable.model.model_id,
        build_number=build.build_number,
        task_type=task_type,
        task_options=task_options,
        input_field=build.config["input"]["field_names"][0],
        model_bytes=model_bytes,
        per_deployment_memory_bytes=metadata.get("per_deployment_memory_bytes", 0),
        per_allocation_memory_bytes=metadata.get("per_allocation_memory_bytes", 0),
        resources=resources,
        load=load,
    )


@dataclass(frozen=True)
class RevisionBuilder:
    """`revision_of` with the server's limits."""

    max_batch_tokens: int
    max_document_windows: int | None

    def __call__(self, deployable: Deployable, settings: DeploymentSettings) -> Revision:
        return revision_of(deployable, settings, max_batch_tokens=self.max_batch_tokens,
                           max_document_windows=self.max_document_windows)


def task_type_of(deployable: Deployable) -> str:
    (task_type, _), = deployable.model.build.config["inference_config"].items()
    return str(task_type)


def deployment_of(deployment_id: str, revision: Revision, settings: DeploymentSettings,
                  start_time_ms: int) -> Deployment:
    """A deployment of the revision with the user's allocation settings."""
    return Deployment(
        deployment_id=deployment_id,
        model_id=revision.model_id,
        task_type=revision.task_type,
        serving=revision,
        number_of_allocations=settings.number_of_allocations,
        adaptive_allocations=settings.adaptive_allocations,
        start_time_ms=start_time_ms,
    )
