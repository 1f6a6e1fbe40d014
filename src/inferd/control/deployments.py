"""Deployments and their lifecycle: the facade the API calls, and where the control plane's parts are wired.

    DeploymentManager ── start, update, scale, stop, restore, nodes, reads
      ├─ Reconciler      plan, then apply (`step()`): routes launched, resized, retired
      │    └─ RouteWorkers   a worker per route; crash restarts with back-off
      ├─ RolloutRunner   re-deploy, roll back, restart beside the serving routes
      ├─ InferenceRouter the id to a deployment to a route; one retry
      ├─ HistoryRecorder the history entries of every change
      └─ ScalerService   adaptive allocations, applied through `scale`

Control operations are serialised by one lock; inference never takes it. Every change the user asks for is
stored with its history entry in one transaction before it is applied, so a restarted server comes back on it.
Waits (`wait_for`, settling at start-up) are woken by the deployments' change signals, never by polling.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from inferd.clock import Clock
from inferd.cluster.backend import ClusterBackend
from inferd.cluster.nodes import Node, NodeEvent
from inferd.control.adaptive import AllocationWaits, RouteCounters, ScalerSettings, allocations_after_update
from inferd.control.adoption import survivors_to_adopt
from inferd.control.alias_moves import Assignments
from inferd.control.deployment import Deployment, RevisionBuilder, deployment_of
from inferd.control.deployment_request import AdaptiveAllocations, StartRequest, UpdateRequest
from inferd.control.deployment_settings import DeploymentSettings
from inferd.control.history import FAILED, SYSTEM_ACTOR, HistoryRecorder
from inferd.control.ids import id_problems
from inferd.control.inference import InferenceRouter
from inferd.control.lifecycle import AllocationState, AssignmentState, WaitFor
from inferd.control.matching import expand_ids
from inferd.control.planner import device_problem
from inferd.control.reconciler import Reconciler
from inferd.control.registry import Deployable, ModelRegistry
from inferd.control.restarts import RestartPolicy
from inferd.control.rollout import Rollout
from inferd.control.rollout_request import RolloutRequest
from inferd.control.rollouts import RolloutContext, RolloutRunner
from inferd.control.route_workers import RouteWorkers
from inferd.control.scaling import ScalerService
from inferd.control.tasks import BackgroundTasks
from inferd.control.views import DeploymentView, WorkerReport, view_of, worker_reports
from inferd.errors import (
    BadRequest,
    IllegalArgument,
    InferdError,
    RequestTimeout,
    ResourceNotFound,
    SettingsInvalid,
    StatusConflict,
    TooManyRequests,
    ValidationFailed,
)
from inferd.runtime.revision import Revision
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState
from inferd.store import DeploymentRecord, DeploymentStore, HistoryEntry

logger = logging.getLogger(__name__)

ADOPTION_TIMEOUT_S = 30.0
"""How long start-up waits for the workers it adopted to answer that they serve what their routes want (a worker
still answering the last server's batches first)."""


@dataclasses.dataclass(frozen=True)
class RuntimeLimits:
    max_deployments: int = 100
    max_batch_documents: int = 16
    max_batch_tokens: int = 384
    stop_timeout_s: float = 60.0
    max_document_windows: int | None = 1000
    rollout_start_timeout_s: float = 300.0
    """How long a rollout's new workers may take to load and answer their check inference."""


class DeploymentManager:
    def __init__(self, registry: ModelRegistry, store: DeploymentStore, backend: ClusterBackend, clock: Clock,
                 limits: RuntimeLimits, restarts: RestartPolicy | None = None,
                 scaler_settings: ScalerSettings | None = None) -> None:
        self._registry = registry
        self._store = store
        self._backend = backend
        self._clock = clock
        self._limits = limits
        self._deployments: dict[str, Deployment] = {}
        self._lock = asyncio.Lock()
        """Serialises control operations; inference never takes it."""
        self._tasks = BackgroundTasks()
        self._history = HistoryRecorder(store, clock, self._tasks.spawn)
        self._workers = RouteWorkers(backend, clock, restarts or RestartPolicy(), self._history, self._tasks,
                                     limits.stop_timeout_s)
        self._reconciler = Reconciler(self._deployments, backend, self._workers)
        self._revision = RevisionBuilder(limits.max_batch_tokens, limits.max_document_windows)
        self._rollouts = RolloutRunner(RolloutContext(
            self._lock, self._deployments, registry, store, backend, self._reconciler, self._workers, self._history,
            self._tasks, clock, self._change, self._revision, limits.rollout_start_timeout_s))
        scaling = scaler_settings or ScalerSettings()
        self.scaler = ScalerService(clock, RouteCounters(self._deployments.values), self.scale,
                                    interval_s=scaling.interval_s, scale_up_cooldown_s=scaling.scale_up_cooldown_s,
                                    scale_to_zero_after_s=scaling.scale_to_zero_after_s)
        self.allocation_waits = AllocationWaits(clock)
        self._inference = InferenceRouter(self._deployments, registry, self.scaler, self.allocation_waits, clock)

    def start_scaler(self) -> None:
        """Run the adaptive allocations scaler until shutdown."""
        self._tasks.spawn(self.scaler.run())

    def follow_nodes(self) -> None:
        """Follow the nodes joining and leaving that the backend notices itself (a Ray cluster's), until shutdown."""
        self._tasks.spawn(self._follow_nodes())

    async def _follow_nodes(self) -> None:
        async for change in self._backend.node_changes():
            async with self._lock:
                if change.event is NodeEvent.LEFT:
                    self._leave_node(change.node_id)
                self._reconciler.step()

    # --- reading -------------------------------------------------------------------------------

    def get(self, deployment_id: str) -> Deployment:
        deployment = self._deployments.get(deployment_id)
        if deployment is None:
            raise ResourceNotFound(f"No known model deployment with id [{deployment_id}]")
        return deployment

    def view(self, deployment_id: str) -> DeploymentView:
        return view_of(self.get(deployment_id))

    def views(self) -> list[DeploymentView]:
        return [view_of(deployment) for deployment in self._sorted()]

    def views_of_model(self, model_id: str) -> list[DeploymentView]:
        return [view_of(deployment) for deployment in self._sorted() if deployment.model_id == model_id]

    def _sorted(self) -> list[Deployment]:
        return sorted(self._deployments.values(), key=lambda d: d.deployment_id)

    def has(self, deployment_id: str) -> bool:
        return deployment_id in self._deployments

    async def worker_reports(self, deployment_id: str) -> list[WorkerReport]:
        """Each serving worker's own view: pid, load count and time, allocation threads, cache."""
        return await worker_reports(self.get(deployment_id))

    def assignments(self) -> Assignments:
        """Every deployed model's deployments as their allocation states: what an alias move is judged by."""
        states: dict[str, list[str | None]] = {}
        for deployment in self._deployments.values():
            state = None if deployment.stopping else str(deployment.allocation_state)
            states.setdefault(deployment.model_id, []).append(state)
        return states

    def nodes(self) -> list[Node]:
        return self._backend.nodes()

    def all_nodes(self) -> list[tuple[Node, bool]]:
        """Every node, with whether it is available (False: lost)."""
        return self._backend.all_nodes()

    async def stopped(self) -> list[DeploymentRecord]:
        """The stopped deployments inferd keeps (to start again); Elasticsearch's API does not see them."""
        records = await asyncio.to_thread(self._store.list, include_stopped=True)
        return [record for record in records if record.status == "stopped" and record.deployment_id not in
                self._deployments]

    async def stopped_record(self, deployment_id: str) -> DeploymentRecord:
        record = await asyncio.to_thread(self._store.get, deployment_id)
        if record is None or record.status != "stopped" or deployment_id in self._deployments:
            raise ResourceNotFound(f"No known model deployment with id [{deployment_id}]")
        return record

    async def history(self, deployment_id: str) -> list[HistoryEntry]:
        """The deployment's history, newest first; 404 for an id that never had any."""
        entries = await asyncio.to_thread(self._store.history, deployment_id)
        if not entries and deployment_id not in self._deployments:
            raise ResourceNotFound(f"No known model deployment with id [{deployment_id}]")
        return entries

    # --- start ---------------------------------------------------------------------------------

    async def start(self, request: StartRequest, actor: str = SYSTEM_ACTOR) -> DeploymentView:
        async with self._lock:
            deployment = await self._create(request, actor)
        await self._wait_for(deployment, WaitFor(request.wait_for), request.timeout_s, request.timeout_text, actor)
        return view_of(deployment)

    async def _create(self, request: StartRequest, actor: str) -> Deployment:
        deployment_id = request.deployment_id
        self._check_room(deployment_id)
        problems = id_problems("deployment_id", deployment_id)
        if problems:
            raise ValidationFailed(problems)
        models = await asyncio.to_thread(self._registry.find_models, request.model_id, allow_no_match=False)
        if len(models) > 1:
            raise BadRequest(
                f"cannot deploy more than one model at the same time; [{request.model_id}] matches models "
                f"[{', '.join(model.model_id for model in models)}]"
            )
        model_id = models[0].model_id
        if deployment_id != model_id and await asyncio.to_thread(self._registry.has_model, deployment_id):
            raise BadRequest(
                f"Deployment id [{deployment_id}] is the same as an another model which is not the model being "
                "deployed. Deployment id can be the same as the model being deployed but cannot match a different model"
            )
        deployable = await asyncio.to_thread(self._registry.deployable, model_id)
        settings = DeploymentSettings.from_stored({
            "threads_per_allocation": request.threads_per_allocation,
            "number_of_allocations": request.number_of_allocations,
            "queue_capacity": request.queue_capacity,
            "cache_size": request.cache_size,
            "priority": request.priority,
            "max_batch_documents": request.max_batch_documents,
            "device": str(request.device),
            "precision": str(request.precision),
            "adaptive_allocations": request.adaptive_allocations,
        }, self._limits.max_batch_documents)
        return await self._start_deployment(deployment_id, deployable, settings, "start", actor)

    async def start_again(self, deployment_id: str, wait_for: str, timeout_s: float, timeout_text: str,
                          actor: str = SYSTEM_ACTOR) -> DeploymentView:
        """Start a stopped deployment with the build and settings it had; one already running is left as it is."""
        async with self._lock:
            if deployment_id in self._deployments:
                return view_of(self._deployments[deployment_id])
            record = await self.stopped_record(deployment_id)
            self._check_room(deployment_id)
            deployable = await asyncio.to_thread(self._registry.deployable, record.model_id, record.build_number)
            settings = DeploymentSettings.from_stored(record.settings, self._limits.max_batch_documents)
            deployment = await self._start_deployment(deployment_id, deployable, settings, "start_again", actor)
        await self._wait_for(deployment, WaitFor(wait_for), timeout_s, timeout_text, actor)
        return view_of(deployment)

    def _check_room(self, deployment_id: str) -> None:
        if len(self._deployments) >= self._limits.max_deployments:
            raise TooManyRequests(
                "Could not start model deployment because existing deployments reached the limit of "
                f"[{self._limits.max_deployments}]"
            )
        if deployment_id in self._deployments:
            raise BadRequest(
                f"Could not start model deployment because an existing deployment with the same id [{deployment_id}] exist"
            )

    async def _start_deployment(self, deployment_id: str, deployable: Deployable, settings: DeploymentSettings,
                                action: str, actor: str) -> Deployment:
        """Place a new deployment, store it with its history entry (a crash from then on restarts it), launch it."""
        if problem := device_problem(self._backend.nodes(), settings.device):
            raise IllegalArgument(f"Could not start deployment [{deployment_id}]: {problem}")
        deployment = deployment_of(deployment_id, self._revision(deployable, settings), settings, self._clock.now_ms())
        plan = self._reconciler.plan(candidate=deployment)
        if not plan.allocations.get(deployment_id) and deployment.number_of_allocations:
            raise TooManyRequests("Could not start deployment because no ML nodes with sufficient capacity were found")
        stored = deployment.settings
        record = DeploymentRecord(deployment_id, deployment.model_id, deployment.serving.build_number, stored.stored(),
                                  deployment.start_time_ms)
        entry = self._history.entry(deployment, action, actor, None, deployment.serving.build_number, None, stored)
        await asyncio.to_thread(self._store.save, record, entry)
        self._deployments[deployment_id] = deployment
        self._reconciler.apply(plan)
        return deployment

    async def restore(self) -> list[Deployment]:
        """Start again every active deployment the store holds, as a restarted server must; returns them.

        A change in progress when the server stopped did not happen (the store holds what ran before it),
        and its history says so. One whose model can no longer be deployed is logged and left stored; one
        that does not fit waits, `starting`, with its reason, for capacity. Workers that outlived the last server
        (a Ray node's) and run what a deployment serves are adopted first, as its routes on their nodes, and this
        returns once they serve (or `ADOPTION_TIMEOUT_S` passed), so the deployment answers from the server's
        first request; the plan places the rest as usual, and the backend stops the survivors nobody wants.
        """
        await asyncio.to_thread(self._store.interrupt_unfinished, self._clock.now_ms(),
                                "the server stopped before it finished; the deployment kept its earlier build and "
                                "settings")
        records = await asyncio.to_thread(self._store.list)
        restored = []
        async with self._lock:
            for record in records:
                try:
                    deployable = await asyncio.to_thread(self._registry.deployable, record.model_id,
                                                         record.build_number)
                    settings = DeploymentSettings.from_stored(record.settings, self._limits.max_batch_documents)
                    deployment = deployment_of(record.deployment_id, self._revision(deployable, settings), settings,
                                               record.start_time_ms)
                except ResourceNotFound as error:  # its model is gone: so is the deployment
                    logger.error("dropping deployment [%s]: %s", record.deployment_id, error)
                    await asyncio.to_thread(self._store.delete, record.deployment_id)
                    continue
                except Exception:  # noqa: BLE001 - one bad record must not keep the others (or readiness) back
                    logger.exception("cannot restore deployment [%s]; it stays stored", record.deployment_id)
                    continue
                self._deployments[deployment.deployment_id] = deployment
                restored.append(deployment)
            serving = {deployment.deployment_id: deployment.serving for deployment in restored}
            adopted = await self._backend.adopt_workers(lambda survivors: survivors_to_adopt(survivors, serving))
            routes = [(self._workers.adopt(self._deployments[found.worker.deployment_id], found.worker.node_id),
                       found.client) for found in adopted]
            self._reconciler.step()  # sizes the adopted routes, and places what they do not hold
            for route, worker in routes:
                route.attach(worker)
        deadline = self._clock.monotonic() + ADOPTION_TIMEOUT_S
        for route, _ in routes:
            await self._deployments[route.deployment_id].changes.wait_until(_loaded_check(route), self._clock,
                                                                            deadline)
        return restored

    async def _wait_for(self, deployment: Deployment, wait_for: WaitFor, timeout_s: float, timeout_text: str,
                        actor: str) -> None:
        def reached() -> bool:
            state = deployment.state
            return state is AssignmentState.FAILED or wait_for is WaitFor.STARTING or (
                wait_for is WaitFor.STARTED and state is AssignmentState.STARTED) or (
                wait_for is WaitFor.FULLY_ALLOCATED and deployment.allocation_state is AllocationState.FULLY_ALLOCATED)

        arrived = await deployment.changes.wait_until(reached, self._clock, self._clock.monotonic() + timeout_s)
        if deployment.state is AssignmentState.FAILED:
            reasons = deployment.failure_reasons
            async with self._lock:
                await self._remove(deployment, actor, reasons)
            raise InferdError(f"Could not start deployment [{deployment.deployment_id}]: {reasons}")
        if not arrived:
            raise RequestTimeout(
                f"Timed out after [{timeout_text}] waiting for trained model deployment "
                f"[{deployment.deployment_id}] to start. Use the trained model stats API to track the state of "
                "the deployment and try again once it has started."
            )

    async def wait_settled(self, deployments: Sequence[Deployment], timeout_s: float) -> bool:
        """Wait until each deployment serves, has failed, or has nowhere to run; False if time ran out first."""
        deadline = self._clock.monotonic() + timeout_s
        for deployment in deployments:
            if not await deployment.changes.wait_until(_settled_check(deployment), self._clock, deadline):
                return False
        return True

    # --- update --------------------------------------------------------------------------------

    async def update(self, deployment_id: str, request: UpdateRequest, actor: str = SYSTEM_ACTOR) -> DeploymentView:
        async with self._lock:
            deployment = self.get(deployment_id)
            adaptive = _merge_adaptive(deployment.adaptive_allocations, request.adaptive_allocations)
            if adaptive is not None and adaptive.enabled and request.number_of_allocations is not None:
                raise SettingsInvalid(["[number_of_allocations] cannot be set if adaptive allocations is enabled"])
            if adaptive is not None and adaptive.problems():
                raise SettingsInvalid(adaptive.problems())
            allocations = allocations_after_update(deployment.number_of_allocations, request.number_of_allocations,
                                                   adaptive)
            changed = dataclasses.replace(deployment.settings, number_of_allocations=allocations,
                                          adaptive_allocations=adaptive)
            await self._change(deployment, changed, ("update", actor))
            return view_of(deployment)

    async def scale(self, deployment_id: str, allocations: int) -> None:
        """The adaptive scaler's internal update: any count from zero up, while adaptive allocations are enabled."""
        async with self._lock:
            deployment = self.get(deployment_id)
            await self._change(deployment, dataclasses.replace(deployment.settings, number_of_allocations=allocations))

    async def _change(self, deployment: Deployment, settings: DeploymentSettings,
                      recorded: tuple[str, str] | None = None) -> bool:
        """Resize in place (the caller holds the lock): store the new settings first (a crash from here on restarts
        with them), then re-plan. `recorded` (action, actor) writes a history entry with it; False when there was
        nothing to change."""
        before = deployment.settings
        if settings == before:
            return False
        if deployment.rollout is not None:
            raise StatusConflict(f"cannot update deployment [{deployment.deployment_id}] while its "
                                 f"[{deployment.rollout.action}] is in progress")
        if deployment.state is not AssignmentState.STARTED:
            raise StatusConflict("cannot update deployment that is not in [started] state")
        entry = None
        if recorded is not None:
            action, actor = recorded
            build = deployment.serving.build_number
            entry = self._history.entry(deployment, action, actor, build, build, before, settings)
        await asyncio.to_thread(lambda: self._store.update(deployment.deployment_id, settings=settings.stored(),
                                                           entry=entry))
        deployment.number_of_allocations = settings.number_of_allocations
        deployment.adaptive_allocations = settings.adaptive_allocations
        self._reconciler.step()
        return True

    # --- rollouts ------------------------------------------------------------------------------

    async def roll_out(self, deployment_id: str, request: RolloutRequest,
                       actor: str = SYSTEM_ACTOR) -> tuple[DeploymentView, Rollout]:
        """Re-deploy, roll back or restart a serving deployment (see `rollouts.py`), then wait as the request asks."""
        deployment = self.get(deployment_id)
        rollout = await self._rollouts.roll_out(deployment, request, actor)
        return view_of(deployment), rollout

    # --- nodes ---------------------------------------------------------------------------------

    async def set_node_available(self, node_id: str, available: bool) -> None:
        """A node is lost (its workers die with it; what they held is retried elsewhere or fails) or back; then
        re-plan, so its allocations move to the other nodes where they fit, or fill shortfalls when it returns."""
        async with self._lock:
            try:
                self._backend.set_available(node_id, available)
            except KeyError:
                raise ResourceNotFound(f"No known node [{node_id}]") from None
            if not available:
                self._leave_node(node_id)
            self._reconciler.step()

    def _leave_node(self, node_id: str) -> None:
        """Take a lost node's routes out of the routing tables, then kill their workers (the caller re-plans)."""
        for deployment in self._deployments.values():
            incoming = [deployment.rollout.routes] if deployment.rollout is not None else []
            for routes in (deployment.routes, *incoming):
                route = routes.pop(node_id, None)
                if route is not None:  # out of the routing table first, so its crash is not recovered
                    route.kill()

    # --- stop ----------------------------------------------------------------------------------

    async def stop(self, expression: str, *, allow_no_match: bool, actor: str = SYSTEM_ACTOR) -> list[str]:
        """Drain and stop every deployment the expression names (ids, model ids, wildcards, `_all`); they stay
        stored as stopped, to be started again. Returns their ids."""
        async with self._lock:
            targets = self._match(expression, allow_no_match=allow_no_match)
            now_ms = self._clock.now_ms()
            entries = [self._history.entry(d, "stop", actor, d.serving.build_number, None, d.settings, None)
                       for d in targets]
            # One transaction for all: stopped even if we crash now, and never half of them.
            await asyncio.to_thread(self._store.stop, [d.deployment_id for d in targets], entries, now_ms)
            for deployment in targets:
                deployment.stopping = True
                deployment.changed()
                if deployment.rollout is not None:
                    await self._rollouts.end(deployment, deployment.rollout, "the deployment was stopped")
        await asyncio.gather(*(self._drain(deployment) for deployment in targets))
        async with self._lock:
            for deployment in targets:
                self._deployments.pop(deployment.deployment_id, None)
            if targets:
                self._reconciler.step()  # freed capacity may fill shortfalls
        return [deployment.deployment_id for deployment in targets]

    async def forget_model(self, model_id: str) -> None:
        """A deleted model's stopped deployments could never start again: forget them (their history stays)."""
        await asyncio.to_thread(self._store.delete_of_model, model_id)

    def _match(self, expression: str, *, allow_no_match: bool) -> list[Deployment]:
        """Deployment ids and wildcards over them; a model id names its deployment when it has exactly one.

        With `allow_no_match`, what matches nothing (an explicit id included, as in Elasticsearch's stop) is skipped.
        """
        by_model: dict[str, list[str]] = {}
        for deployment in self._deployments.values():
            by_model.setdefault(deployment.model_id, []).append(deployment.deployment_id)
        aliases = {model: ids[0] for model, ids in by_model.items() if len(ids) == 1}
        expansion = expand_ids(expression, self._deployments, aliases, allow_no_match=allow_no_match)
        if expansion.unmatched and not allow_no_match:
            raise ResourceNotFound(f"No known model deployment with id [{','.join(expansion.unmatched)}]")
        return [self._deployments[deployment_id] for deployment_id in expansion.matched]

    async def _drain(self, deployment: Deployment, *, server_exiting: bool = False) -> None:
        await self._workers.drain(deployment, deployment.all_routes, server_exiting=server_exiting)

    async def _remove(self, deployment: Deployment, actor: str, reason: str) -> None:
        """A deployment that failed to start is forgotten, as in Elasticsearch; its history says why."""
        entry = self._history.entry(deployment, "failure", actor, deployment.serving.build_number, None,
                                    deployment.settings, None, outcome=FAILED, reason=reason)
        await asyncio.to_thread(self._store.add_history, entry)
        await asyncio.to_thread(self._store.delete, deployment.deployment_id)
        deployment.stopping = True
        deployment.changed()
        await self._drain(deployment)
        self._deployments.pop(deployment.deployment_id, None)

    async def shutdown(self) -> None:
        """The server is exiting: drain every route, then stop its worker, or let it go for the next server to adopt
        where it can outlive this one (a Ray node's); pending restarts, worker starts and rollouts are abandoned."""
        self._tasks.cancel_all()
        async with self._lock:
            for deployment in self._deployments.values():
                deployment.stopping = True
                deployment.changed()
            await asyncio.gather(*(self._drain(deployment, server_exiting=True)
                                   for deployment in self._deployments.values()))
            self._deployments.clear()

    # --- cache ---------------------------------------------------------------------------------

    async def clear_cache(self, deployment_id: str) -> None:
        """Empty the inference cache of every worker of the deployment (no lock: it never waits on control)."""
        deployment = self.get(deployment_id)
        await asyncio.gather(*(route.clear_cache() for route in deployment.all_routes))

    # --- inference -----------------------------------------------------------------------------

    async def infer(self, model_or_deployment_id: str, documents: Sequence[Mapping[str, Any]],
                    update: Mapping[str, Any] | None, timeout_s: float, timeout_text: str) -> list[dict[str, Any]]:
        return await self._inference.infer(model_or_deployment_id, documents, update, timeout_s, timeout_text)

    async def serving_revision(self, model_or_deployment_id: str) -> Revision:
        """What serves the id now (a deployment id, or a model id or alias): its task, input field and vocabulary,
        for the APIs that speak in texts (`control/task_inference.py`)."""
        return (await self._inference.resolve(model_or_deployment_id)).serving


def _loaded_check(route: Route) -> Callable[[], bool]:
    return lambda: route.state is not RouteState.STARTING


def _settled_check(deployment: Deployment) -> Callable[[], bool]:
    return lambda: deployment.settled


def _merge_adaptive(current: AdaptiveAllocations | None, change: AdaptiveAllocations | None,
                    ) -> AdaptiveAllocations | None:
    """Elasticsearch's merge: a null field keeps the current value, -1 clears it."""
    if change is None:
        return current
    if current is None:
        return change
    merged = {}
    for name in ("enabled", "min_number_of_allocations", "max_number_of_allocations"):
        value = getattr(change, name)
        merged[name] = getattr(current, name) if value is None else (None if value == -1 else value)
    return AdaptiveAllocations(**merged)
