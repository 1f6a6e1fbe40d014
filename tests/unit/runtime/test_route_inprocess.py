"""A route with the real worker code on a thread (`inprocess_channel.py`): the same protocol, allocation threads,
cache and TorchScript model as a worker process, with no process to start."""

from __future__ import annotations

import os

import pytest

from inferd.control.changes import ChangeSignal
from inferd.errors import WorkerDied
from inferd.runtime.inprocess_channel import start_inprocess_worker
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState
from tests.support.api import echo_rows
from tests.support.clock import FakeClock
from tests.support.control import make_revision
from tests.support.core import CoreModels
from tests.support.models import SLOW_WORD, TestModel
from tests.support.workers import LONG_S, run_scenario, submit, wait_until


def route_of(model: TestModel, changes: ChangeSignal, *, allocations: int = 1) -> Route:
    """A route of the model's revision, its worker started in-process and told to load it (on the running loop)."""
    options = model.config["inference_config"]["pass_through"]
    revision = make_revision(definition_path=str(model.definition_path), tokenization=options["tokenization"],
                             vocabulary=model.vocabulary["vocabulary"], queue_capacity=100)
    route = Route("d", "node-0", revision, allocations, FakeClock(), on_change=changes.notify)
    route.attach(start_inprocess_worker("test"))
    return route


async def started(route: Route, changes: ChangeSignal) -> None:
    await wait_until(changes, lambda: route.state is not RouteState.STARTING, "the worker to load")
    assert route.state is RouteState.STARTED, route.reason


def test_the_worker_loads_answers_resizes_reports_and_stops(core_models: CoreModels) -> None:
    async def scenario() -> None:
        changes = ChangeSignal()
        route = route_of(core_models.echo, changes)
        await started(route, changes)
        results = await route.infer(["the cat", "a dog"], {}, LONG_S, "1h")
        assert [result["predicted_value"] for result in results] == [echo_rows("the cat"), echo_rows("a dog")]
        stats = await route.worker_stats()
        assert stats is not None
        assert (stats.pid, stats.load_count, stats.allocations, stats.batches) == (os.getpid(), 1, 1, 1)
        route.set_allocations(2)
        stats = await route.worker_stats()  # answered after the resize: the worker takes messages in order
        assert stats is not None and stats.allocations == 2
        await route.stop(LONG_S)
        assert route.state is RouteState.STOPPED

    run_scenario(scenario())


def test_a_definition_that_cannot_load_fails_the_route_with_the_workers_reason(
    core_models: CoreModels, tmp_path
) -> None:
    broken = tmp_path / "not-torchscript.pt"
    broken.write_bytes(b"PK not a TorchScript archive")
    model = TestModel("echo", broken, core_models.echo.config, core_models.echo.vocabulary, broken.stat().st_size)
    async def scenario() -> None:
        changes = ChangeSignal()
        route = route_of(model, changes)
        await wait_until(changes, lambda: route.state is RouteState.FAILED, "the load to fail")
        assert route.reason is not None and route.reason.startswith("Could not load the model: ")
        assert route.failed_for_good
        await route.stop(LONG_S)

    run_scenario(scenario())


def test_a_worker_killed_mid_batch_fails_that_batch(core_models: CoreModels) -> None:
    async def scenario() -> None:
        changes = ChangeSignal()
        route = route_of(core_models.slow, changes)
        await started(route, changes)
        request = await submit(route, " ".join([SLOW_WORD] * 5))
        route.kill()  # the worker goes at once; its thread finishes the batch it holds, whose answer is lost
        with pytest.raises(WorkerDied, match=r"inference process exited with code \[-9\]"):
            await request
        assert route.state is RouteState.FAILED and route.crash_times == [0.0]
        await route.stop(LONG_S)

    run_scenario(scenario())
