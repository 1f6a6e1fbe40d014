"""Deployments and their lifecycle: start, resize, roll out, stop, and routing each inference to a route.

Every change re-plans the whole local cluster with the pure planner and applies the plan: new routes
start a worker, existing ones resize in place, routes the plan no longer wants drain and stop. A
rollout (`rollouts.py`) adds a second set of routes beside the serving ones until it switches over.
Control operations are serialised by one lock; inference never takes it. Every change the user asks
for is recorded in the deployment's history, in the same transaction as the change itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any


from inferd.clock import Clock
from inferd.cluster.backend import ClusterBackend
from inferd.cluster.nodes import Node
from inferd.control.adaptive import (
    AllocationWaits,
    RouteCounters,
    ScalerSettings,
    allocations_after_update,
    scales_from_zero,
)
from inferd.control.alias_moves import Assignments
from inferd.control.deployment import (
    Deployment,
    Revision,
    deployment_of,
    task_type_of,
)
from inferd.control.deployment_request import AdaptiveAllocations, StartRequest, UpdateRequest
from inferd.control.ids import id_problems
from inferd.control.matching import expand_ids
from inferd.control.registry import Deployable, ModelRegistry
from inferd.control.restarts import RestartPolicy
from inferd.control.placement import SYSTEM_ACTOR, WAIT_POLL_S, RuntimeLimits
from inferd.control.rollouts import RolloutWorkflows
from inferd.control.routing import pick_other_route, pick_route
from inferd.control.scaling import ScalerService
from inferd.errors import (
    BadRequest,
    InferdError,
    RequestTimeout,
    ResourceNotFound,
    SettingsInvalid,
    StatusConflict,
    TooManyRequests,
    ValidationFailed,
    WorkerDied,
)
from inferd.nlp import NlpError
from inferd.nlp.tasks import apply_update
from inferd.runtime.route import Route
from inferd.store import DeploymentRecord, DeploymentStore, HistoryEntry

logger = logging.getLogger(__name__)

STATE_PREFERENCE = ("started", "starting", "stopping", "failed")


class DeploymentManager(RolloutWorkflows):
    def __init__(self, registry: ModelRegistry, store: DeploymentStore, backend: ClusterBackend, clock: Clock,
                 limits: RuntimeLimits, restarts: RestartPolicy | None = None,
                 scaler_settings: ScalerSettings | None = None) -> None:
        super().__init__(registry, store, backend, clock, limits, restarts)
        scaling = scaler_settings or ScalerSettings()
        self.scaler = ScalerService(clock, RouteCounters(self._deployments.values), self.scale,
                                    interval_s=scaling.interval_s, scale_up_cooldown_s=scaling.scale_up_cooldown_s,
                                    scale_to_zero_after_s=scaling.scale_to_zero_after_s)
        self.allocation_waits = AllocationWaits(clock)

    def start_scaler(self) -> None:
        """Run the adaptive allocations scaler until shutdown."""
        self._spawn(self.scaler.run())

    # --- reading -------------------------------------------------------------------------------

    def of_model(self, model_id: str) -> list[Deployment]:
        return sorted((d for d in self._deployments.values() if d.model_id == model_id), key=lambda d: d.deployment_id)

    def assignments(self) -> Assignments:
        """Every deployed model's deployments as their allocation states: what an alias move is judged by."""
        states: dict[str, list[str | None]] = {}
        for deployment in self._deployments.values():
            state = None if deployment.stopping else deployment.allocation_state
            states.setdefault(deployment.model_id, []).append(state)
        return states

    def nodes(self) -> list[Node]:
        return self._backend.nodes()

    def all_nodes(self) -> list[tuple[Node, bool]]:
        """Every node, with whether it is available (False: lost)."""
        return self._backend.all_nodes()

    def all(self) -> list[Deployment]:
        return sorted(self._deployments.values(), key=lambda d: d.deployment_id)

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

    async def start(self, request: StartRequest, actor: str = SYSTEM_ACTOR) -> Deployment:
        async with self._lock:
            deployment = await self._create(request, actor)
        await self._wait_for(deployment, request.wait_for, request.timeout_s, request.timeout_text, actor)
        return deployment

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
        if deployment_id != model_id and await asyncio.to_thread(self._model_exists, deployment_id):
            raise BadRequest(
                f"Deployment id [{deployment_id}] is the same as an another model which is not the model being "
                "deployed. Deployment id can be the same as the model being deployed but cannot match a different model"
            )
        deployable = await asyncio.to_thread(self._registry.deployable, model_id)
        settings = {
            "threads_per_allocation": request.threads_per_allocation,
            "number_of_allocations": request.number_of_allocations,
            "queue_capacity": request.queue_capacity,
            "cache_size": request.cache_size,
            "priority": request.priority,
            "max_batch_documents": request.max_batch_documents or self._limits.max_batch_documents,
            "adaptive_allocations": request.adaptive_allocations,
        }
        return await self._start_deployment(deployment_id, deployable, settings, "start", actor)

    async def start_again(self, deployment_id: str, wait_for: str, timeout_s: float, timeout_text: str,
                          actor: str = SYSTEM_ACTOR) -> Deployment:
        """Start a stopped deployment with the build and settings it had; one already running is left as it is."""
        async with self._lock:
            if deployment_id in self._deployments:
                return self._deployments[deployment_id]
            record = await self.stopped_record(deployment_id)
            self._check_room(deployment_id)
            deployable = await asyncio.to_thread(self._registry.deployable, record.model_id, record.build_number)
            deployment = await self._start_deployment(deployment_id, deployable, record.settings, "start_again", actor)
        await self._wait_for(deployment, wait_for, timeout_s, timeout_text, actor)
        return deployment

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

    async def _start_deployment(self, deployment_id: str, deployable: Deployable, settings: Mapping[str, Any],
                                action: str, actor: str) -> Deployment:
        """Place a new deployment, store it with its history entry (a crash from then on restarts it), launch it."""
        deployment = deployment_of(deployment_id, self._revision(deployable, settings), task_type_of(deployable),
                                   deployable.model.model_id, settings, self._clock.now_ms())
        plan = self._plan([*self._deployments.values(), deployment])
        if not plan.allocations.get(deployment_id) and deployment.number_of_allocations:
            raise TooManyRequests("Could not start deployment because no ML nodes with sufficient capacity were found")
        record = DeploymentRecord(deployment_id, deployment.model_id, deployment.build_number, deployment.settings(),
                                  deployment.start_time_ms)
        entry = self._entry(deployment, action, actor, None, deployment.build_number, None, record.settings)
        await asyncio.to_thread(self._store.save, record, entry)
        self._deployments[deployment_id] = deployment
        self._apply(plan)
        return deployment

    async def restore(self) -> list[Deployment]:
        """Start again every active deployment the store holds, as a restarted server must; returns them.

        A change in progress when the server stopped did not happen (the store holds what ran before it),
        and its history says so. One whose model can no longer be deployed is logged and left stored; one
        that does not fit waits, `starting`, with its reason, for capacity.
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
                    deployment = deployment_of(record.deployment_id, self._revision(deployable, record.settings),
                                               task_type_of(deployable), record.model_id, record.settings,
                                               record.start_time_ms)
                except ResourceNotFound as error:  # its model is gone: so is the deployment
                    logger.error("dropping deployment [%s]: %s", record.deployment_id, error)
                    await asyncio.to_thread(self._store.delete, record.deployment_id)
                    continue
                except Exception:  # noqa: BLE001 - one bad record must not keep the others (or readiness) back
                    logger.exception("cannot restore deployment [%s]; it stays stored", record.deployment_id)
                    continue
                self._deployments[deployment.deployment_id] = deployment
                self._apply(self._plan(list(self._deployments.values())))
                restored.append(deployment)
        return restored

    def _model_exists(self, model_id: str) -> bool:
        try:
            self._registry.get_model(model_id)
        except ResourceNotFound:
            return False
        return True

    async def _wait_for(self, deployment: Deployment, wait_for: str, timeout_s: float, timeout_text: str,
                        actor: str) -> None:
        deadline = self._clock.monotonic() + timeout_s
        while True:
            if deployment.state == "failed":
                reasons = "; ".join(route.reason or "failed" for route in deployment.live_routes)
                async with self._lock:
                    await self._remove(deployment, actor, reasons)
                raise InferdError(f"Could not start deployment [{deployment.deployment_id}]: {reasons}")
            if wait_for == "starting" or (wait_for == "started" and deployment.state == "started"):
                return
            if wait_for == "fully_allocated" and deployment.allocation_state == "fully_allocated":
                return
            if self._clock.monotonic() >= deadline:
                raise RequestTimeout(
                    f"Timed out after [{timeout_text}] waiting for trained model deployment "
                    f"[{deployment.deployment_id}] to start. Use the trained model stats API to track the state of "
                    "the deployment and try again once it has started."
                )
            await self._clock.sleep(WAIT_POLL_S)

    async def wait_settled(self, deployments: Sequence[Deployment], timeout_s: float) -> bool:
        """Wait until each deployment serves, has failed, or has nowhere to run; False if time ran out first."""
        deadline = self._clock.monotonic() + timeout_s
        while not all(deployment.settled for deployment in deployments):
            if self._clock.monotonic() >= deadline:
                return False
            await self._clock.sleep(WAIT_POLL_S)
        return True

    # --- update --------------------------------------------------------------------------------

    async def update(self, deployment_id: str, request: UpdateRequest, actor: str = SYSTEM_ACTOR) -> Deployment:
        async with self._lock:
            deployment = self.get(deployment_id)
            adaptive = _merge_adaptive(deployment.adaptive_allocations, request.adaptive_allocations)
            if adaptive is not None and adaptive.enabled and request.number_of_allocations is not None:
                raise SettingsInvalid(["[number_of_allocations] cannot be set if adaptive allocations is enabled"])
            if adaptive is not None and adaptive.problems():
                raise SettingsInvalid(adaptive.problems())
            allocations = allocations_after_update(deployment.number_of_allocations, request.number_of_allocations,
                                                   adaptive)
            await self._change(deployment, allocations, adaptive, ("update", actor))
            return deployment

    async def scale(self, deployment_id: str, allocations: int) -> None:
        """The adaptive scaler's internal update: any count from zero up, while adaptive allocations are enabled."""
        async with self._lock:
            deployment = self.get(deployment_id)
            await self._change(deployment, allocations, deployment.adaptive_allocations)

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
                for deployment in self._deployments.values():
                    incoming = [deployment.rollout.routes] if deployment.rollout is not None else []
                    for routes in (deployment.routes, *incoming):
                        route = routes.pop(node_id, None)
                        if route is not None:  # out of the routing table first, so its crash is not recovered
                            route.kill()
            self._apply(self._plan(list(self._deployments.values())))

    # --- stop ----------------------------------------------------------------------------------

    async def stop(self, expression: str, *, allow_no_match: bool, actor: str = SYSTEM_ACTOR) -> list[str]:
        """Drain and stop every deployment the expression names (ids, model ids, wildcards, `_all`); they stay
        stored as stopped, to be started again. Returns their ids."""
        async with self._lock:
            targets = self._match(expression, allow_no_match=allow_no_match)
            now_ms = self._clock.now_ms()
            entries = [self._entry(d, "stop", actor, d.build_number, None, d.settings(), None) for d in targets]
            # One transaction for all: stopped even if we crash now, and never half of them.
            await asyncio.to_thread(self._store.stop, [d.deployment_id for d in targets], entries, now_ms)
            for deployment in targets:
                deployment.stopping = True
                if deployment.rollout is not None:
                    await self._end_rollout(deployment, deployment.rollout, "the deployment was stopped")
        await asyncio.gather(*(self._drain(deployment) for deployment in targets))
        async with self._lock:
            for deployment in targets:
                self._deployments.pop(deployment.deployment_id, None)
            if targets:
                self._apply(self._plan(list(self._deployments.values())))  # freed capacity may fill shortfalls
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

    async def _drain(self, deployment: Deployment) -> None:
        await asyncio.gather(*(route.stop(self._limits.stop_timeout_s) for route in deployment.all_routes))

    async def _remove(self, deployment: Deployment, actor: str, reason: str) -> None:
        """A deployment that failed to start is forgotten, as in Elasticsearch; its history says why."""
        entry = self._entry(deployment, "failure", actor, deployment.build_number, None, deployment.settings(), None,
                            outcome="failed", reason=reason)
        await asyncio.to_thread(self._store.add_history, entry)
        await asyncio.to_thread(self._store.delete, deployment.deployment_id)
        deployment.stopping = True
        await self._drain(deployment)
        self._deployments.pop(deployment.deployment_id, None)

    async def shutdown(self) -> None:
        """Stop every worker (the server is exiting); pending restarts, worker starts and rollouts are abandoned."""
        for task in self._tasks:
            task.cancel()
        async with self._lock:
            for deployment in self._deployments.values():
                deployment.stopping = True
            await asyncio.gather(*(self._drain(deployment) for deployment in self._deployments.values()))
            self._deployments.clear()

    # --- cache ---------------------------------------------------------------------------------

    async def clear_cache(self, deployment_id: str) -> None:
        """Empty the inference cache of every worker of the deployment (no lock: it never waits on control)."""
        deployment = self.get(deployment_id)
        await asyncio.gather(*(route.clear_cache() for route in deployment.all_routes))

    # --- inference -----------------------------------------------------------------------------

    async def infer(self, model_or_deployment_id: str, documents: Sequence[Mapping[str, Any]],
                    update: Mapping[str, Any] | None, timeout_s: float, timeout_text: str) -> list[dict[str, Any]]:
        deployment = await self._resolve(model_or_deployment_id)
        if deployment.state in ("stopping", "failed"):
            raise StatusConflict(f"Trained model [{deployment.deployment_id}] is [{deployment.state}]")
        texts = [_input_text(document, deployment.input_field) for document in documents]
        revision = deployment.revision
        task_options = _task_options(deployment, revision, update)  # a bad update fails before any waiting
        started = self._clock.monotonic()
        route = await self._route_for(deployment, timeout_s, timeout_text)
        # The route serves the deployment's revision as of now (no await since it was picked): a rollout may have
        # switched builds while the request waited, and a new build may have other task options.
        if deployment.revision is not revision:
            revision = deployment.revision
            task_options = _task_options(deployment, revision, update)
        try:
            remaining_s = max(timeout_s - (self._clock.monotonic() - started), 0.0)
            return await route.infer(texts, task_options, remaining_s, timeout_text)
        except WorkerDied:  # inference is idempotent: one more try on another route that serves
            other = pick_other_route(deployment, route)
            if other is None:
                raise
            remaining_s = max(timeout_s - (self._clock.monotonic() - started), 0.0)
            return await other.infer(texts, _task_options(deployment, deployment.revision, update), remaining_s,
                                     timeout_text)

    async def _route_for(self, deployment: Deployment, timeout_s: float, timeout_text: str) -> Route:
        """A route to send the inference to; with none and adaptive allocations that may scale from zero, ask the
        scaler for an allocation and wait for it (bounded) rather than answer 409 as Elasticsearch does by default."""
        try:
            return pick_route(deployment)
        except StatusConflict:
            if not scales_from_zero(deployment) or deployment.stopping:
                raise
        await self.scaler.request_scale_from_zero(deployment.deployment_id)
        return await self.allocation_waits.wait(deployment, timeout_s, timeout_text)

    async def _resolve(self, identifier: str) -> Deployment:
        deployment = self._deployments.get(identifier)
        if deployment is not None:
            return deployment
        model = (await asyncio.to_thread(self._registry.find_models, identifier, allow_no_match=False))[0]
        candidates = self.of_model(model.model_id)
        if not candidates:
            raise StatusConflict(
                f"Model [{identifier}] must be deployed to use. Please deploy with the start trained model deployment API."
            )
        return min(candidates, key=lambda d: STATE_PREFERENCE.index(d.state))


def _task_options(deployment: Deployment, revision: Revision, update: Mapping[str, Any] | None) -> dict[str, Any]:
    try:
        return apply_update(deployment.model_id, deployment.task_type, revision.task_options, update)
    except NlpError as error:
        raise BadRequest(str(error)) from None


def _input_text(document: Mapping[str, Any], field: str) -> str:
    if not isinstance(document, Mapping) or field not in document:
        raise BadRequest(f"Input field [{field}] does not exist in the source document")
    value = document[field]
    if not isinstance(value, str):
        raise BadRequest(f"Input field [{field}] must be a string; found [{type(value).__name__}]")
    return value


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
