"""Starting and stopping deployments through the manager: `wait_for` woken by the change it waits for (never by
time passing), a deployment that cannot load is removed with its reason, a stop drains what was admitted, and
`restore()` starts again what the store holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inferd.cluster.nodes import Node
from inferd.control import RuntimeLimits
from inferd.control.deployment_request import UpdateRequest
from inferd.control.lifecycle import AllocationState, AssignmentState
from inferd.errors import InferdError, RequestTimeout, StatusConflict, TooManyRequests
from inferd.cluster.backend import SurvivingWorker
from inferd.runtime.protocol import InferBatch, LoadFailed, LoadModel, Shutdown, model_fingerprint
from inferd.runtime.states import RouteState
from tests.support.api import echo_rows
from tests.support.core import GIB, CoreModels, add_model, core_on, documents, run, start_request, until
from tests.support.models import TestModel
from tests.support.workers import ScriptedChannel, WorkerKind

SMALL_NODES = tuple(Node(f"node-{index}", 1, 8 * GIB) for index in range(4))
"""One processor each: two allocations of one thread take two nodes, a route on each."""


def predicted(results: list[dict[str, object]]) -> list[object]:
    return [result["predicted_value"] for result in results]


def test_wait_for_starting_started_and_fully_allocated_each_return_on_the_change_they_wait_for(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED, nodes=SMALL_NODES) as core:
        add_model(core, "m", core_models.echo)
        manager, backend = core.manager, core.backend

        async def scenario() -> None:
            view = await manager.start(start_request("m", number_of_allocations="2", wait_for="starting"))
            assert (view.state, view.allocation_count) == (AssignmentState.STARTING, 0)
            await manager.stop("m", allow_no_match=False)

            started = asyncio.create_task(manager.start(start_request(
                "m", deployment_id="a", number_of_allocations="2", wait_for="started")))
            await backend.wait_started(2 + 2)
            full = asyncio.create_task(manager.start(start_request(
                "m", deployment_id="b", number_of_allocations="2", wait_for="fully_allocated")))
            await backend.wait_started(2 + 4)
            a0, a1, b0, b1 = backend.scripts()[2:]
            for script in (a0, b0):
                await script.wait_sent(LoadModel)
                script.ready()
            view = await started  # one of its routes serves: started, not yet fully allocated
            assert (view.state, view.allocation_state, view.allocation_count) == (
                AssignmentState.STARTED, AllocationState.STARTED, 1)
            await asyncio.sleep(0)
            assert not full.done()
            await b1.wait_sent(LoadModel)
            b1.ready()
            view = await full
            assert (view.allocation_state, view.allocation_count) == (AllocationState.FULLY_ALLOCATED, 2)
            assert core.clock.monotonic() == 0.0  # nothing waited for time to pass
            assert not a1.loaded

        run(core, scenario)


def test_a_wait_that_times_out_answers_408_and_the_deployment_goes_on(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)

        async def scenario() -> None:
            waiting = asyncio.create_task(core.manager.start(start_request("m", timeout="5s")))
            await core.backend.wait_started(1)
            core.clock.advance(4.9)
            await asyncio.sleep(0)
            assert not waiting.done()
            core.clock.advance(0.1)
            with pytest.raises(RequestTimeout) as timed_out:
                await waiting
            assert timed_out.value.reason == (
                "Timed out after [5s] waiting for trained model deployment [m] to start. Use the trained model "
                "stats API to track the state of the deployment and try again once it has started.")
            await core.backend.ready(1)
            assert core.manager.get("m").state is AssignmentState.STARTED

        run(core, scenario)


def test_a_deployment_that_cannot_load_is_removed_and_its_history_says_why(
    tmp_path: Path, core_models: CoreModels
) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"PK\x03\x04 this is no TorchScript archive")
    echo = core_models.echo
    unloadable = TestModel("echo", garbage, echo.config, echo.vocabulary, garbage.stat().st_size)
    with core_on(tmp_path, WorkerKind.INPROCESS) as core:
        add_model(core, "m", unloadable)

        async def scenario() -> None:
            with pytest.raises(InferdError) as failed:
                await core.manager.start(start_request("m"))
            assert failed.value.status == 500
            assert failed.value.reason.startswith("Could not start deployment [m]: Could not load the model: ")
            assert not core.manager.has("m")
            assert core.deployments.get("m") is None
            (entry, start) = core.deployments.history("m")
            assert (entry.action, entry.outcome, start.action) == ("failure", "failed", "start")
            assert entry.reason is not None and entry.reason.startswith("Could not load the model: ")

        run(core, scenario)


def test_a_worker_that_cannot_be_started_fails_the_start(tmp_path: Path, core_models: CoreModels) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)
        core.backend.start_failure = OSError(24, "Too many open files")

        async def scenario() -> None:
            with pytest.raises(InferdError, match=r"could not start the worker process: \[Errno 24\] Too many open"):
                await core.manager.start(start_request("m"))
            assert not core.manager.has("m")

        run(core, scenario)


def test_a_deployment_that_fits_nowhere_is_refused_and_nothing_is_stored(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)

        async def scenario() -> None:
            with pytest.raises(TooManyRequests) as refused:
                await core.manager.start(start_request("m", threads_per_allocation="8"))
            assert refused.value.reason == (
                "Could not start deployment because no ML nodes with sufficient capacity were found")
            assert not core.manager.has("m") and core.deployments.get("m") is None
            assert core.deployments.history("m") == [] and core.backend.started == []

        run(core, scenario)


def test_beyond_the_limit_of_deployments_a_start_is_refused(tmp_path: Path, core_models: CoreModels) -> None:
    with core_on(tmp_path, WorkerKind.INPROCESS, limits=RuntimeLimits(max_deployments=2)) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            for deployment_id in ("a", "b"):
                await manager.start(start_request("m", deployment_id=deployment_id))
            with pytest.raises(TooManyRequests) as refused:
                await manager.start(start_request("m", deployment_id="c"))
            assert refused.value.reason == (
                "Could not start model deployment because existing deployments reached the limit of [2]")
            assert not manager.has("c") and core.deployments.get("c") is None

        run(core, scenario)


def test_a_stop_answers_what_was_admitted_then_ends_the_worker_and_keeps_the_deployment_stopped(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            starting = asyncio.create_task(manager.start(start_request("m", body={"inferd": {"max_batch_documents": 1}})))
            (worker,) = await core.backend.ready(1)
            await starting
            admitted = [asyncio.create_task(manager.infer("m", documents(text), None, 60, "60s")) for text in "ab"]
            (first,) = await worker.wait_sent(InferBatch)
            deployment = manager.get("m")
            stopping = asyncio.create_task(manager.stop("m", allow_no_match=False))
            await until(deployment, lambda: deployment.stopping, "the stop to begin")
            with pytest.raises(StatusConflict, match=r"Trained model \[m\] is \[stopping\]"):
                await manager.infer("m", documents("c"), None, 60, "60s")
            worker.answer(first)
            (_, second) = await worker.wait_sent(InferBatch, 2)
            assert worker.of(Shutdown) == []
            worker.answer(second)
            assert await stopping == ["m"]
            assert worker.of(Shutdown) == [Shutdown()]
            assert [await request for request in admitted] == [[{"echo": "a"}], [{"echo": "b"}]]
            assert not manager.has("m")
            assert [record.deployment_id for record in await manager.stopped()] == ["m"]
            assert [entry.action for entry in core.deployments.history("m")] == ["stop", "start"]

            again = asyncio.create_task(manager.start_again("m", "started", 30, "30s"))
            await core.backend.ready(2)
            view = await again
            assert view.settings.max_batch_documents == 1 and view.state is AssignmentState.STARTED
            assert [entry.action for entry in core.deployments.history("m")] == ["start_again", "stop", "start"]

        run(core, scenario)


def test_restore_starts_the_stored_deployments_again_with_their_settings(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.INPROCESS) as core:
        add_model(core, "m", core_models.echo)
        add_model(core, "gone", core_models.echo)
        manager = core.manager

        async def before() -> None:
            await manager.start(start_request("m", number_of_allocations="1", queue_capacity="7"))
            await manager.update("m", UpdateRequest(number_of_allocations=2, adaptive_allocations=None))
            await manager.start(start_request("m", deployment_id="low", priority="low"))
            await manager.start(start_request("m", deployment_id="stopped"))
            await manager.stop("stopped", allow_no_match=False)
            await manager.start(start_request("gone"))

        run(core, before)  # the manager shuts down: its workers end, the store keeps the deployments
        core.registry.delete_model("gone")  # the deployment row stays behind, as after a crash mid-delete

    with core_on(tmp_path, WorkerKind.INPROCESS) as core:
        manager = core.manager

        async def after() -> None:
            restored = await manager.restore()
            assert sorted(deployment.deployment_id for deployment in restored) == ["low", "m"]
            assert await manager.wait_settled(restored, 30)
            view = manager.view("m")
            assert (view.settings.number_of_allocations, view.settings.queue_capacity) == (2, 7)
            assert (view.state, view.allocation_count) == (AssignmentState.STARTED, 2)
            assert manager.view("low").settings.priority == "low"
            assert not manager.has("stopped") and not manager.has("gone")
            assert core.deployments.get("gone") is None  # its model is gone: so is the deployment
            results = await manager.infer("low", documents("the cat"), None, 30, "30s")
            assert predicted(results) == [echo_rows("the cat")]
            assert {route.state for route in manager.get("m").routes.values()} == {RouteState.STARTED}

        run(core, after)


def test_a_worker_that_fails_to_load_on_restore_leaves_the_deployment_failed_with_the_reason(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)

        async def before() -> None:
            starting = asyncio.create_task(core.manager.start(start_request("m")))
            await core.backend.ready(1)
            await starting

        run(core, before)

    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        manager = core.manager

        async def after() -> None:
            (deployment,) = await manager.restore()
            (worker,) = await core.backend.wait_started(1)
            assert worker.script is not None
            await worker.script.wait_sent(LoadModel)
            worker.script.reply(LoadFailed("OSError: the definition file is unreadable"))
            assert await manager.wait_settled([deployment], 30)
            assert deployment.state is AssignmentState.FAILED
            assert deployment.failure_reasons == "Could not load the model: OSError: the definition file is unreadable"

        run(core, after)


def test_restore_adopts_the_surviving_worker_of_a_stored_deployment_and_stops_the_ones_nobody_wants(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED, nodes=SMALL_NODES) as core:
        add_model(core, "m", core_models.echo)

        async def before() -> None:
            starting = asyncio.create_task(core.manager.start(start_request("m", number_of_allocations="2")))
            await core.backend.ready(2)
            await starting

        run(core, before)  # as after a crash, the store holds the deployment and its build
        served = model_fingerprint(core.backend.scripts()[0].load)

    with core_on(tmp_path, WorkerKind.SCRIPTED, nodes=SMALL_NODES) as core:
        manager, backend = core.manager, core.backend
        survivor = ScriptedChannel("survivor")
        wanted = SurvivingWorker("node-2", "m", survivor.pid, served)
        other_build = SurvivingWorker("node-1", "m", 901, "the fingerprint of another build")
        stopped_meanwhile = SurvivingWorker("node-3", "stopped-meanwhile", 902, served)
        backend.survivors = [(other_build, ScriptedChannel("old-build")), (wanted, survivor),
                             (stopped_meanwhile, ScriptedChannel("unwanted"))]

        async def after() -> None:
            restoring = asyncio.create_task(manager.restore())
            await survivor.wait_sent(LoadModel)
            assert not restoring.done()  # restore returns once the adopted worker serves
            assert survivor.load.allocations == 1 and model_fingerprint(survivor.load) == served
            survivor.ready()
            (deployment,) = await restoring
            assert deployment.routes["node-2"].state is RouteState.STARTED
            assert backend.stopped_survivors == [other_build, stopped_meanwhile]
            # The second allocation is placed as usual, on a new worker elsewhere; none was started on node-2.
            (fresh,) = await backend.wait_started(1)
            assert fresh.node_id != "node-2"
            inference = asyncio.create_task(manager.infer("m", documents("the cat"), None, 30, "30s"))
            (batch,) = await survivor.wait_sent(InferBatch)
            survivor.answer(batch)
            assert await inference == [{"echo": "the cat"}]

        run(core, after)
