"""Deployments and their lifecycle: start, resize, stop, and routing each inference to a route.

Every change re-plans the whole local cluster with the pure planner and applies the plan: new routes
start a worker, existing ones resize in place, routes the plan no longer wants drain and stop. Control
operations are serialised by one lock; inference never takes it.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from inferd.clock import Clock
from inferd.cluster.backend import ClusterBackend
from inferd.cluster.nodes import Node
from inferd.control.deployment import Deployment
from inferd.control.deployment_request import AdaptiveAllocations, StartRequest, UpdateRequest
from inferd.control.ids import id_problems
from inferd.control.matching import expand_ids
from inferd.control.memory import estimate_memory_bytes
from inferd.control.planner import Demand, Plan, plan_allocations
from inferd.control.registry import ModelRegistry
from inferd.errors import (
    BadRequest,
    InferdError,
    RequestTimeout,
    ResourceNotFound,
    SettingsInvalid,
    StatusConflict,
    TooManyRequests,
    ValidationFailed,
)
from inferd.nlp import NlpError
from inferd.nlp.tasks import apply_update
from inferd.runtime.protocol import LoadModel
from inferd.runtime.route import Route, RouteSettings
from inferd.runtime.states import RouteState
from inferd.units import parse_byte_size

logger = logging.getLogger(__name__)

STATE_PREFERENCE = ("started", "starting", "stopping", "failed")
WAIT_POLL_S = 0.05


@dataclass(frozen=True)
class RuntimeLimits:
    max_deployments: int = 100
    max_batch_documents: int = 16
    stop_timeout_s: float = 60.0


class DeploymentManager:
    def __init__(self, registry: ModelRegistry, backend: ClusterBackend, clock: Clock, limits: RuntimeLimits) -> None:
        self._registry = registry
        self._backend = backend
        self._clock = clock
        self._limits = limits
        self._deployments: dict[str, Deployment] = {}
        self._lock = asyncio.Lock()
        self._loads: dict[str, LoadModel] = {}
        self._tasks: set[asyncio.Task[None]] = set()

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
        build = deployable.model.build
        (task_type, task_options), = build.config["inference_config"].items()
        metadata = build.config.get("metadata", {})
        model_bytes = build.total_definition_length or 0
        deployment = Deployment(
            deployment_id=deployment_id,
            model_id=model_id,
            build_number=build.build_number,
            task_type=task_type,
            task_options=task_options,
            input_field=build.config["input"]["field_names"][0],
            model_bytes=model_bytes,
            per_deployment_memory_bytes=metadata.get("per_deployment_memory_bytes", 0),
            per_allocation_memory_bytes=metadata.get("per_allocation_memory_bytes", 0),
            threads_per_allocation=request.threads_per_allocation,
            number_of_allocations=request.number_of_allocations,
            queue_capacity=request.queue_capacity,
            cache_size=request.cache_size if request.cache_size is not None else f"{model_bytes}b",
            priority=request.priority,
            max_batch_documents=request.max_batch_documents or self._limits.max_batch_documents,
            adaptive_allocations=request.adaptive_allocations,
            start_time_ms=self._clock.now_ms(),
        )
        plan = self._plan([*self._deployments.values(), deployment])
        if not plan.allocations.get(deployment_id):
            raise TooManyRequests("Could not start deployment because no ML nodes with sufficient capacity were found")
        self._deployments[deployment_id] = deployment
        load = LoadModel(
            definition_path=str(deployable.definition_path),
            task_type=task_type,
            tokenization=task_options["tokenization"],
            vocabulary=deployable.vocabulary.vocabulary,
            merges=deployable.vocabulary.merges,
            scores=deployable.vocabulary.scores,
            threads_per_allocation=deployment.threads_per_allocation,
            allocations=0,
            max_batch_rows=max(deployment.max_batch_documents, 1),
            cache_size_bytes=parse_byte_size(deployment.cache_size, "cache_size"),
            low_priority=deployment.priority == "low",
        )
        self._loads[deployment_id] = load
        self._apply(plan)
        return deployment

    def _model_exists(self, model_id: str) -> bool:
        try:
            self._registry.get_model(model_id)
        except ResourceNotFound:
            return False
        return True

    async def _wait_for(self, deployment: Deployment, wait_for: str, timeout_s: float, timeout_text: str) -> None:
        deadline = self._clock.monotonic() + timeout_s
        while True:
            live = deployment.live_routes
            if live and all(route.state is RouteState.FAILED for route in live):
                reasons = "; ".join(route.reason or "failed" for route in live)
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

    # --- update --------------------------------------------------------------------------------

    async def update(self, deployment_id: str, request: UpdateRequest) -> Deployment:
        async with self._lock:
            deployment = self.get(deployment_id)
            adaptive = _merge_adaptive(deployment.adaptive_allocations, request.adaptive_allocations)
            if adaptive is not None and adaptive.enabled and request.number_of_allocations is not None:
                raise SettingsInvalid(["[number_of_allocations] cannot be set if adaptive allocations is enabled"])
            if adaptive is not None and adaptive.problems():
                raise SettingsInvalid(adaptive.problems())
            allocations = request.number_of_allocations or deployment.number_of_allocations
            if allocations == deployment.number_of_allocations and adaptive == deployment.adaptive_allocations:
                return deployment
            if deployment.state != "started":
                raise StatusConflict("cannot update deployment that is not in [started] state")
            deployment.number_of_allocations = allocations
            deployment.adaptive_allocations = adaptive
            self._apply(self._plan(list(self._deployments.values())))
            return deployment

    # --- stop ----------------------------------------------------------------------------------

    async def stop(self, expression: str, *, allow_no_match: bool) -> None:
        """Drain and stop every deployment the expression names (ids, model ids, wildcards, `_all`)."""
        async with self._lock:
            targets = self._match(expression, allow_no_match=allow_no_match)
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
        deployment.stopping = True
        await self._drain(deployment)
        self._deployments.pop(deployment.deployment_id, None)
        self._loads.pop(deployment.deployment_id, None)

    async def shutdown(self) -> None:
        """Stop every worker (the server is exiting)."""
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
        for deployment in deployments:
            # A route being retired no longer counts (the plan dropped it); a stopping deployment holds all it has.
            holding = (RouteState.STARTING, RouteState.STARTED, RouteState.STOPPING) if deployment.stopping else (
                RouteState.STARTING, RouteState.STARTED)
            current = {route.node_id: route.allocations for route in deployment.routes.values()
                       if route.state in holding}
            cache_bytes = parse_byte_size(deployment.cache_size, "cache_size")
            memory = estimate_memory_bytes(
                deployment.model_bytes, deployment.per_deployment_memory_bytes,
                deployment.per_allocation_memory_bytes, deployment.number_of_allocations,
            ) + max(0, cache_bytes - deployment.model_bytes)
            target = sum(current.values()) if deployment.stopping else deployment.number_of_allocations
            demands.append(Demand(deployment.deployment_id, target, deployment.threads_per_allocation, memory,
                                  current, low_priority=deployment.priority == "low"))
        return plan_allocations(self._backend.nodes(), demands)

    def _apply(self, plan: Plan) -> None:
        for deployment in self._deployments.values():
            if deployment.stopping:
                continue
            wanted = plan.allocations.get(deployment.deployment_id, {})
            for node_id, count in wanted.items():
                route = deployment.routes.get(node_id)
                if route is None or route.state in (RouteState.STOPPING, RouteState.STOPPED, RouteState.FAILED):
                    self._launch(deployment, node_id, count)
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
        route = Route(
            deployment.deployment_id, node_id,
            RouteSettings(deployment.threads_per_allocation, deployment.queue_capacity, deployment.max_batch_documents, allocations), self._clock,
        )
        deployment.routes[node_id] = route
        load = msgspec.structs.replace(self._loads[deployment.deployment_id], allocations=allocations)

        async def start_worker() -> None:
            try:
                worker = await self._backend.start_worker(node_id, deployment.deployment_id)
            except OSError as error:
                route.fail(f"could not start the worker process: {error}")
                return
            route.attach(worker, load)

        self._spawn(start_worker())

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
        route = _pick_route(deployment)
        return await route.infer(texts, task_options, timeout_s, timeout_text)

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


def _pick_route(deployment: Deployment) -> Route:
    """A started route, at random weighted by its allocations; a stopping one only when none is started."""
    for state in (RouteState.STARTED, RouteState.STOPPING):
        routes = [route for route in deployment.routes.values() if route.state is state and route.allocations > 0]
        if routes:
            return random.choices(routes, weights=[route.allocations for route in routes])[0]
    raise StatusConflict(f"Trained model deployment [{deployment.deployment_id}] is not allocated to any nodes")


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
