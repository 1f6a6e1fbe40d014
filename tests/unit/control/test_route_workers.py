"""Crashed workers through the manager (`RouteWorkers`), on scripted workers and a fake clock: restarts after 1 s,
2 s and 4 s, the fourth crash in the window leaves the route failed for good and says so, in-flight requests
fail while queued ones wait for the new worker, and a request whose worker died is retried once elsewhere."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inferd.cluster.nodes import Node
from inferd.control.lifecycle import AssignmentState, Lifecycle
from inferd.errors import StatusConflict, WorkerDied
from inferd.runtime.protocol import InferBatch, LoadModel
from inferd.runtime.states import RouteState
from tests.support.core import (
    GIB,
    Core,
    CoreModels,
    add_model,
    core_on,
    documents,
    history_until,
    run,
    start_request,
    until,
)
from tests.support.workers import ScriptedChannel, WorkerKind, batch_texts

FAILED_FOR_GOOD = "the worker crashed 4 times within 600s: stop and start the deployment again"


async def deployed(core: Core, **query: str) -> ScriptedChannel:
    """Start `m` and let its worker load; returns the worker."""
    starting = asyncio.create_task(core.manager.start(start_request("m", **query)))
    (worker,) = await core.backend.ready(1)
    await starting
    return worker


async def next_worker(core: Core, count: int) -> ScriptedChannel:
    """The `count`th worker started, once it has been told what to load."""
    started = await core.backend.wait_started(count)
    script = started[count - 1].script
    assert script is not None
    await script.wait_sent(LoadModel)
    return script


def test_a_crashed_worker_restarts_after_1_2_and_4_seconds_then_the_route_fails_for_good(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)
        manager, clock = core.manager, core.clock

        async def scenario() -> None:
            worker = await deployed(core)
            deployment = manager.get("m")
            (route,) = deployment.routes.values()
            for count, pause_s in enumerate((1.0, 2.0, 4.0), start=2):
                crashed_at = clock.monotonic()
                worker.exit(-9)
                assert route.state is RouteState.FAILED and route.recovering
                assert deployment.state is AssignmentState.STARTING  # restarting: not failed
                await asyncio.sleep(0)  # the restart begins its pause
                clock.advance(pause_s - 0.25)
                await asyncio.sleep(0)
                assert len(core.backend.started) == count - 1
                clock.advance(0.25)
                worker = await next_worker(core, count)
                assert core.backend.started[-1].started_at == crashed_at + pause_s
                assert route.state is RouteState.STARTING and route.restarts == count - 1
                worker.ready()
                assert route.state is RouteState.STARTED and deployment.state is AssignmentState.STARTED
                clock.advance(10.0)  # serves a while, well inside the 600 s window

            worker.exit(-9)  # the fourth crash within the window
            assert route.failed_for_good
            assert route.reason == f"inference process exited with code [-9]; {FAILED_FOR_GOOD}"
            assert (deployment.state, deployment.lifecycle) == (AssignmentState.FAILED, Lifecycle.FAILED)
            clock.advance(3600.0)
            await asyncio.sleep(0)
            assert len(core.backend.started) == 4  # nothing restarts it
            with pytest.raises(StatusConflict, match=r"Trained model \[m\] is \[failed\]"):
                await manager.infer("m", documents("the cat"), None, 30, "30s")
            history = await history_until(core, "m", lambda entries: entries[0].action == "failure",
                                          "the failure")
            assert (history[0].outcome, history[0].actor) == ("failed", "_inferd")
            assert history[0].reason == (
                f"the worker on node [node-0] failed for good: inference process exited with code [-9]; "
                f"{FAILED_FOR_GOOD}")

        run(core, scenario)


def test_crashes_further_apart_than_the_window_restart_after_a_second_each_time(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)
        clock = core.clock

        async def scenario() -> None:
            worker = await deployed(core)
            for count in range(2, 7):
                crashed_at = clock.monotonic()
                worker.exit(-9)
                await asyncio.sleep(0)  # the restart begins its pause
                clock.advance(1.0)
                worker = await next_worker(core, count)
                assert core.backend.started[-1].started_at == crashed_at + 1.0
                worker.ready()
                clock.advance(600.0)  # the earlier crash leaves the window

        run(core, scenario)


def test_a_crash_fails_the_requests_its_worker_held_and_the_queued_ones_go_to_the_new_worker(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            worker = await deployed(core, body={"inferd": {"max_batch_documents": 1}})
            held = asyncio.create_task(manager.infer("m", documents("a"), None, 60, "60s"))
            await worker.wait_sent(InferBatch)
            queued = asyncio.create_task(manager.infer("m", documents("b"), None, 60, "60s"))
            (route,) = manager.get("m").routes.values()
            await until(manager.get("m"), lambda: route.pending_documents == 2, "the second request to queue")
            worker.stderr = "RuntimeError: CUDA error"
            worker.exit(1)
            with pytest.raises(WorkerDied) as died:  # its only route crashed: no other to retry on
                await held
            assert died.value.reason == (
                "Error in inference process: [inference process exited with code [1]: RuntimeError: CUDA error]")
            core.clock.advance(1.0)  # the restart began its pause while the test awaited
            replacement = await next_worker(core, 2)
            await asyncio.sleep(0)
            assert not queued.done()
            replacement.ready()
            (batch,) = await replacement.wait_sent(InferBatch)
            assert batch_texts(batch) == [["b"]]
            replacement.answer(batch)
            assert await queued == [{"echo": "b"}]
            counts = manager.view("m").routes[0].counts
            assert (counts.error_count, counts.inference_count, counts.restarts) == (1, 1, 1)

        run(core, scenario)


def test_a_request_whose_worker_died_is_retried_once_on_another_serving_route(
    tmp_path: Path, core_models: CoreModels
) -> None:
    nodes = (Node("node-0", 1, 8 * GIB), Node("node-1", 1, 8 * GIB))
    with core_on(tmp_path, WorkerKind.SCRIPTED, nodes=nodes) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            starting = asyncio.create_task(manager.start(start_request("m", number_of_allocations="2")))
            workers = await core.backend.ready(2)
            await starting
            request = asyncio.create_task(manager.infer("m", documents("a"), None, 60, "60s"))
            await until(manager.get("m"), lambda: any(worker.of(InferBatch) for worker in workers), "a batch")
            (first,) = [worker for worker in workers if worker.of(InferBatch)]
            (other,) = [worker for worker in workers if worker is not first]
            first.exit(-9)
            (retried,) = await other.wait_sent(InferBatch)
            assert batch_texts(retried) == [["a"]]
            other.answer(retried)
            assert await request == [{"echo": "a"}]

            # Once only: when the retry's worker dies too, the caller is told.
            request = asyncio.create_task(manager.infer("m", documents("b"), None, 60, "60s"))
            (_, again) = await other.wait_sent(InferBatch, 2)
            assert batch_texts(again) == [["b"]]
            other.exit(-9)
            with pytest.raises(WorkerDied):
                await request

        run(core, scenario)


def test_a_deployment_stopped_during_the_back_off_starts_no_new_worker(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            worker = await deployed(core)
            worker.exit(-9)
            queued = asyncio.create_task(manager.infer("m", documents("a"), None, 60, "60s"))
            await until(manager.get("m"), lambda: manager.get("m").routes["node-0"].pending_documents == 1,
                        "the request to wait for the restart")
            assert await manager.stop("m", allow_no_match=False) == ["m"]
            with pytest.raises(WorkerDied, match=r"stopped on node \[node-0\]"):
                await queued
            core.clock.advance(60.0)
            await asyncio.sleep(0)
            assert len(core.backend.started) == 1

        run(core, scenario)


def test_a_restart_whose_worker_cannot_start_leaves_the_route_failed_for_good_saying_why(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)

        async def scenario() -> None:
            worker = await deployed(core)
            deployment = core.manager.get("m")
            core.backend.start_failure = OSError(12, "Cannot allocate memory")
            worker.exit(-9)
            failed = asyncio.create_task(until(deployment, lambda: deployment.state is AssignmentState.FAILED,
                                               "the deployment to fail"))  # woken by the change, not by chance
            await asyncio.sleep(0)  # the restart begins its pause
            core.clock.advance(1.0)
            await failed
            (route,) = deployment.routes.values()
            reason = ("inference process exited with code [-9]; could not restart the worker process: [Errno 12] "
                      "Cannot allocate memory")
            assert route.failed_for_good and route.reason == reason
            history = await history_until(core, "m", lambda entries: entries[0].action == "failure", "the failure")
            assert history[0].reason == f"the worker on node [node-0] failed for good: {reason}"

        run(core, scenario)
