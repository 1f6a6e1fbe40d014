"""Placing a deployment's routes on the nodes and keeping them running: the part of the deployment manager
that every change (start, resize, rollout, a lost node) goes through.

`_plan` asks the pure planner where each deployment's allocations go, `_apply` makes it so: new routes
start a worker, existing ones resize in place, routes the plan no longer wants drain and stop. A worker
that crashes while serving is restarted with back-off (`restarts.py`). The history helpers live here
too, since the changes they record are made here and in the classes built on this one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from inferd.clock import Clock
from inferd.cluster.backend import ClusterBackend
from inferd.cluster.nodes import Node
from inferd.control.deployment import Deployment, Revision, revision_of
from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.memory import estimate_memory_bytes
from inferd.control.planner import Demand, Plan, plan_allocations
from inferd.control.registry import Deployable, ModelRegistry
from inferd.control.restarts import RestartPolicy
from inferd.errors import ResourceNotFound, StatusConflict
from inferd.runtime.protocol import LoadModel
from inferd.runtime.route import Route, RouteSettings
from inferd.runtime.states import RouteState
from inferd.store import DeploymentStore, HistoryEntry
from inferd.units import parse_byte_size

logger = logging.getLogger(__name__)

WAIT_POLL_S = 0.05
SYSTEM_ACTOR = "_inferd"
"""Who the history names for what the server did by itself (a worker failing for good)."""


@dataclass(frozen=True)
class RuntimeLimits:
    max_deployments: int = 100
    max_batch_documents: int = 16
    max_batch_tokens: int = 384
    stop_timeout_s: float = 60.0
    max_document_windows: int | None = 1000
    rollout_start_timeout_s: float = 300.0
    """How long a rollout's new workers may take to load and answer their check inference."""


class RoutePlacement:
    def __init__(self, registry: ModelRegistry, store: DeploymentStore, backend: ClusterBackend, clock: Clock,
                 limits: RuntimeLimits, restarts: RestartPolicy | None = None) -> None:
        self._registry = registry
        self._store = store
        self._restarts = restarts or RestartPolicy()
        self._backend = backend
        self._clock = clock
        self._limits = limits
        self._deployments: dict[str, Deployment] = {}
        self._lock = asyncio.Lock()
        """Serialises control operations; inference never takes it."""
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, deployment_id: str) -> Deployment:
        deployment = self._deployments.get(deployment_id)
        if deployment is None:
            raise ResourceNotFound(f"No known model deployment with id [{deployment_id}]")
        return deployment

    def _revision(self, deployable: Deployable, settings: Mapping[str, Any]) -> Revision:
        return revision_of(deployable, {**settings, "max_batch_documents": settings.get("max_batch_documents")
                                        or self._limits.max_batch_documents},
                           max_batch_tokens=self._limits.max_batch_tokens,
                           max_document_windows=self._limits.max_document_windows)

    async def _change(self, deployment: Deployment, allocations: int, adaptive: AdaptiveAllocations | None,
                      recorded: tuple[str, str] | None = None) -> bool:
        """Resize in place: store the new settings first (a crash from here on restarts with them), then re-plan.

        `recorded` (action, actor) writes a history entry with it; False when there was nothing to change.
        """
        if allocations == deployment.number_of_allocations and adaptive == deployment.adaptive_allocations:
            return False
        if deployment.rollout is not None:
            raise StatusConflict(f"cannot update deployment [{deployment.deployment_id}] while its "
                                 f"[{deployment.rollout.action}] is in progress")
        if deployment.state != "started":
            raise StatusConflict("cannot update deployment that is not in [started] state")
        changed = dataclasses.replace(deployment, number_of_allocations=allocations, adaptive_allocations=adaptive)
        entry = None
        if recorded is not None:
            action, actor = recorded
            entry = self._entry(deployment, action, actor, deployment.build_number, deployment.build_number,
                                deployment.settings(), changed.settings())
        await asyncio.to_thread(lambda: self._store.update(deployment.deployment_id, settings=changed.settings(),
                                                           entry=entry))
        deployment.number_of_allocations = allocations
        deployment.adaptive_allocations = adaptive
        self._apply(self._plan(list(self._deployments.values())))
        return True

    # --- history -------------------------------------------------------------------------------

    def _entry(self, deployment: Deployment, action: str, actor: str, build_before: int | None,
               build_after: int | None, settings_before: dict[str, Any] | None, settings_after: dict[str, Any] | None,
               *, outcome: str = "succeeded", reason: str | None = None) -> HistoryEntry:
        now_ms = self._clock.now_ms()
        return HistoryEntry(deployment.deployment_id, deployment.model_id, now_ms, action, actor, build_before,
                            build_after, settings_before, settings_after, outcome, reason,
                            None if outcome == "in_progress" else now_ms)

    def _record_failure(self, deployment: Deployment, reason: str) -> None:
        entry = self._entry(deployment, "failure", SYSTEM_ACTOR, deployment.build_number, deployment.build_number,
                            deployment.settings(), deployment.settings(), outcome="failed", reason=reason)
        self._spawn(asyncio.to_thread(self._store.add_history, entry))

    # --- planning ------------------------------------------------------------------------------

    def _plan(self, deployments: Sequence[Deployment]) -> Plan:
        nodes = self._backend.nodes()
        return plan_allocations(nodes, [self._demand(deployment, nodes) for deployment in deployments])

    def _demand(self, deployment: Deployment, nodes: Sequence[Node], trial: Revision | None = None,
                allocations: int | None = None) -> Demand:
        """What the deployment asks of the nodes: its target revision's allocations on the routes being sized
        (none for a `trial` revision, as a rollout's check places it afresh), with the memory its other workers
        (the serving ones during a rollout, draining ones after it) still hold."""
        revision = trial or deployment.target_revision
        sized = {} if trial is not None else deployment.target_routes
        allocations = deployment.number_of_allocations if allocations is None else allocations
        # A route being retired no longer counts (the plan dropped it); a stopping deployment holds all it has;
        # a crashed route keeps its place while its worker restarts.
        holding = (RouteState.STARTING, RouteState.STARTED, RouteState.STOPPING) if deployment.stopping else (
            RouteState.STARTING, RouteState.STARTED)
        current = {route.node_id: route.allocations for route in sized.values()
                   if route.state in holding or route.recovering}
        # Memory is charged for the allocations that can exist: asking for millions must not make a running
        # deployment's estimate outgrow its node and lose the allocations it has.
        threads = max(revision.threads_per_allocation, 1)
        possible = max(sum(current.values()), sum(node.processors // threads for node in nodes), 1)
        held: dict[str, int] = {}
        others = dict(deployment.draining)
        if sized is not deployment.routes:
            others |= dict.fromkeys(deployment.routes.values(), deployment.revision)
        for route, route_revision in others.items():
            if route.state is not RouteState.STOPPED:
                held[route.node_id] = held.get(route.node_id, 0) + memory_bytes(route_revision, route.allocations)
        target = sum(current.values()) if deployment.stopping else allocations
        return Demand(deployment.deployment_id, target, revision.threads_per_allocation,
                      memory_bytes(revision, min(allocations, possible)), current,
                      low_priority=revision.priority == "low", held_memory_bytes=held)

    def _apply(self, plan: Plan) -> None:
        for deployment in self._deployments.values():
            if deployment.stopping:
                continue
            routes = deployment.target_routes
            wanted = plan.allocations.get(deployment.deployment_id, {})
            for node_id, count in wanted.items():
                route = routes.get(node_id)
                if route is None or route.state in (RouteState.STOPPING, RouteState.STOPPED):
                    self._launch(deployment, routes, deployment.target_revision, node_id, count)
                elif route.state is RouteState.FAILED and not route.recovering:
                    continue  # failed for good: it stays failed until the deployment is stopped
                elif route.allocations != count:
                    route.set_allocations(count)
            for node_id, route in list(routes.items()):
                if node_id not in wanted and route.state in (RouteState.STARTING, RouteState.STARTED, RouteState.FAILED):
                    self._spawn(self._retire(routes, node_id, route))
            deployment.reason = plan.reasons.get(deployment.deployment_id)
            deployment.note_allocations()

    async def _retire(self, routes: dict[str, Route], node_id: str, route: Route) -> None:
        """Drain a route the plan no longer wants, then take it out of its routing table."""
        await route.stop(self._limits.stop_timeout_s)
        if routes.get(node_id) is route:
            del routes[node_id]

    def _launch(self, deployment: Deployment, routes: dict[str, Route], revision: Revision, node_id: str,
                allocations: int) -> None:
        settings = RouteSettings(revision.threads_per_allocation, revision.queue_capacity,
                                 revision.max_batch_documents, allocations)
        route = Route(deployment.deployment_id, node_id, settings, self._clock,
                      on_crash=lambda crashed: self._on_crash(deployment, crashed))
        routes[node_id] = route

        async def start_worker() -> None:
            try:
                worker = await self._backend.start_worker(node_id, deployment.deployment_id)
            except OSError as error:
                route.fail(f"could not start the worker process: {error}")
                return
            route.attach(worker, load_for(revision, route))

        self._spawn(start_worker())

    def _on_crash(self, deployment: Deployment, route: Route) -> bool:
        """A serving worker died: schedule its restart (True), or leave the route failed (False). A rollout's new
        worker is not restarted: the rollout fails instead, and the old workers keep serving."""
        if deployment.stopping or deployment.routes.get(route.node_id) is not route:
            return False
        delay_s = self._restarts.delay_s(route.crash_times, self._clock.monotonic())
        if delay_s is None:
            route.reason = (f"{route.reason}; the worker crashed {self._restarts.max_restarts + 1} times within "
                            f"{self._restarts.window_s:g}s: stop and start the deployment again")
            self._record_failure(deployment, f"the worker on node [{route.node_id}] failed for good: {route.reason}")
            return False
        self._spawn(self._restart(deployment, route, delay_s))
        return True

    async def _restart(self, deployment: Deployment, route: Route, delay_s: float) -> None:
        await self._clock.sleep(delay_s)
        if route.state is not RouteState.FAILED:  # stopped or retired meanwhile, and its waiters answered
            return
        if deployment.routes.get(route.node_id) is not route:  # its node was lost, or a rollout replaced it
            route.give_up("its node was lost or its deployment moved on")
            return
        try:
            worker = await self._backend.start_worker(route.node_id, deployment.deployment_id)
        except OSError as error:
            route.give_up(f"could not restart the worker process: {error}")
            return
        if route.state is not RouteState.FAILED or deployment.routes.get(route.node_id) is not route:
            worker.kill()  # stopped, retired or its node lost while the worker started
            return
        logger.warning("route %s: restarting its worker after a crash (pid %s)", route, worker.pid)
        route.restart(worker, load_for(deployment.revision, route))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def memory_bytes(revision: Revision, allocations: int) -> int:
    """What a worker of the revision with these allocations is expected to hold: the weights once, the
    allocations' working memory, and its cache beyond the model's size."""
    cache_bytes = parse_byte_size(revision.cache_size, "cache_size")
    return estimate_memory_bytes(revision.model_bytes, revision.per_deployment_memory_bytes,
                                 revision.per_allocation_memory_bytes, allocations) + max(0, cache_bytes - revision.model_bytes)


def load_for(revision: Revision, route: Route) -> LoadModel:
    return msgspec.structs.replace(revision.load, allocations=route.allocations)
