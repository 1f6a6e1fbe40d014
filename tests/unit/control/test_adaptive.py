"""Adaptive allocations over real deployments: inferences parked while a deployment scales up from zero, which
deployments may scale from zero, and the counters the scaler reads of their routes."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
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
from inferd.errors import InferdError, QueueFull, RequestTimeout, StatusConflict, TooManyRequests
from inferd.runtime.states import RouteState
from tests.support import control as support
from tests.support.clock import EPOCH_MS, FakeClock
from tests.support.control import add_route, set_state

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
