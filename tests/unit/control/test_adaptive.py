"""Adaptive allocations over real deployments: inferences parked while a deployment scales up from zero, which
deployments may scale from zero, and the counters the scaler reads of their routes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import pytest

from inferd.control.adaptive import (
    MAX_WAITING_REQUESTS,
    AllocationWaits,
    RouteCounters,
    allocations_after_update,
    scales_from_zero,
)
from inferd.control.deployment import Deployment
from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.routing import pick_route
from inferd.control.scaling import AdaptiveTarget, NodeCounters
from inferd.control.adaptive import ScalerSettings
from inferd.errors import InferdError, QueueFull, RequestTimeout, StatusConflict, TooManyRequests
from inferd.runtime.protocol import InferBatch, SetAllocations
from inferd.runtime.route import BATCH_FILL_WAIT_S
from inferd.runtime.states import RouteState
from tests.support import control as support
from tests.support.clock import EPOCH_MS, FakeClock
from tests.support.control import add_route, set_state
from tests.support.core import Core, CoreModels, add_model, core_on, documents, run as run_core, start_request, until
from tests.support.workers import ScriptedChannel, WorkerKind

ADAPTIVE = AdaptiveAllocations(enabled=True, min_number_of_allocations=0, max_number_of_allocations=2)
LONG_S = 3600.0
"""A timeout no test reaches unless it means to."""


def make_deployment(deployment_id: str = "d", *, allocations: int = 1,
                    adaptive: AdaptiveAllocations | None = ADAPTIVE) -> Deployment:
    return support.make_deployment(deployment_id, allocations=allocations, adaptive=adaptive)


def run(scenario: Coroutine[Any, Any, None]) -> None:
    asyncio.run(scenario)


# --- AllocationWaits -------------------------------------------------------------------------------


def test_a_waiting_inference_gets_the_route_once_it_serves_and_the_count_goes_back_to_zero() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment()  # scaled up from zero: one allocation asked for, its route still starting
    starting = add_route(deployment, clock, state=RouteState.STARTING)

    async def scenario() -> None:
        waiters = [asyncio.create_task(waits.wait(deployment, LONG_S, "1h")) for _ in range(3)]
        await asyncio.sleep(0)
        assert waits.waiting("d") == 3
        for _ in range(5):
            await asyncio.sleep(0)
        assert not any(waiter.done() for waiter in waiters)
        assert waits.waiting("d") == 3
        set_state(deployment, starting, RouteState.STARTED)
        assert await asyncio.gather(*waiters) == [starting] * 3
        assert waits.waiting("d") == 0

    run(scenario())


def test_a_route_that_serves_already_is_returned_at_once() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment()
    route = add_route(deployment, clock)

    async def scenario() -> None:
        assert await waits.wait(deployment, 1.0, "1s") is route
        assert clock.monotonic() == 0.0
        assert waits.waiting("d") == 0

    run(scenario())


def test_a_started_route_without_allocations_does_not_serve() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment()
    idle = add_route(deployment, clock, allocations=0)

    async def scenario() -> None:
        waiter = asyncio.create_task(waits.wait(deployment, LONG_S, "1h"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not waiter.done()
        idle.set_allocations(1)
        assert await waiter is idle

    run(scenario())


def test_beyond_the_limit_an_inference_is_refused_with_429_and_the_others_keep_waiting() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment()
    other = make_deployment("other")

    async def scenario() -> None:
        waiters = [asyncio.create_task(waits.wait(deployment, LONG_S, "1h")) for _ in range(MAX_WAITING_REQUESTS)]
        await asyncio.sleep(0)
        assert waits.waiting("d") == MAX_WAITING_REQUESTS == 100
        with pytest.raises(TooManyRequests) as refused:
            await waits.wait(deployment, LONG_S, "1h")
        assert refused.value.status == 429
        assert refused.value.error_type == "status_exception"
        assert refused.value.reason == (
            "Rejected inference request waiting for an allocation of deployment [d]. Too many pending requests"
        )
        assert waits.waiting("d") == MAX_WAITING_REQUESTS  # the refused one was never counted

        other_waiter = asyncio.create_task(waits.wait(other, LONG_S, "1h"))  # the limit is per deployment
        await asyncio.sleep(0)
        assert waits.waiting("other") == 1

        route = add_route(deployment, clock)
        assert await asyncio.gather(*waiters) == [route] * MAX_WAITING_REQUESTS
        assert waits.waiting("d") == 0
        other_route = add_route(other, clock)
        assert await other_waiter is other_route
        assert waits.waiting("other") == 0

    run(scenario())


def test_a_freed_place_takes_a_new_waiter() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock, limit=1)
    deployment = make_deployment()

    async def scenario() -> None:
        first = asyncio.create_task(waits.wait(deployment, 1.0, "1s"))
        await asyncio.sleep(0)
        with pytest.raises(TooManyRequests):
            await waits.wait(deployment, LONG_S, "1h")
        clock.advance(1.0)
        with pytest.raises(RequestTimeout):
            await first
        assert waits.waiting("d") == 0
        second = asyncio.create_task(waits.wait(deployment, LONG_S, "1h"))
        await asyncio.sleep(0)
        assert waits.waiting("d") == 1
        route = add_route(deployment, clock)
        assert await second is route

    run(scenario())


def test_each_waiter_times_out_on_its_own_deadline_with_408() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment()

    async def scenario() -> None:
        short = asyncio.create_task(waits.wait(deployment, 5.0, "5s"))
        long = asyncio.create_task(waits.wait(deployment, LONG_S, "1h"))
        await asyncio.sleep(0)
        clock.advance(4.9)
        await asyncio.sleep(0)
        assert not short.done()
        clock.advance(0.1)
        with pytest.raises(RequestTimeout) as timed_out:
            await short
        assert timed_out.value.status == 408
        assert timed_out.value.reason == (
            "Timed out after [5s] waiting for trained model deployment [d] to start. Use the trained model stats API "
            "to track the state of the deployment and try again once it has started."
        )
        assert not long.done()
        assert waits.waiting("d") == 1
        route = add_route(deployment, clock)
        assert await long is route
        assert waits.waiting("d") == 0

    run(scenario())


def test_a_deployment_that_stops_answers_its_waiters_409() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment()
    add_route(deployment, clock, state=RouteState.STARTING)

    async def scenario() -> None:
        waiters = [asyncio.create_task(waits.wait(deployment, LONG_S, "1h")) for _ in range(2)]
        await asyncio.sleep(0)
        deployment.stopping = True
        deployment.changed()
        for waiter in waiters:
            with pytest.raises(StatusConflict) as conflict:
                await waiter
            assert conflict.value.status == 409
            assert conflict.value.reason == "Trained model [d] is [stopping]"
        assert waits.waiting("d") == 0
        assert clock.monotonic() < 1.0

    run(scenario())


def test_a_deployment_whose_routes_fail_answers_its_waiters_500_with_the_reasons() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment()
    route = add_route(deployment, clock, state=RouteState.STARTING)

    async def scenario() -> None:
        waiter = asyncio.create_task(waits.wait(deployment, LONG_S, "1h"))
        await asyncio.sleep(0)
        route.fail("could not start the worker process: no memory")
        assert deployment.state == "failed"  # a StrEnum: the word Elasticsearch shows
        with pytest.raises(InferdError) as failed:
            await waiter
        assert type(failed.value) is InferdError and failed.value.status == 500
        assert failed.value.reason == (
            "Trained model deployment [d] failed to start: could not start the worker process: no memory"
        )
        assert waits.waiting("d") == 0

    run(scenario())


def test_a_crashed_route_that_restarts_keeps_its_waiters_waiting() -> None:
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment()
    route = add_route(deployment, clock, state=RouteState.FAILED)
    route.recovering = True  # its worker is being started again: not failed for good

    async def scenario() -> None:
        waiter = asyncio.create_task(waits.wait(deployment, LONG_S, "1h"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert deployment.state == "starting" and not waiter.done()
        set_state(deployment, route, RouteState.STARTED, recovering=False)
        assert await waiter is route

    run(scenario())


# --- a deployment at zero allocations ----------------------------------------------------------------


def test_scaled_to_zero_a_deployment_is_started_and_fully_allocated() -> None:
    clock = FakeClock()
    deployment = make_deployment(allocations=0)
    assert (deployment.state, deployment.allocation_state, deployment.allocation_count) == (
        "started", "fully_allocated", 0)
    add_route(deployment, clock, state=RouteState.STOPPING)  # its last route draining changes neither
    assert (deployment.state, deployment.allocation_state) == ("started", "fully_allocated")
    deployment.number_of_allocations = 1  # scaled from zero: the new route is starting
    add_route(deployment, clock, state=RouteState.STARTING)
    assert (deployment.state, deployment.allocation_state) == ("starting", "starting")


def test_at_zero_allocations_an_inference_never_goes_to_the_draining_route() -> None:
    """Its worker may have been told to exit already: the inference would fail with it. It waits for a new one."""
    clock = FakeClock()
    waits = AllocationWaits(clock)
    deployment = make_deployment(allocations=0)
    add_route(deployment, clock, state=RouteState.STOPPING)
    with pytest.raises(StatusConflict, match=r"is not allocated to any nodes"):
        pick_route(deployment)

    async def scenario() -> None:
        waiter = asyncio.create_task(waits.wait(deployment, LONG_S, "1h"))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not waiter.done()
        deployment.number_of_allocations = 1  # scaled from zero: a new route replaces the draining one
        new = add_route(deployment, clock, state=RouteState.STARTING)
        for _ in range(5):
            await asyncio.sleep(0)
        assert not waiter.done()
        set_state(deployment, new, RouteState.STARTED)
        assert await waiter is new

    run(scenario())


def test_with_allocations_left_a_draining_route_still_takes_what_nothing_else_can() -> None:
    clock = FakeClock()
    deployment = make_deployment(allocations=1)  # moving to another node: the new route still starting
    draining = add_route(deployment, clock, "node-0", state=RouteState.STOPPING)
    add_route(deployment, clock, "node-1", state=RouteState.STARTING)
    assert pick_route(deployment) is draining


# --- scales_from_zero ------------------------------------------------------------------------------


@pytest.mark.parametrize(("adaptive", "expected"), [
    (AdaptiveAllocations(enabled=True), True),
    (AdaptiveAllocations(enabled=True, min_number_of_allocations=0, max_number_of_allocations=4), True),
    (AdaptiveAllocations(enabled=True, min_number_of_allocations=-1), True),
    (AdaptiveAllocations(enabled=True, min_number_of_allocations=1), False),
    (AdaptiveAllocations(enabled=True, min_number_of_allocations=2, max_number_of_allocations=4), False),
    (AdaptiveAllocations(enabled=False, min_number_of_allocations=0), False),
    (AdaptiveAllocations(enabled=None, min_number_of_allocations=0), False),
    (None, False),
], ids=["no-min", "min-0", "min-unset", "min-1", "min-2", "disabled", "enabled-unset", "not-adaptive"])
def test_only_an_enabled_deployment_without_a_minimum_scales_from_zero(
    adaptive: AdaptiveAllocations | None, expected: bool
) -> None:
    assert scales_from_zero(make_deployment(allocations=0, adaptive=adaptive)) is expected


# --- RouteCounters ---------------------------------------------------------------------------------


def test_the_scaler_sees_only_enabled_deployments_that_are_not_stopping() -> None:
    clock = FakeClock()
    deployments = {
        "adaptive": make_deployment("adaptive", allocations=2),
        "unbounded": make_deployment("unbounded", adaptive=AdaptiveAllocations(True, -1, -1)),
        "at-zero": make_deployment("at-zero", allocations=0),
        "disabled": make_deployment("disabled", adaptive=AdaptiveAllocations(False, 0, 2)),
        "fixed": make_deployment("fixed", adaptive=None),
        "stopping": make_deployment("stopping"),
    }
    deployments["stopping"].stopping = True
    add_route(deployments["adaptive"], clock, "node-0")
    clock.advance(5)
    add_route(deployments["adaptive"], clock, "node-1", state=RouteState.STARTING)
    clock.advance(5)
    add_route(deployments["adaptive"], clock, "node-2", state=RouteState.STOPPED)  # gone: not counted
    add_route(deployments["unbounded"], clock, state=RouteState.STARTING)
    for name in ("disabled", "fixed", "stopping"):
        add_route(deployments[name], clock)
    counters = RouteCounters(deployments.values)

    assert counters.adaptive_deployments() == [
        AdaptiveTarget("adaptive", 2, 0, 2, started=True, route_starting=True, latest_route_start_ms=EPOCH_MS + 5000),
        AdaptiveTarget("unbounded", 1, None, None, started=False, route_starting=True,
                       latest_route_start_ms=EPOCH_MS + 10_000),
        AdaptiveTarget("at-zero", 0, 0, 2, started=True, route_starting=False, latest_route_start_ms=None),
    ]

    deployments["adaptive"].stopping = True  # a stop begins: the scaler lets go of it
    deployments["disabled"].adaptive_allocations = ADAPTIVE  # enabled by an update: the scaler takes it
    assert [target.deployment_id for target in counters.adaptive_deployments()] == ["unbounded", "at-zero", "disabled"]


def test_node_counters_are_each_live_route_with_failures_as_errors_timeouts_and_rejections() -> None:
    clock = FakeClock()
    deployment = make_deployment(allocations=2)  # queue capacity 3 per route
    busy = add_route(deployment, clock, "node-0")
    fresh = add_route(deployment, clock, "node-1")
    add_route(deployment, clock, "node-2", state=RouteState.STOPPED)
    counters = RouteCounters(lambda: [deployment])

    busy.stats.record_batch(4, 0, 40.0)
    busy.stats.record_batch(2, 0, 100.0)
    busy.stats.record_error(2)

    async def scenario() -> None:
        late = asyncio.create_task(busy.infer(["late"], {}, 0.001, "1ms"))
        await asyncio.sleep(0)
        clock.advance(0.001)
        with pytest.raises(RequestTimeout):  # no worker takes it: its caller gives up
            await late
        queued = asyncio.create_task(busy.infer(["one", "two"], {}, LONG_S, "1h"))
        await asyncio.sleep(0)
        with pytest.raises(QueueFull):
            await busy.infer(["three", "four"], {}, LONG_S, "1h")
        assert counters.node_counters("d") == {
            "node-0": NodeCounters(inference_count=6, pending=2, failed=2 + 1 + 1,
                                   average_inference_time_ms=pytest.approx(140.0 / 6)),
            "node-1": NodeCounters(inference_count=0, pending=0, failed=0, average_inference_time_ms=0.0),
        }
        queued.cancel()
        with pytest.raises(asyncio.CancelledError):
            await queued

    run(scenario())
    assert busy.stats.error_count == 2 and busy.stats.timeout_count == 1 and busy.rejected_count == 1
    assert fresh.stats.average_inference_time_ms is None
    assert counters.node_counters("unknown") == {}
    deployment.routes.clear()  # scaled to zero: no route, nothing to read
    assert counters.node_counters("d") == {}


def test_an_update_keeps_or_sets_the_count_and_turning_adaptive_off_at_zero_brings_one_back() -> None:
    assert allocations_after_update(2, None, ADAPTIVE) == 2
    assert allocations_after_update(2, 3, None) == 3
    assert allocations_after_update(0, None, ADAPTIVE) == 0  # still adaptive: the next inference scales it
    assert allocations_after_update(0, None, AdaptiveAllocations(enabled=False)) == 1
    assert allocations_after_update(0, None, None) == 1
    assert allocations_after_update(0, 4, AdaptiveAllocations(enabled=False)) == 4


# --- through the manager: the scaler fed by real routes, inferences that wait for it --------------------


MAX_ROUNDS = 10_000
"""Rounds of the event loop a load may take to be answered: far more than any needs."""


class Served:
    """Inferences answered by a scripted worker, each batch once, with a time per document: the load the scaler
    reads off the routes."""

    def __init__(self, core: Core, worker: ScriptedChannel) -> None:
        self._core = core
        self._worker = worker
        self._answered: set[int] = set()

    def send(self, count: int, prefix: str = "request", timeout_s: float = LONG_S) -> list[asyncio.Task[Any]]:
        """`count` inferences of one document each, sent together."""
        return [asyncio.create_task(self._core.manager.infer("m", documents(f"{prefix} {index}"), None, timeout_s,
                                                             f"{timeout_s:g}s")) for index in range(count)]

    async def answered(self, requests: list[asyncio.Task[Any]], time_per_document_ms: float = 1.0) -> list[Any]:
        """Answer the worker's batches until every request is done; their results."""
        for _ in range(MAX_ROUNDS):
            if all(request.done() for request in requests):
                return [await request for request in requests]
            await asyncio.sleep(0)
            for batch in self._worker.of(InferBatch):
                if batch.batch_id not in self._answered:
                    self._answered.add(batch.batch_id)
                    documents_in_batch = sum(len(request.texts) for request in batch.requests)
                    self._worker.answer(batch, time_per_document_ms * documents_in_batch)
            self._core.clock.advance(BATCH_FILL_WAIT_S)  # a busy route fills its next batch this long
        raise AssertionError(f"{sum(not request.done() for request in requests)} requests were never answered")


def echoes(prefix: str, count: int) -> list[Any]:
    return [[{"echo": f"{prefix} {index}"}] for index in range(count)]


def changes_of(core: Core) -> list[tuple[str, int, str | None]]:
    """The scaler's events that changed the allocations, oldest first: (action, allocations, rule)."""
    return [(event.action, event.allocations, event.decision.rule if event.decision else None)
            for event in reversed(core.manager.scaler.events("m")) if event.action in ("scaled", "scale_from_zero")]


async def adaptive_deployment(core: Core, body: dict[str, Any] | None = None) -> ScriptedChannel:
    starting = asyncio.create_task(core.manager.start(start_request("m", {"adaptive_allocations": {
        "enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 2}, **(body or {})})))
    (worker,) = await core.backend.ready(1)
    view = await starting
    assert view.settings.number_of_allocations == 1  # a minimum of 0 starts at 1
    return worker


async def scaled_to_zero(core: Core) -> None:
    """The scaler's own path to zero allocations: the last route drains and its worker ends."""
    deployment = core.manager.get("m")
    await core.manager.scale("m", 0)
    await until(deployment, lambda: not deployment.routes, "the last route to go")
    assert (deployment.state, deployment.allocation_state) == ("started", "fully_allocated")


def test_an_inference_at_zero_allocations_asks_for_one_and_waits_for_its_route(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            first = await adaptive_deployment(core)
            await scaled_to_zero(core)
            assert first.ended
            request = asyncio.create_task(manager.infer("m", documents("the cat"), None, LONG_S, "1h"))
            (_, started) = await core.backend.wait_started(2)  # the scaler asked for an allocation: a new worker
            assert manager.get("m").number_of_allocations == 1
            assert manager.allocation_waits.waiting("m") == 1 and not request.done()
            assert changes_of(core) == [("scale_from_zero", 1, None)]
            assert started.script is not None
            (worker,) = [script for script in await core.backend.ready(2) if not script.ended]
            (batch,) = await worker.wait_sent(InferBatch)
            worker.answer(batch)
            assert await request == [{"echo": "the cat"}]
            assert manager.allocation_waits.waiting("m") == 0

        run_core(core, scenario)


def test_at_zero_allocations_each_waiter_keeps_its_own_timeout_and_beyond_the_limit_one_is_refused(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.SCRIPTED) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            worker = await adaptive_deployment(core, {"inferd": {"max_batch_documents": MAX_WAITING_REQUESTS}})
            await scaled_to_zero(core)
            half = MAX_WAITING_REQUESTS // 2
            served = Served(core, worker)
            short, long = served.send(half, "short", timeout_s=5), served.send(half, "long", timeout_s=60)
            await core.backend.wait_started(2)
            await until(manager.get("m"), lambda: manager.allocation_waits.waiting("m") == MAX_WAITING_REQUESTS,
                        "every request to wait")
            with pytest.raises(TooManyRequests, match=r"Too many pending requests"):
                await manager.infer("m", documents("one too many"), None, 60, "60s")

            core.clock.advance(5.0)
            for request in short:
                with pytest.raises(RequestTimeout, match=r"Timed out after \[5s\] waiting for trained model"):
                    await request
            assert manager.allocation_waits.waiting("m") == len(long)
            (worker,) = [script for script in await core.backend.ready(2) if not script.ended]
            assert await Served(core, worker).answered(long) == echoes("long", half)

        run_core(core, scenario)


def test_the_scaler_sizes_a_deployment_to_the_load_its_routes_measure(
    tmp_path: Path, core_models: CoreModels
) -> None:
    """Elasticsearch's rules over inferd's routes, on the fake clock: to zero after an idle minute, back to one on
    demand, to two under load, back to one once the load stops and the cooldown allows."""
    scaler = ScalerSettings(interval_s=1.0, scale_up_cooldown_s=3.0, scale_to_zero_after_s=60.0)
    with core_on(tmp_path, WorkerKind.SCRIPTED, scaler=scaler) as core:
        add_model(core, "m", core_models.echo)
        manager, clock = core.manager, core.clock

        async def tick(served: Served | None = None, requests: int = 0) -> None:
            """One second: the load, then the scaler's poll."""
            if served is not None and requests:
                await served.answered(served.send(requests), time_per_document_ms=100.0)
            clock.advance(1.0 - clock.monotonic() % 1.0)
            await manager.scaler.tick()

        async def until_allocations(count: int, served: Served | None = None, requests: int = 0) -> float:
            for _ in range(120):
                await tick(served, requests)
                if manager.get("m").number_of_allocations == count:
                    return clock.monotonic()
            raise AssertionError(f"never scaled to {count}: {changes_of(core)}")

        async def scenario() -> None:
            worker = await adaptive_deployment(core)
            served = Served(core, worker)
            await served.answered(served.send(16), time_per_document_ms=100.0)  # the scaler learns the time
            idle_since = clock.monotonic()
            zero_at = await until_allocations(0)
            assert zero_at - idle_since >= 60.0
            deployment = manager.get("m")
            await until(deployment, lambda: not deployment.routes, "the last route to go")
            assert worker.ended

            burst = served.send(20, "burst")  # at zero: each waits for the allocation the first asked for
            (worker,) = [script for script in await core.backend.ready(2) if not script.ended]
            served = Served(core, worker)
            assert await served.answered(burst) == echoes("burst", 20)

            up_at = await until_allocations(2, served, requests=20)  # 20 a second of 0.1 s: two allocations busy
            await worker.wait_sent(SetAllocations)
            assert worker.of(SetAllocations) == [SetAllocations(2)]  # the same worker, resized
            down_at = await until_allocations(1)  # the load stopped
            assert down_at >= up_at + 3.0
            assert worker.of(SetAllocations) == [SetAllocations(2), SetAllocations(1)]
            assert changes_of(core) == [("scaled", 0, "scale_to_zero"), ("scale_from_zero", 1, None),
                                        ("scaled", 2, "scale_up"), ("scaled", 1, "scale_down")]
            stored = core.deployments.get("m")
            assert stored is not None and stored.settings["number_of_allocations"] == 1  # a restart keeps it
            assert len(core.backend.started) == 2

        run_core(core, scenario)
