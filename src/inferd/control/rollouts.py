"""Rollouts: re-deploy, roll back and restart a serving deployment without a gap (see `rollout.py`).

A change of the allocations alone resizes the running workers in place. Anything else starts new
workers beside the old ones, checks each with one inference, switches the routing table to them in one
step, and drains the old ones. Before it begins, the rollout checks that the nodes can hold both sets
of workers (memory for both, processors for the target only); when they cannot it is refused, or with
`allow_downtime` the old workers stop first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from inferd.control.deployment import REVISION_SETTINGS, Deployment, Revision, task_type_of
from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.placement import SYSTEM_ACTOR, WAIT_POLL_S, RoutePlacement
from inferd.control.planner import plan_allocations
from inferd.control.rollout import PROBE_TEXT, Rollout, RolloutFailed, probe_options
from inferd.control.rollout_request import RolloutRequest, settings_after
from inferd.errors import BadRequest, InferdError, RequestTimeout, StatusConflict, TooManyRequests
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 60.0


class RolloutWorkflows(RoutePlacement):
    async def roll_out(self, deployment_id: str, request: RolloutRequest,
                       actor: str = SYSTEM_ACTOR) -> tuple[Deployment, Rollout]:
        """Re-deploy, roll back or restart a serving deployment (see `rollout.py`), then wait as the request asks."""
        async with self._lock:
            deployment = self.get(deployment_id)
            if deployment.stopping:
                raise StatusConflict(f"Trained model [{deployment_id}] is [stopping]")
            if deployment.rollout is not None:
                raise StatusConflict(
                    f"the [{deployment.rollout.action}] of deployment [{deployment_id}] is in progress (stage "
                    f"[{deployment.rollout.stage}]); wait until it is done"
                )
            build, after = await self._rollout_target(deployment, request)
            before = deployment.settings()
            if request.action == "redeploy" and build == deployment.build_number and _in_place(before, after):
                rollout = await self._resize(deployment, before, after, actor)
            else:
                deployable = await asyncio.to_thread(self._registry.deployable, deployment.model_id, build)
                if task_type_of(deployable) != deployment.task_type:
                    raise BadRequest(f"build [{build}] of model [{deployment.model_id}] is a "
                                     f"[{task_type_of(deployable)}] model; deployment [{deployment_id}] serves "
                                     f"[{deployment.task_type}]")
                rollout = await self._begin_rollout(deployment, request, self._revision(deployable, after), before,
                                                    after, actor)
        await self._wait_for_rollout(deployment, rollout, request)
        return deployment, rollout

    async def _rollout_target(self, deployment: Deployment, request: RolloutRequest) -> tuple[int, dict[str, Any]]:
        """The build and settings the request moves the deployment to."""
        current = deployment.settings()
        if request.action == "redeploy":
            return request.build or deployment.build_number, settings_after(current, request.changes)
        if request.action == "restart":
            return deployment.build_number, current
        served = [entry for entry in await asyncio.to_thread(self._store.history, deployment.deployment_id, 1000)
                  if entry.outcome == "succeeded" and entry.build_after is not None and entry.settings_after]
        if request.build is not None:
            if request.build == deployment.build_number:
                raise BadRequest(f"deployment [{deployment.deployment_id}] runs build [{request.build}] already")
            earlier = next((entry for entry in served if entry.build_after == request.build), None)
            return request.build, dict(earlier.settings_after) if earlier and earlier.settings_after else current
        previous = next((entry for entry in served if entry.build_after != deployment.build_number), None)
        if previous is None or previous.build_after is None or previous.settings_after is None:
            raise BadRequest(f"deployment [{deployment.deployment_id}] has served no other build than "
                             f"[{deployment.build_number}]; name the build to roll back to with [build]")
        return previous.build_after, dict(previous.settings_after)

    async def _resize(self, deployment: Deployment, before: dict[str, Any], after: dict[str, Any],
                      actor: str) -> Rollout:
        """A re-deploy that changes only the allocations: done in place, in the running workers."""
        now_ms = self._clock.now_ms()
        changed = await self._change(deployment, after["number_of_allocations"], AdaptiveAllocations.from_settings(after),
                                     ("redeploy", actor))
        rollout = Rollout("redeploy", deployment.revision, deployment.revision, before, deployment.settings(), now_ms,
                          None, stage="done", outcome="succeeded", end_time_ms=now_ms,
                          reason=None if changed else "nothing to change")
        deployment.last_rollout = rollout
        return rollout

    async def _begin_rollout(self, deployment: Deployment, request: RolloutRequest, target: Revision,
                             before: dict[str, Any], after: dict[str, Any], actor: str) -> Rollout:
        """Check that the target fits beside what runs (or, with `allow_downtime`, instead of it), record the
        rollout, and start its workers."""
        nodes = self._backend.nodes()
        deployment_id = deployment.deployment_id
        allocations = after["number_of_allocations"]
        others = [self._demand(other, nodes) for other in self._deployments.values() if other is not deployment]
        beside = self._demand(deployment, nodes, trial=target, allocations=allocations)
        alone = dataclasses.replace(beside, held_memory_bytes={})
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
        entry = self._entry(deployment, request.action, actor, deployment.build_number, target.build_number, before,
                            after, outcome="in_progress")
        entry = dataclasses.replace(entry, entry_id=await asyncio.to_thread(self._store.add_history, entry))
        rollout = Rollout(request.action, deployment.revision, target, before, after, self._clock.now_ms(), entry,
                          allow_downtime=request.allow_downtime, gap=gap)
        deployment.rollout = rollout
        deployment.number_of_allocations = allocations
        deployment.adaptive_allocations = AdaptiveAllocations.from_settings(after)
        if not gap:
            self._apply(self._plan(list(self._deployments.values())))
        self._spawn(self._run_rollout(deployment, rollout))
        return rollout

    async def _run_rollout(self, deployment: Deployment, rollout: Rollout) -> None:
        try:
            if rollout.gap:
                await self._drain_routes(deployment, self._replace_serving(deployment, {}))
                async with self._lock:
                    if rollout.outcome != "in_progress":
                        return
                    self._apply(self._plan(list(self._deployments.values())))
            await self._new_routes_started(deployment, rollout)
            rollout.stage = "verifying"
            await self._verify(deployment, rollout)
            async with self._lock:
                if rollout.outcome != "in_progress":
                    return
                finished = dataclasses.replace(rollout.entry, outcome="succeeded", end_time_ms=self._clock.now_ms())
                # The store says the deployment runs the target from here on: a restart now comes back on it.
                await asyncio.to_thread(lambda: self._store.update(
                    deployment.deployment_id, settings=rollout.settings_after, build_number=rollout.target.build_number,
                    finish=finished))
                old = self._replace_serving(deployment, rollout.routes, rollout.target)
                deployment.rollout, deployment.last_rollout = None, rollout
                rollout.outcome, rollout.stage = "succeeded", "draining"
            await self._drain_routes(deployment, old)
            rollout.stage, rollout.end_time_ms = "done", self._clock.now_ms()
            async with self._lock:
                if not deployment.stopping:
                    self._apply(self._plan(list(self._deployments.values())))  # freed memory may fill shortfalls
        except RolloutFailed as failure:
            async with self._lock:
                if rollout.outcome == "in_progress":
                    await self._end_rollout(deployment, rollout, str(failure))
        except Exception as error:  # noqa: BLE001 - an unforeseen error must not leave the rollout blocking changes
            logger.exception("the [%s] of deployment [%s] broke", rollout.action, deployment.deployment_id)
            async with self._lock:
                if rollout.outcome == "in_progress":
                    await self._end_rollout(deployment, rollout, f"internal error: {error!r}")

    def _replace_serving(self, deployment: Deployment, routes: dict[str, Route],
                         revision: Revision | None = None) -> list[Route]:
        """Switch the routing table to `routes` in one step (no await: no request sees half of it); the old routes
        drain, holding their memory until they stop."""
        old = list(deployment.routes.values())
        for route in old:
            deployment.draining[route] = deployment.revision
        deployment.routes = routes
        if revision is not None:
            deployment.revision = revision
        return old

    async def _drain_routes(self, deployment: Deployment, routes: Sequence[Route]) -> None:
        await asyncio.gather(*(route.stop(self._limits.stop_timeout_s) for route in routes))
        for route in routes:
            deployment.draining.pop(route, None)

    async def _new_routes_started(self, deployment: Deployment, rollout: Rollout) -> None:
        deadline = self._clock.monotonic() + self._limits.rollout_start_timeout_s
        while True:
            if rollout.outcome != "in_progress":
                raise RolloutFailed(rollout.reason or "ended")
            routes = list(rollout.routes.values())
            for route in routes:
                if route.state is RouteState.FAILED:
                    raise RolloutFailed(f"the new worker on node [{route.node_id}] failed: {route.reason}")
            if (routes and all(route.state is RouteState.STARTED for route in routes)) or (
                    not routes and not deployment.number_of_allocations):
                return
            if self._clock.monotonic() >= deadline:
                raise RolloutFailed(f"the new workers did not serve within "
                                    f"[{self._limits.rollout_start_timeout_s:g}s]")
            await self._clock.sleep(WAIT_POLL_S)

    async def _verify(self, deployment: Deployment, rollout: Rollout) -> None:
        """One inference on each new worker before it takes traffic: a build that loads but cannot run fails here.
        A refusal of the check's input (4xx) means the model ran as far as the input allows: it passes."""
        options = probe_options(deployment.task_type, rollout.target.task_options)
        for node_id, route in list(rollout.routes.items()):
            try:
                await route.infer([PROBE_TEXT], options, PROBE_TIMEOUT_S, f"{PROBE_TIMEOUT_S:g}s")
            except InferdError as error:
                if error.status < 500 and error.status != 408:
                    logger.info("rollout of [%s]: the check inference on [%s] was refused: %s",
                                deployment.deployment_id, node_id, error)
                    continue
                raise RolloutFailed(f"the new worker on node [{node_id}] failed its check inference: {error}") from None

    async def _end_rollout(self, deployment: Deployment, rollout: Rollout, reason: str) -> None:
        """A rollout that fails (or is cut short by a stop) ends where it was: its new workers stop, the old ones
        keep (or, after a gap, resume) serving with the earlier settings, and the history says why."""
        now_ms = self._clock.now_ms()
        rollout.outcome, rollout.reason, rollout.end_time_ms = "failed", reason, now_ms
        if rollout.entry is not None:
            finished = dataclasses.replace(rollout.entry, outcome="failed", reason=reason, end_time_ms=now_ms)
            await asyncio.to_thread(self._store.finish_history, finished)
        logger.error("the [%s] of deployment [%s] failed: %s", rollout.action, deployment.deployment_id, reason)
        incoming = list(rollout.routes.values())
        for route in incoming:
            deployment.draining[route] = rollout.target
        deployment.rollout, deployment.last_rollout = None, rollout
        deployment.number_of_allocations = rollout.settings_before["number_of_allocations"]
        deployment.adaptive_allocations = AdaptiveAllocations.from_settings(rollout.settings_before)
        if not deployment.stopping:
            self._spawn(self._drain_routes(deployment, incoming))
            self._apply(self._plan(list(self._deployments.values())))

    async def _wait_for_rollout(self, deployment: Deployment, rollout: Rollout, request: RolloutRequest) -> None:
        if request.wait_for == "none":
            return
        deadline = self._clock.monotonic() + request.timeout_s
        while True:
            if rollout.outcome == "failed":
                raise InferdError(f"The [{rollout.action}] of deployment [{deployment.deployment_id}] failed: "
                                  f"{rollout.reason}; build [{rollout.source.build_number}] serves as before")
            if rollout.stage == "done" or (request.wait_for == "shifted" and rollout.shifted):
                return
            if self._clock.monotonic() >= deadline:
                raise RequestTimeout(
                    f"Timed out after [{request.timeout_text}] waiting for the [{rollout.action}] of deployment "
                    f"[{deployment.deployment_id}]; it goes on: GET /_inferd/deployments/{deployment.deployment_id} "
                    "shows its progress"
                )
            await self._clock.sleep(WAIT_POLL_S)


def _in_place(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Only the allocations change: the running workers resize, no new one is needed."""
    return all(before[name] == after[name] for name in REVISION_SETTINGS)
