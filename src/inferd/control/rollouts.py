"""Rollouts: re-deploy, roll back and restart a serving deployment without a gap (see `rollout.py`).

A change of the allocations alone resizes the running workers in place. Anything else starts new
workers beside the old ones, checks each with one inference, switches the routing table to them in one
step, and drains the old ones. Before it begins, the rollout checks that the nodes can hold both sets
of workers (memory for both, processors for the target only); when they cannot it is refused, or with
`allow_downtime` the old workers stop first. Progress is awaited on the deployment's change signal.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from inferd.clock import Clock
from inferd.cluster.backend import ClusterBackend
from inferd.control.deployment import Deployment, RevisionBuilder, task_type_of
from inferd.control.deployment_settings import DeploymentSettings
from inferd.control.history import FAILED, IN_PROGRESS, SUCCEEDED, SYSTEM_ACTOR, HistoryRecorder
from inferd.control.planner import device_problem, plan_allocations
from inferd.control.reconciler import Reconciler
from inferd.control.registry import ModelRegistry
from inferd.control.rollout import (
    PROBE_TEXT,
    Rollout,
    RolloutAction,
    RolloutFailed,
    RolloutOutcome,
    RolloutStage,
    done_in_place,
    probe_options,
)
from inferd.control.rollout_request import RolloutRequest, settings_after
from inferd.control.route_workers import RouteWorkers
from inferd.control.tasks import BackgroundTasks
from inferd.errors import BadRequest, IllegalArgument, InferdError, RequestTimeout, StatusConflict, TooManyRequests
from inferd.runtime.revision import Revision
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState
from inferd.store import DeploymentStore

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 60.0
Resize = Callable[[Deployment, DeploymentSettings, tuple[str, str]], Awaitable[bool]]
"""The manager's in-place change of allocations, recorded in the history as (action, actor)."""


@dataclasses.dataclass(frozen=True)
class RolloutContext:
    """What a rollout works with, wired once by the deployment manager."""

    lock: asyncio.Lock
    deployments: dict[str, Deployment]
    registry: ModelRegistry
    store: DeploymentStore
    backend: ClusterBackend
    reconciler: Reconciler
    workers: RouteWorkers
    history: HistoryRecorder
    tasks: BackgroundTasks
    clock: Clock
    resize: Resize
    revision: RevisionBuilder
    start_timeout_s: float


class RolloutRunner:
    def __init__(self, context: RolloutContext) -> None:
        self._c = context

    async def roll_out(self, deployment: Deployment, request: RolloutRequest,
                       actor: str = SYSTEM_ACTOR) -> Rollout:
        """Re-deploy, roll back or restart (the caller holds nothing), then wait as the request asks."""
        c = self._c
        async with c.lock:
            if deployment.stopping:
                raise StatusConflict(f"Trained model [{deployment.deployment_id}] is [stopping]")
            if deployment.rollout is not None:
                raise StatusConflict(
                    f"the [{deployment.rollout.action}] of deployment [{deployment.deployment_id}] is in progress "
                    f"(stage [{deployment.rollout.stage}]); wait until it is done"
                )
            action = RolloutAction(request.action)
            build, after = await self._target(deployment, action, request)
            before = deployment.settings
            if action is RolloutAction.REDEPLOY and build == deployment.serving.build_number and \
                    before.same_workers(after):
                changed = await c.resize(deployment, after, (str(action), actor))
                rollout = done_in_place(action, deployment.serving, before, deployment.settings, c.clock.now_ms(),
                                        changed)
                deployment.last_rollout = rollout
            else:
                deployable = await asyncio.to_thread(c.registry.deployable, deployment.model_id, build)
                if task_type_of(deployable) != deployment.task_type:
                    raise BadRequest(f"build [{build}] of model [{deployment.model_id}] is a "
                                     f"[{task_type_of(deployable)}] model; deployment [{deployment.deployment_id}] "
                                     f"serves [{deployment.task_type}]")
                rollout = await self._begin(deployment, action, request, c.revision(deployable, after), before,
                                            after, actor)
        await self._wait(deployment, rollout, request)
        return rollout

    async def _target(self, deployment: Deployment, action: RolloutAction,
                      request: RolloutRequest) -> tuple[int, DeploymentSettings]:
        """The build and settings the request moves the deployment to."""
        current = deployment.settings
        build_number = deployment.serving.build_number
        default_batch = current.max_batch_documents
        if action is RolloutAction.REDEPLOY:
            after = settings_after(current.stored(), request.changes)
            return request.build or build_number, DeploymentSettings.from_stored(after, default_batch)
        if action is RolloutAction.RESTART:
            return build_number, current
        served = [entry for entry in await asyncio.to_thread(self._c.store.history, deployment.deployment_id, 1000)
                  if entry.outcome == SUCCEEDED and entry.build_after is not None and entry.settings_after]
        if request.build is not None:
            if request.build == build_number:
                raise BadRequest(f"deployment [{deployment.deployment_id}] runs build [{request.build}] already")
            earlier = next((entry for entry in served if entry.build_after == request.build), None)
            if earlier is None or earlier.settings_after is None:
                return request.build, current
            return request.build, DeploymentSettings.from_stored(earlier.settings_after, default_batch)
        previous = next((entry for entry in served if entry.build_after != build_number), None)
        if previous is None or previous.build_after is None or previous.settings_after is None:
            raise BadRequest(f"deployment [{deployment.deployment_id}] has served no other build than "
                             f"[{build_number}]; name the build to roll back to with [build]")
        return previous.build_after, DeploymentSettings.from_stored(previous.settings_after, default_batch)

    async def _begin(self, deployment: Deployment, action: RolloutAction, request: RolloutRequest, target: Revision,
                     before: DeploymentSettings, after: DeploymentSettings, actor: str) -> Rollout:
        """Check that the target fits beside what runs (or, with `allow_downtime`, instead of it), record the
        rollout, and start its workers."""
        c = self._c
        nodes = c.backend.nodes()
        deployment_id = deployment.deployment_id
        if problem := device_problem(nodes, target.resources.device):
            raise IllegalArgument(f"Could not roll out deployment [{deployment_id}]: {problem}")
        allocations = after.number_of_allocations
        others = [c.reconciler.demand(other, nodes) for other in c.deployments.values() if other is not deployment]
        beside = c.reconciler.demand(deployment, nodes, trial=target, allocations=allocations)
        alone = dataclasses.replace(beside, held_memory_bytes={}, held_gpu_memory_bytes={})
        placed_beside = sum(plan_allocations(nodes, [*others, beside]).allocations.get(deployment_id, {}).values())
        plan_alone = plan_allocations(nodes, [*others, alone])
        placed_alone = sum(plan_alone.allocations.get(deployment_id, {}).values())
        if allocations and not placed_alone:
            raise TooManyRequests(f"Could not roll out deployment [{deployment_id}] to build [{target.build_number}] "
                                  f"because no ML nodes with sufficient capacity were found: "
                                  f"{plan_alone.reasons.get(deployment_id, '')}")
        gap = placed_beside < placed_alone
        if gap and not request.allow_downtime:
            raise TooManyRequests(
                f"Could not roll out deployment [{deployment_id}] without downtime: the nodes' memory cannot hold its "
                f"old and new workers at once (with both, [{placed_beside}] of [{allocations}] allocations fit; "
                f"with the new alone, [{placed_alone}]). Set [allow_downtime] to true to stop the old workers first, "
                "accepting a gap while the new ones start."
            )
        entry = c.history.entry(deployment, str(action), actor, deployment.serving.build_number,
                                target.build_number, before, after, outcome=IN_PROGRESS)
        entry = dataclasses.replace(entry, entry_id=await asyncio.to_thread(c.store.add_history, entry))
        rollout = Rollout(action, deployment.serving, target, before, after, c.clock.now_ms(), entry,
                          allow_downtime=request.allow_downtime, gap=gap)
        deployment.rollout = rollout
        deployment.number_of_allocations = allocations
        deployment.adaptive_allocations = after.adaptive_allocations
        if not gap:
            c.reconciler.step()
        deployment.changed()
        c.tasks.spawn(self._run(deployment, rollout))
        return rollout

    async def _run(self, deployment: Deployment, rollout: Rollout) -> None:
        c = self._c
        try:
            if rollout.gap:
                await c.workers.drain(deployment, self._switch(deployment, {}))
                async with c.lock:
                    if not rollout.in_progress:
                        return
                    c.reconciler.step()
            await self._new_routes_started(deployment, rollout)
            rollout.advance(RolloutStage.VERIFYING)
            deployment.changed()
            await self._verify(rollout)
            async with c.lock:
                if not rollout.in_progress:
                    return
                assert rollout.entry is not None  # only a change made in place has none, and it never runs
                finished = dataclasses.replace(rollout.entry, outcome=SUCCEEDED, end_time_ms=c.clock.now_ms())
                # The store says the deployment runs the target from here on: a restart now comes back on it.
                await asyncio.to_thread(lambda: c.store.update(
                    deployment.deployment_id, settings=rollout.settings_after.stored(),
                    build_number=rollout.target.build_number, finish=finished))
                old = self._switch(deployment, rollout.routes, rollout.target)
                deployment.rollout, deployment.last_rollout = None, rollout
                rollout.succeed()
                deployment.changed()
            await c.workers.drain(deployment, old)
            rollout.finish(c.clock.now_ms())
            deployment.changed()
            async with c.lock:
                if not deployment.stopping:
                    c.reconciler.step()  # freed memory may fill shortfalls
        except RolloutFailed as failure:
            async with c.lock:
                if rollout.in_progress:
                    await self.end(deployment, rollout, str(failure))
        except Exception as error:  # noqa: BLE001 - an unforeseen error must not leave the rollout blocking changes
            logger.exception("the [%s] of deployment [%s] broke", rollout.action, deployment.deployment_id)
            async with c.lock:
                if rollout.in_progress:
                    await self.end(deployment, rollout, f"internal error: {error!r}")

    @staticmethod
    def _switch(deployment: Deployment, routes: dict[str, Route], revision: Revision | None = None) -> list[Route]:
        """Switch the routing table to `routes` in one step (no await: no request sees half of it); the old routes
        drain, holding their memory until they stop."""
        old = list(deployment.routes.values())
        deployment.draining.extend(old)
        deployment.routes = routes
        if revision is not None:
            deployment.serving = revision
        return old

    async def _new_routes_started(self, deployment: Deployment, rollout: Rollout) -> None:
        def settled() -> bool:
            routes = rollout.routes.values()
            return (not rollout.in_progress or any(route.state is RouteState.FAILED for route in routes)
                    or (bool(routes) and all(route.state is RouteState.STARTED for route in routes))
                    or (not routes and not deployment.number_of_allocations))

        deadline = self._c.clock.monotonic() + self._c.start_timeout_s
        if not await deployment.changes.wait_until(settled, self._c.clock, deadline):
            raise RolloutFailed(f"the new workers did not serve within [{self._c.start_timeout_s:g}s]")
        if not rollout.in_progress:
            raise RolloutFailed(rollout.reason or "ended")
        for route in rollout.routes.values():
            if route.state is RouteState.FAILED:
                raise RolloutFailed(f"the new worker on node [{route.node_id}] failed: {route.reason}")

    async def _verify(self, rollout: Rollout) -> None:
        """One inference on each new worker before it takes traffic: a build that loads but cannot run fails here.
        A refusal of the check's input (4xx) means the model ran as far as the input allows: it passes."""
        options = probe_options(rollout.target)
        for node_id, route in list(rollout.routes.items()):
            try:
                await route.infer([PROBE_TEXT], options, PROBE_TIMEOUT_S, f"{PROBE_TIMEOUT_S:g}s")
            except InferdError as error:
                if error.status < 500 and error.status != 408:
                    logger.info("rollout to build [%s]: the check inference on [%s] was refused: %s",
                                rollout.target.build_number, node_id, error)
                    continue
                raise RolloutFailed(f"the new worker on node [{node_id}] failed its check inference: {error}") from None

    async def end(self, deployment: Deployment, rollout: Rollout, reason: str) -> None:
        """A rollout that fails (or is cut short by a stop) ends where it was: its new workers stop, the old ones
        keep (or, after a gap, resume) serving with the earlier settings, and the history says why. The caller holds
        the lock."""
        c = self._c
        rollout.fail(reason, c.clock.now_ms())
        if rollout.entry is not None:
            finished = dataclasses.replace(rollout.entry, outcome=FAILED, reason=reason,
                                           end_time_ms=rollout.end_time_ms)
            await asyncio.to_thread(c.store.finish_history, finished)
        logger.error("the [%s] of deployment [%s] failed: %s", rollout.action, deployment.deployment_id, reason)
        incoming = list(rollout.routes.values())
        deployment.draining.extend(incoming)
        deployment.rollout, deployment.last_rollout = None, rollout
        deployment.number_of_allocations = rollout.settings_before.number_of_allocations
        deployment.adaptive_allocations = rollout.settings_before.adaptive_allocations
        deployment.changed()
        if not deployment.stopping:
            c.tasks.spawn(c.workers.drain(deployment, incoming))
            c.reconciler.step()

    async def _wait(self, deployment: Deployment, rollout: Rollout, request: RolloutRequest) -> None:
        if request.wait_for == "none":
            return

        def reached() -> bool:
            return rollout.outcome is RolloutOutcome.FAILED or rollout.stage is RolloutStage.DONE or (
                request.wait_for == "shifted" and rollout.shifted)

        deadline = self._c.clock.monotonic() + request.timeout_s
        arrived = await deployment.changes.wait_until(reached, self._c.clock, deadline)
        if rollout.outcome is RolloutOutcome.FAILED:
            raise InferdError(f"The [{rollout.action}] of deployment [{deployment.deployment_id}] failed: "
                              f"{rollout.reason}; build [{rollout.source.build_number}] serves as before")
        if not arrived:
            raise RequestTimeout(
                f"Timed out after [{request.timeout_text}] waiting for the [{rollout.action}] of deployment "
                f"[{deployment.deployment_id}]; it goes on: GET /_inferd/deployments/{deployment.deployment_id} "
                "shows its progress"
            )
