"""Rollouts through the manager: a new build, a rollback and a restart take the traffic with no failed request
(each answer names its build: MarkedEchoModel), new threads start a worker beside the old one, a build that cannot
run leaves the old one serving, a stop cuts a rollout short, memory that cannot hold both sets of workers means a
gap or a refusal, and a change of allocations alone resizes in place."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from inferd.cluster.nodes import Node
from inferd.control.changes import ChangeSignal
from inferd.control.lifecycle import AssignmentState, Lifecycle
from inferd.control.rollout import PROBE_TEXT, RolloutOutcome, RolloutStage
from inferd.errors import InferdError, StatusConflict, TooManyRequests
from inferd.runtime.protocol import InferBatch, LoadModel, SetAllocations, Shutdown
from inferd.runtime.states import RouteState
from tests.support.build_models import marker_of
from tests.support.core import (
    GIB,
    Core,
    CoreModels,
    add_build,
    add_model,
    core_on,
    documents,
    rollout_request,
    run,
    start_request,
    until,
)
from tests.support.workers import ScriptedChannel, WorkerKind, batch_texts, wait_until

MIB = 1024**2
CLIENTS = 4


class Traffic:
    """Clients sending inferences without pause while a rollout runs; which build answered each, by when it was
    sent (before or after the rollout call returned), and every failure."""

    def __init__(self, core: Core, deployment_id: str) -> None:
        self._core = core
        self._deployment_id = deployment_id
        self.before: list[int] = []
        self.after: list[int] = []
        self.failures: list[Exception] = []
        self.returned = False
        self.changes = ChangeSignal()
        self._running = True
        self._clients: list[asyncio.Task[None]] = []

    def __enter__(self) -> Traffic:
        self._clients = [asyncio.create_task(self._client()) for _ in range(CLIENTS)]
        return self

    def __exit__(self, *_: object) -> None:
        self._running = False

    async def stopped(self) -> None:
        self._running = False
        await asyncio.gather(*self._clients)

    async def _client(self) -> None:
        while self._running:
            returned = self.returned
            try:
                (result,) = await self._core.manager.infer(self._deployment_id, documents("the cat"), None, 30, "30s")
            except InferdError as error:
                self.failures.append(error)
                await asyncio.sleep(0)  # a refusal may come without a pause: let the rest of the test run
            else:
                (self.after if returned else self.before).append(marker_of(result))
            self.changes.notify()

    async def answers(self, *, after: bool) -> None:
        """Wait until each client could have had an answer sent before (or after) the rollout call returned."""
        answers = self.after if after else self.before
        await wait_until(self.changes, lambda: len(answers) >= CLIENTS, f"{CLIENTS} answers")


async def infer_marker(core: Core, deployment_id: str = "m") -> int:
    (result,) = await core.manager.infer(deployment_id, documents("hello world"), None, 30, "30s")
    return marker_of(result)


def test_a_new_build_takes_the_traffic_without_a_failed_request_and_the_old_workers_stop(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.INPROCESS) as core:
        add_model(core, "m", core_models.marked_1)
        manager = core.manager

        async def scenario() -> None:
            await manager.start(start_request("m"))
            assert add_build(core, "m", core_models.marked_2) == 2  # after the start: the newest is the default
            deployment = manager.get("m")
            (old,) = deployment.routes.values()
            with Traffic(core, "m") as traffic:
                await traffic.answers(after=False)
                view, rollout = await manager.roll_out("m", rollout_request(
                    "redeploy", {"build": 2, "number_of_allocations": 2}), actor="tester")
                traffic.returned = True
                await traffic.answers(after=True)
                await traffic.stopped()
            assert traffic.failures == []
            assert set(traffic.after) == {2} and 1 in traffic.before
            assert (rollout.outcome, rollout.stage) == (RolloutOutcome.SUCCEEDED, RolloutStage.DONE)
            assert (view.build_number, view.lifecycle, view.allocation_count) == (2, Lifecycle.DEPLOYED, 2)
            assert old.state is RouteState.STOPPED and deployment.draining == []
            assert [route.revision.build_number for route in deployment.routes.values()] == [2]
            assert core.deployments.get("m").build_number == 2  # a restarted server comes back on build 2
            entry = core.deployments.history("m")[0]
            assert (entry.action, entry.actor, entry.build_before, entry.build_after, entry.outcome) == (
                "redeploy", "tester", 1, 2, "succeeded")
            assert (entry.settings_before["number_of_allocations"], entry.settings_after["number_of_allocations"]) == (
                1, 2)

            view, rollout = await manager.roll_out("m", rollout_request("rollback"))
            assert (rollout.source.build_number, rollout.target.build_number) == (2, 1)
            assert view.settings.number_of_allocations == 1  # the settings build 1 had
            assert await infer_marker(core) == 1
            actions = [(e.action, e.build_before, e.build_after, e.outcome) for e in core.deployments.history("m")]
            assert actions == [("rollback", 2, 1, "succeeded"), ("redeploy", 1, 2, "succeeded"),
                               ("start", None, 1, "succeeded")]

        run(core, scenario)


def test_a_restart_replaces_every_worker_without_a_failed_request(tmp_path: Path, core_models: CoreModels) -> None:
    with core_on(tmp_path, WorkerKind.INPROCESS) as core:
        add_model(core, "m", core_models.marked_1)
        manager = core.manager

        async def scenario() -> None:
            await manager.start(start_request("m"))
            deployment = manager.get("m")
            (old,) = deployment.routes.values()
            with Traffic(core, "m") as traffic:
                await traffic.answers(after=False)
                _, rollout = await manager.roll_out("m", rollout_request("restart"))
                traffic.returned = True
                await traffic.answers(after=True)
                await traffic.stopped()
            assert traffic.failures == [] and set(traffic.before + traffic.after) == {1}
            assert (rollout.outcome, rollout.stage) == (RolloutOutcome.SUCCEEDED, RolloutStage.DONE)
            (new,) = deployment.routes.values()
            assert new is not old and old.state is RouteState.STOPPED and len(core.backend.started) == 2
            assert core.deployments.history("m")[0].action == "restart"

        run(core, scenario)


def test_new_threads_per_allocation_start_a_new_worker_beside_the_old_one(
    tmp_path: Path, core_models: CoreModels
) -> None:
    """On 2 processors, 1x1 to 1x2: the planner charges processors for the target only, so both workers run."""
    with core_on(tmp_path, WorkerKind.SCRIPTED, nodes=(Node("node-0", 2, 8 * GIB),)) as core:
        add_model(core, "m", core_models.marked_1)
        manager = core.manager

        async def scenario() -> None:
            old = await rollout_in_progress(core, "redeploy", {"threads_per_allocation": 2})
            (_, started) = await core.backend.wait_started(2)
            new = started.script
            assert new is not None and old.of(Shutdown) == []  # beside the old one, which still serves
            await new.wait_sent(LoadModel)
            assert (new.load.threads_per_allocation, old.load.threads_per_allocation) == (2, 1)
            new.ready()
            (check,) = await new.wait_sent(InferBatch)
            new.answer(check)
            await old.wait_sent(Shutdown)  # the switch: the old worker drains and stops
            view = manager.view("m")
            assert view.settings.threads_per_allocation == 2 and [r.threads_per_allocation for r in view.routes] == [2]

        run(core, scenario)


def test_a_build_that_fails_its_check_leaves_the_old_build_serving_and_the_history_says_why(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.INPROCESS) as core:
        add_model(core, "m", core_models.marked_1)
        manager = core.manager

        async def scenario() -> None:
            await manager.start(start_request("m"))
            broken = add_build(core, "m", core_models.broken)
            deployment = manager.get("m")
            with Traffic(core, "m") as traffic:
                await traffic.answers(after=False)
                with pytest.raises(InferdError) as failed:
                    await manager.roll_out("m", rollout_request("redeploy", {"build": broken}))
                traffic.returned = True
                await traffic.answers(after=True)
                await traffic.stopped()
            assert failed.value.status == 500
            reason = failed.value.reason
            assert reason.startswith("The [redeploy] of deployment [m] failed: the new worker on node [node-0] "
                                     "failed its check inference: ")
            assert "this build cannot run a forward pass" in reason and reason.endswith("build [1] serves as before")
            assert traffic.failures == [] and set(traffic.before + traffic.after) == {1}
            view = manager.view("m")
            assert (view.build_number, view.lifecycle, view.state) == (1, Lifecycle.DEPLOYED, AssignmentState.STARTED)
            assert view.rollout is not None and view.rollout.outcome is RolloutOutcome.FAILED
            await until(deployment, lambda: not deployment.draining, "the new worker to stop")
            entry = core.deployments.history("m")[0]
            assert (entry.action, entry.build_after, entry.outcome) == ("redeploy", broken, "failed")
            assert entry.reason is not None and "this build cannot run a forward pass" in entry.reason
            assert core.deployments.get("m").build_number == 1

        run(core, scenario)


def test_a_change_of_allocations_alone_resizes_the_running_worker_in_place(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.marked_1)
        manager = core.manager

        async def scenario() -> None:
            starting = asyncio.create_task(manager.start(start_request("m")))
            (worker,) = await core.backend.ready(1)
            await starting
            view, rollout = await manager.roll_out("m", rollout_request("redeploy", {"number_of_allocations": 3}))
            assert (rollout.stage, rollout.outcome, rollout.entry) == (RolloutStage.DONE, RolloutOutcome.SUCCEEDED,
                                                                       None)
            assert worker.of(SetAllocations) == [SetAllocations(3)]
            assert len(core.backend.started) == 1  # no new worker
            assert [route.allocations for route in view.routes] == [3]
            entry = core.deployments.history("m")[0]
            assert (entry.action, entry.outcome, entry.build_before, entry.build_after) == ("redeploy", "succeeded",
                                                                                          1, 1)
            _, unchanged = await manager.roll_out("m", rollout_request("redeploy", {"number_of_allocations": 3}))
            assert unchanged.reason == "nothing to change" and len(core.deployments.history("m")) == 2

        run(core, scenario)


async def rollout_in_progress(core: Core, action: str, body: dict[str, Any] | None = None) -> ScriptedChannel:
    """`m` serving on a scripted worker, then a rollout started (not awaited); returns the serving worker."""
    starting = asyncio.create_task(core.manager.start(start_request("m")))
    (serving,) = await core.backend.ready(1)
    await starting
    await core.manager.roll_out("m", rollout_request(action, body, wait_for="none"))
    return serving


def test_a_stop_during_a_rollout_ends_it_and_the_history_says_so(tmp_path: Path, core_models: CoreModels) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.marked_1)
        manager = core.manager

        async def scenario() -> None:
            serving = await rollout_in_progress(core, "restart")
            deployment = manager.get("m")
            rollout = deployment.rollout
            assert rollout is not None and rollout.stage is RolloutStage.STARTING
            waiting = asyncio.create_task(manager.roll_out("m", rollout_request("restart")))
            await asyncio.sleep(0)
            (incoming,) = (await core.backend.wait_started(2))[1:]  # the new worker loads, and never says ready
            with pytest.raises(StatusConflict, match=r"the \[restart\] of deployment \[m\] is in progress"):
                await waiting
            assert await manager.stop("m", allow_no_match=False) == ["m"]
            assert (rollout.outcome, rollout.reason) == (RolloutOutcome.FAILED, "the deployment was stopped")
            assert serving.of(Shutdown) == [Shutdown()] and incoming.script is not None and incoming.script.ended
            entries = core.deployments.history("m")
            assert [(e.action, e.outcome) for e in entries] == [("stop", "succeeded"), ("restart", "failed"),
                                                                 ("start", "succeeded")]
            assert entries[1].reason == "the deployment was stopped"

        run(core, scenario)


def test_when_memory_cannot_hold_both_builds_a_rollout_is_refused_or_with_allow_downtime_has_a_gap(
    tmp_path: Path, core_models: CoreModels
) -> None:
    """One worker's estimate (240 MiB and the model) fits in 400 MiB, two do not."""
    with core_on(tmp_path, WorkerKind.SCRIPTED, nodes=(Node("node-0", 2, 400 * MIB),)) as core:
        add_model(core, "m", core_models.marked_1)
        manager = core.manager

        async def scenario() -> None:
            starting = asyncio.create_task(manager.start(start_request("m")))
            (old,) = await core.backend.ready(1)
            await starting
            with pytest.raises(TooManyRequests) as refused:
                await manager.roll_out("m", rollout_request("restart"))
            assert "cannot hold its old and new workers at once" in refused.value.reason
            assert "Set [allow_downtime] to true" in refused.value.reason
            assert [entry.action for entry in core.deployments.history("m")] == ["start"]  # nothing began

            deployment = manager.get("m")
            _, rollout = await manager.roll_out("m", rollout_request(
                "restart", {"allow_downtime": True}, wait_for="none"))
            assert rollout.gap
            await old.wait_sent(Shutdown)  # the old worker stops first ...
            (_, started) = await core.backend.wait_started(2)  # ... then the new one starts, once it has
            assert old.ended and started.script is not None
            with pytest.raises(StatusConflict, match=r"is not allocated to any nodes"):  # the gap
                await manager.infer("m", documents("the cat"), None, 30, "30s")
            new = started.script
            await new.wait_sent(LoadModel)
            new.ready()
            (check,) = await new.wait_sent(InferBatch)  # one inference checks the new worker before it serves
            assert batch_texts(check) == [[PROBE_TEXT]]
            new.answer(check)
            await until(deployment, lambda: rollout.stage is RolloutStage.DONE, "the rollout to finish")
            request = asyncio.create_task(manager.infer("m", documents("the cat"), None, 30, "30s"))
            (_, served) = await new.wait_sent(InferBatch, 2)
            new.answer(served)
            assert await request == [{"echo": "the cat"}]
            assert core.deployments.history("m")[0].outcome == "succeeded"

        run(core, scenario)
