"""A route whose worker crashes, hangs or cannot load, against a scripted worker on a fake clock: who is answered
what, what waits for a new worker, and when the watchdog recycles a stuck one."""

from __future__ import annotations

import asyncio
import pytest

from inferd.errors import RequestTimeout, WorkerDied
from inferd.runtime.protocol import PROTOCOL_VERSION, GetStats, InferBatch, LoadFailed, LoadModel, Ready, WorkerStats
from inferd.runtime.route import STUCK_GRACE_S, Route
from inferd.runtime.states import RouteState
from inferd.runtime.worker_client import WorkerClient
from tests.support.clock import FakeClock
from tests.support.control import make_revision
from tests.support.workers import LONG_S, ScriptedChannel, batch_texts, echoed, run_scenario, submit

STUCK_REASON = ("the worker was stuck in one batch for more than [5s] past its callers' timeouts and was recycled")


class Crashes:
    """The route's `on_crash`: records each crash and says whether a new worker is coming."""

    def __init__(self, restarting: bool) -> None:
        self.restarting = restarting
        self.seen: list[tuple[str | None, float]] = []

    def __call__(self, route: Route) -> bool:
        self.seen.append((route.reason, route.crash_times[-1]))
        return self.restarting


def route_with(clock: FakeClock, crashes: Crashes | None, *, allocations: int = 1) -> tuple[Route, ScriptedChannel]:
    route = Route("d", "node-0", make_revision(queue_capacity=100), allocations, clock, on_crash=crashes)
    worker = ScriptedChannel("first")
    route.attach(WorkerClient(worker))
    return route, worker


def test_a_batch_running_past_its_last_callers_deadline_and_the_grace_gets_its_worker_killed_as_a_crash() -> None:
    clock = FakeClock()
    crashes = Crashes(restarting=True)
    route, worker = route_with(clock, crashes, allocations=1)
    worker.ready()

    async def scenario() -> None:
        blocker = await submit(route, "a", timeout_s=1.0)
        # Two callers in the next batch: the watchdog counts from the later deadline.
        stuck = [await submit(route, "b", timeout_s=1.0), await submit(route, "c", timeout_s=3.0)]
        clock.advance(0.5)
        worker.answer(worker.of(InferBatch)[0])
        assert await blocker == echoed("a")
        assert batch_texts(worker.of(InferBatch)[1]) == [["b"], ["c"]]
        waiting = await submit(route, "d")  # behind the stuck batch, with time to wait for a new worker

        clock.advance(2.5)  # t=3: both callers of the stuck batch gave up, 408
        for request in stuck:
            with pytest.raises(RequestTimeout):
                await request
        clock.advance(STUCK_GRACE_S - 0.01)
        await asyncio.sleep(0)
        assert not worker.killed and route.state is RouteState.STARTED
        clock.advance(0.01)  # t=8: 5 s past the later deadline
        assert worker.killed
        await asyncio.sleep(0)  # the kill is reported a moment later, as a process's end
        assert route.state is RouteState.FAILED and route.recovering
        assert crashes.seen == [(STUCK_REASON, 8.0)]
        assert route.crash_times == [8.0]
        assert not waiting.done()  # it waits for the new worker

        replacement = ScriptedChannel("second")
        route.restart(WorkerClient(replacement))
        assert route.state is RouteState.STARTING and route.restarts == 1
        assert isinstance(replacement.sent[0], LoadModel) and replacement.of(InferBatch) == []
        replacement.ready()
        assert batch_texts(replacement.of(InferBatch)[0]) == [["d"]]
        replacement.answer(replacement.of(InferBatch)[0])
        assert await waiting == echoed("d")
        assert route.state is RouteState.STARTED and not route.recovering

    run_scenario(scenario())


def test_an_answered_batch_is_never_taken_for_stuck() -> None:
    clock = FakeClock()
    route, worker = route_with(clock, Crashes(restarting=True))
    worker.ready()

    async def scenario() -> None:
        request = await submit(route, "a", timeout_s=1.0)
        clock.advance(0.5)
        worker.answer(worker.of(InferBatch)[0])
        assert await request == echoed("a")
        clock.advance(LONG_S)
        await asyncio.sleep(0)
        assert not worker.killed and route.state is RouteState.STARTED

    run_scenario(scenario())


@pytest.mark.parametrize("restarting", [True, False], ids=["restarting", "not-restarting"])
def test_a_crash_fails_what_the_worker_held_and_queued_requests_wait_only_for_a_worker_that_is_coming(
    restarting: bool,
) -> None:
    clock = FakeClock()
    crashes = Crashes(restarting=restarting)
    route, worker = route_with(clock, crashes, allocations=1)
    worker.ready()

    async def scenario() -> None:
        held = await submit(route, "a")
        queued = await submit(route, "b")
        worker.stderr = "Segmentation fault"
        clock.advance(2.0)
        worker.exit(-11)
        reason = "inference process exited with code [-11]: Segmentation fault"
        with pytest.raises(WorkerDied) as died:
            await held
        assert died.value.status == 500 and died.value.reason == f"Error in inference process: [{reason}]"
        assert route.state is RouteState.FAILED and route.reason == reason
        assert crashes.seen == [(reason, 2.0)] and route.stats.error_count == 1
        await asyncio.sleep(0)
        if restarting:
            assert not queued.done() and route.recovering and not route.failed_for_good
            route.give_up("no new worker after all")
        with pytest.raises(WorkerDied):
            await queued
        assert route.failed_for_good and route.pending_documents == 0

    run_scenario(scenario())


def test_a_worker_that_cannot_load_fails_the_route_without_counting_a_crash() -> None:
    clock = FakeClock()
    crashes = Crashes(restarting=True)
    route, worker = route_with(clock, crashes)

    async def scenario() -> None:
        queued = await submit(route, "a")  # arrived while the worker loads
        assert worker.of(InferBatch) == []
        worker.reply(LoadFailed("RuntimeError: not a TorchScript archive"))
        assert route.state is RouteState.FAILED and route.failed_for_good
        assert route.reason == "Could not load the model: RuntimeError: not a TorchScript archive"
        with pytest.raises(WorkerDied, match=r"not a TorchScript archive"):
            await queued
        worker.exit(1)  # then it exits, as a worker does after LoadFailed
        assert crashes.seen == [] and route.crash_times == []

    run_scenario(scenario())


def test_a_worker_that_speaks_another_protocol_is_refused_and_ended() -> None:
    clock = FakeClock()
    route, worker = route_with(clock, Crashes(restarting=True))

    async def scenario() -> None:
        worker.reply(Ready(PROTOCOL_VERSION + 1, worker.pid, 1, 1))
        assert route.state is RouteState.FAILED
        assert route.reason == f"worker speaks protocol [{PROTOCOL_VERSION + 1}], the server [{PROTOCOL_VERSION}]"
        assert worker.killed

    run_scenario(scenario())


def test_a_worker_that_dies_while_loading_is_a_failure_to_start() -> None:
    clock = FakeClock()
    crashes = Crashes(restarting=True)
    route, worker = route_with(clock, crashes)

    async def scenario() -> None:
        worker.exit(1)
        assert route.state is RouteState.FAILED and route.failed_for_good
        assert route.reason == "inference process exited with code [1]"
        assert crashes.seen == []

    run_scenario(scenario())


def test_the_worker_answers_a_stats_question_while_busy_and_one_that_dies_leaves_it_unanswered() -> None:
    clock = FakeClock()
    route, worker = route_with(clock, Crashes(restarting=False))
    worker.ready()

    async def scenario() -> None:
        busy = await submit(route, "a")  # the only allocation is taken
        asking = asyncio.create_task(route.worker_stats())
        await asyncio.sleep(0)
        assert worker.sent[-1] == GetStats()
        stats = WorkerStats(worker.pid, 1, 1, 1, 0, 1024, 0, 0, 0)
        worker.reply(stats)
        assert await asking == stats

        asking = asyncio.create_task(route.worker_stats())
        await asyncio.sleep(0)
        worker.exit(-9)
        assert await asking is None
        with pytest.raises(WorkerDied):
            await busy
        assert await route.worker_stats() is None  # no worker: nothing is asked

    run_scenario(scenario())
