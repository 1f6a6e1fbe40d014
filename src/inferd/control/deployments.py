"""Deployments and their lifecycle: start, resize, stop, and routing each inference to a route.

Every change re-plans the whole local cluster with the pure planner and applies the plan: new routes
start a worker, existing ones resize in place, routes the plan no longer wants drain and stop. Control
operations are serialised by one lock; inference never takes it.
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
from inferd.control.adaptive import (
    AllocationWaits,
    RouteCounters,
    ScalerSettings,
    allocations_after_update,
    scales_from_zero,
)
from inferd.control.deployment import Deployment, deployment_of
from inferd.control.deployment_request import AdaptiveAllocations, StartRequest, UpdateRequest
from inferd.control.ids import id_problems
from inferd.control.matching import expand_ids
from inferd.control.memory import estimate_memory_bytes
from inferd.control.planner import Demand, Plan, plan_allocations
from inferd.control.registry import Deployable, ModelRegistry
from inferd.control.restarts import RestartPolicy
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
from inferd.runtime.protocol import LoadModel
from inferd.runtime.route import Route, RouteSettings
from inferd.runtime.states import RouteState
from inferd.store import DeploymentRecord, DeploymentStore
from inferd.units import parse_byte_size

logger = logging.getLogger(__name__)

STATE_PREFERENCE = ("started", "starting", "stopping", "failed")
WAIT_POLL_S = 0.05


@dataclass(frozen=True)
class RuntimeLimits:
    max_deployments: int = 100
    max_batch_documents: int = 16
    max_batch_tokens: int = 384
    stop_timeout_s: float = 60.0
    max_document_windows: int | None = 1000


class DeploymentManager:
    def __init__(self, registry: ModelRegistry, store: DeploymentStore, backend: ClusterBackend, clock: Clock,
                 limits: RuntimeLimits, restarts: RestartPolicy | None = None,
                 scaler_settings: ScalerSettings | None = None) -> None:
        self._registry = registry
        self._store = store
        self._restarts = restarts or RestartPolicy()
        self._backend = backend
        self._clock = clock
        self._limits = limits
        self._deployments: dict[str, Deployment] = {}
        self._lock = asyncio.Lock()
        self._loads: dict[str, LoadModel] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        scaling = scaler_settings or ScalerSettings()
        self.scaler = ScalerService(clock, RouteCounters(self._deployments.values), self.scale,
                                    interval_s=scaling.interval_s, scale_up_cooldown_s=scaling.scale_up_cooldown_s,
                                    scale_to_zero_after_s=scaling.scale_to_zero_after_s)
        self.allocation_waits = AllocationWaits(clock)

    def start_scaler(self) -> None:
        """Run the adaptive allocations scaler until shutdown."""
        self._spawn(self.scaler.run())

    # --- reading -------------------------------------------------------------------------------

    def get(self, deployment_id: str) -> Deployment:
        deployment = self._deployments.get(deployment_id)
        if deployment is None:
            raise ResourceNotFound(f"No known model deployment with id [{deployment_id}]")
        return deployment

    def of_model(self, model_id: str) -> list[Deployment]:
        return sorted((d for d in self._deployments.values() if d.model_id == model_id), key=lambda d: d.deployment_id)

    def nodes(self) -> list[Node]:
        return self._backend.nodes()

    def all_nodes(self) -> list[tuple[Node, bool]]:
        """Every node, with whether it is available (False: lost)."""
        return self._backend.all_nodes()

    def all(self) -> list[Deployment]:
        return sorted(self._deployments.values(), key=lambda d: d.deployment_id)

    # --- start ---------------------------------------------------------------------------------

    async def start(self, request: StartRequest) -> Deployment:
        async with self._lock:
            deployment = await self._create(request)
        await self._wait_for(deployment, request.wait_for, request.timeout_s, request.timeout_text)
        return deployment

    async def _create(self, request: StartRequest) -> Deployment:
        deployment_id = request.deployment_id
        if len(self._deployments) >= self._limits.max_deployments:
            raise TooManyRequests(
                "Could not start model deployment because existing deployments reached the limit of "
                f"[{self._limits.max_deployments}]"
            )
        if deployment_id in self._deployments:
            raise BadRequest(
                f"Could not start model deployment because an existing deployment with the same id [{deployment_id}] exist"
            )
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
        deployment = deployment_of(deployment_id, deployable, settings, self._clock.now_ms())
        plan = self._plan([*self._deployments.values(), deployment])
        if not plan.allocations.get(deployment_id):
            raise TooManyRequests("Could not start deployment because no ML nodes with sufficient capacity were found")
        record = DeploymentRecord(deployment_id, model_id, deployment.build_number, deployment.settings(),
                                  deployment.start_time_ms)
        await asyncio.to_thread(self._store.save, record)  # stored first: a crash from here on restarts it
        self._admit(deployment, deployable, plan)
        return deployment

    async def restore(self) -> list[Deployment]:
        """Start again every deployment the store holds, as a restarted server must; returns them.

        One whose model can no longer be deployed is logged and left stored; one that does not fit waits,
        `starting`, with its reason, for capacity.
        """
        records = await asyncio.to_thread(self._store.list)
        restored = []
        async with self._lock:
            for record in records:
                try:
                    deployable = await asyncio.to_thread(self._registry.deployable, record.model_id)
                    deployment = deployment_of(record.deployment_id, deployable, record.settings,
                                                record.start_time_ms)
                except ResourceNotFound as error:  # its model is gone: so is the deployment
                    logger.error("dropping deployment [%s]: %s", record.deployment_id, error)
                    await asyncio.to_thread(self._store.delete, record.deployment_id)
                    continue
                except Exception:  # noqa: BLE001 - one bad record must not keep the others (or readiness) back
                    logger.exception("cannot restore deployment [%s]; it stays stored", record.deployment_id)
                    continue
                self._admit(deployment, deployable, self._plan([*self._deployments.values(), deployment]))
                restored.append(deployment)
        return restored

    def _admit(self, deployment: Deployment, deployable: Deployable, plan: Plan) -> None:
        """Hold the deployment and launch its routes as the plan says."""
        self._deployments[deployment.deployment_id] = deployment
        tokenization = deployment.task_options["tokenization"]
        self._loads[deployment.deployment_id] = LoadModel(
            definition_path=str(deployable.definition_path),
            task_type=deployment.task_type,
            tokenization=tokenization,
            vocabulary=deployable.vocabulary.vocabulary,
            merges=deployable.vocabulary.merges,
            scores=deployable.vocabulary.scores,
            threads_per_allocation=deployment.threads_per_allocation,
            allocations=0,
            max_batch_rows=max(deployment.max_batch_documents, 1),
            max_batch_tokens=self._limits.max_batch_tokens,
            cache_size_bytes=parse_byte_size(deployment.cache_size, "cache_size"),
            low_priority=deployment.priority == "low",
            max_document_windows=self._limits.max_document_windows,
        )
        self._apply(plan)

    def _model_exists(self, model_id: str) -> bool:
        try:
            self._registry.get_model(model_id)
        except ResourceNotFound:
            return False
        return True

    async def _wait_for(self, deployment: Deployment, wait_for: str, timeout_s: float, timeout_text: str) -> None:
        deadline = self._clock.monotonic() + timeout_s
        while True:
            if deployment.state == "failed":
                reasons = "; ".join(route.reason or "failed" for route in deployment.live_routes)
                async with self._lock:
                    await self._remove(deployment)
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

    async def update(self, deployment_id: str, request: UpdateRequest) -> Deployment:
        async with self._lock:
            deployment = self.get(deployment_id)
            adaptive = _merge_adaptive(deployment.adaptive_allocations, request.adaptive_allocations)
            if adaptive is not None and adaptive.enabled and request.number_of_allocations is not None:
                raise SettingsInvalid(["[number_of_allocations] cannot be set if adaptive allocations is enabled"])
            if adaptive is not None and adaptive.problems():
                raise SettingsInvalid(adaptive.problems())
            allocations = allocations_after_update(deployment.number_of_allocations, request.number_of_allocations,
                                                   adaptive)
            await self._change(deployment, allocations, adaptive)
            return deployment

    async def scale(self, deployment_id: str, allocations: int) -> None:
        """The adaptive scaler's internal update: any count from zero up, while adaptive allocations are enabled."""
        async with self._lock:
            deployment = self.get(deployment_id)
            await self._change(deployment, allocations, deployment.adaptive_allocations)

    async def _change(self, deployment: Deployment, allocations: int, adaptive: AdaptiveAllocations | None) -> None:
        """Store the new settings first (a crash from here on restarts with them), then re-plan."""
        if allocations == deployment.number_of_allocations and adaptive == deployment.adaptive_allocations:
            return
        if deployment.state != "started":
            raise StatusConflict("cannot update deployment that is not in [started] state")
        changed = dataclasses.replace(deployment, number_of_allocations=allocations, adaptive_allocations=adaptive)
        await asyncio.to_thread(lambda: self._store.update(deployment.deployment_id, settings=changed.settings()))
        deployment.number_of_allocations = allocations
        deployment.adaptive_allocations = adaptive
        self._apply(self._plan(list(self._deployments.values())))

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
                    route = deployment.routes.pop(node_id, None)
                    if route is not None:  # out of the routing table first, so its crash is not recovered
                        route.kill()
            self._apply(self._plan(list(self._deployments.values())))

    # --- stop ----------------------------------------------------------------------------------

    async def stop(self, expression: str, *, allow_no_match: bool) -> None:
        """Drain and stop every deployment the expression names (ids, model ids, wildcards, `_all`)."""
        async with self._lock:
            targets = self._match(expression, allow_no_match=allow_no_match)
            # One transaction for all: stopped even if we crash now, and never half of them.
            await asyncio.to_thread(self._store.delete, *(deployment.deployment_id for deployment in targets))
            for deployment in targets:
                deployment.stopping = True
        await asyncio.gather(*(self._drain(deployment) for deployment in targets))
        async with self._lock:
            for deployment in targets:
                self._deployments.pop(deployment.deployment_id, None)
                self._loads.pop(deployment.deployment_id, None)
            if targets:
                self._apply(self._plan(list(self._deployments.values())))  # freed capacity may fill shortfalls

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
        await asyncio.gather(*(route.stop(self._limits.stop_timeout_s) for route in deployment.routes.values()))

    async def _remove(self, deployment: Deployment) -> None:
        await asyncio.to_thread(self._store.delete, deployment.deployment_id)
        deployment.stopping = True
        await self._drain(deployment)
        self._deployments.pop(deployment.deployment_id, None)
        self._loads.pop(deployment.deployment_id, None)

    async def shutdown(self) -> None:
        """Stop every worker (the server is exiting); pending restarts and worker starts are abandoned."""
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
        await asyncio.gather(*(route.clear_cache() for route in deployment.live_routes))

    # --- planning ------------------------------------------------------------------------------

    def _plan(self, deployments: Sequence[Deployment]) -> Plan:
        demands = []
        nodes = self._backend.nodes()
        for deployment in deployments:
            # A route being retired no longer counts (the plan dropped it); a stopping deployment holds all it has;
            # a crashed route keeps its place while its worker restarts.
            holding = (RouteState.STARTING, RouteState.STARTED, RouteState.STOPPING) if deployment.stopping else (
                RouteState.STARTING, RouteState.STARTED)
            current = {route.node_id: route.allocations for route in deployment.routes.values()
                       if route.state in holding or route.recovering}
            cache_bytes = parse_byte_size(deployment.cache_size, "cache_size")
            # Memory is charged for the allocations that can exist: asking for millions must not make a running
            # deployment's estimate outgrow its node and lose the allocations it has.
            threads = max(deployment.threads_per_allocation, 1)
            possible = max(sum(current.values()), sum(node.processors // threads for node in nodes), 1)
            memory = estimate_memory_bytes(
                deployment.model_bytes, deployment.per_deployment_memory_bytes,
                deployment.per_allocation_memory_bytes, min(deployment.number_of_allocations, possible),
            ) + max(0, cache_bytes - deployment.model_bytes)
            target = sum(current.values()) if deployment.stopping else deployment.number_of_allocations
            demands.append(Demand(deployment.deployment_id, target, deployment.threads_per_allocation, memory,
                                  current, low_priority=deployment.priority == "low"))
        return plan_allocations(nodes, demands)

    def _apply(self, plan: Plan) -> None:
        for deployment in self._deployments.values():
            if deployment.stopping:
                continue
            wanted = plan.allocations.get(deployment.deployment_id, {})
            for node_id, count in wanted.items():
                route = deployment.routes.get(node_id)
                if route is None or route.state in (RouteState.STOPPING, RouteState.STOPPED):
                    self._launch(deployment, node_id, count)
                elif route.state is RouteState.FAILED and not route.recovering:
                    continue  # failed for good: it stays failed until the deployment is stopped
                elif route.allocations != count:
                    route.set_allocations(count)
            for node_id, route in list(deployment.routes.items()):
                if node_id not in wanted and route.state in (RouteState.STARTING, RouteState.STARTED, RouteState.FAILED):
                    self._spawn(self._retire(deployment, node_id, route))
            deployment.reason = plan.reasons.get(deployment.deployment_id)
            deployment.note_allocations()

    async def _retire(self, deployment: Deployment, node_id: str, route: Route) -> None:
        """Drain a route the plan no longer wants, then take it out of the routing table."""
        await route.stop(self._limits.stop_timeout_s)
        if deployment.routes.get(node_id) is route:
            del deployment.routes[node_id]

    def _launch(self, deployment: Deployment, node_id: str, allocations: int) -> None:
        settings = RouteSettings(deployment.threads_per_allocation, deployment.queue_capacity,
                                 deployment.max_batch_documents, allocations)
        route = Route(deployment.deployment_id, node_id, settings, self._clock,
                      on_crash=lambda crashed: self._on_crash(deployment, crashed))
        deployment.routes[node_id] = route

        async def start_worker() -> None:
            try:
                worker = await self._backend.start_worker(node_id, deployment.deployment_id)
            except OSError as error:
                route.fail(f"could not start the worker process: {error}")
                return
            route.attach(worker, self._load_for(deployment, route))

        self._spawn(start_worker())

    def _load_for(self, deployment: Deployment, route: Route) -> LoadModel:
        return msgspec.structs.replace(self._loads[deployment.deployment_id], allocations=route.allocations)

    def _on_crash(self, deployment: Deployment, route: Route) -> bool:
        """A worker died while serving: schedule its restart (True), or leave the route failed (False)."""
        if deployment.stopping or deployment.routes.get(route.node_id) is not route:
            return False
        delay_s = self._restarts.delay_s(route.crash_times, self._clock.monotonic())
        if delay_s is None:
            route.reason = (f"{route.reason}; the worker crashed {self._restarts.max_restarts + 1} times within "
                            f"{self._restarts.window_s:g}s: stop and start the deployment again")
            return False
        self._spawn(self._restart(deployment, route, delay_s))
        return True

    async def _restart(self, deployment: Deployment, route: Route, delay_s: float) -> None:
        await self._clock.sleep(delay_s)
        if route.state is not RouteState.FAILED:  # stopped or retired meanwhile, and its waiters answered
            return
        if deployment.routes.get(route.node_id) is not route:  # its node was lost meanwhile
            route.give_up("its node was lost")
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
        route.restart(worker, self._load_for(deployment, route))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- inference -----------------------------------------------------------------------------

    async def infer(self, model_or_deployment_id: str, documents: Sequence[Mapping[str, Any]],
                    update: Mapping[str, Any] | None, timeout_s: float, timeout_text: str) -> list[dict[str, Any]]:
        deployment = await self._resolve(model_or_deployment_id)
        if deployment.state in ("stopping", "failed"):
            raise StatusConflict(f"Trained model [{deployment.deployment_id}] is [{deployment.state}]")
        texts = [_input_text(document, deployment.input_field) for document in documents]
        try:
            task_options = apply_update(deployment.model_id, deployment.task_type, deployment.task_options, update)
        except NlpError as error:
            raise BadRequest(str(error)) from None
        started = self._clock.monotonic()
        route = await self._route_for(deployment, timeout_s, timeout_text)
        try:
            remaining_s = max(timeout_s - (self._clock.monotonic() - started), 0.0)
            return await route.infer(texts, task_options, remaining_s, timeout_text)
        except WorkerDied:  # inference is idempotent: one more try on another route that serves
            other = pick_other_route(deployment, route)
            if other is None:
                raise
            remaining_s = max(timeout_s - (self._clock.monotonic() - started), 0.0)
            return await other.infer(texts, task_options, remaining_s, timeout_text)

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
