"""The scaler service's rules around the scaler: skips, scale from zero, failures, events and status."""

import asyncio
import logging

import pytest

from inferd.control.scaling.counters import NodeCounters
from inferd.control.scaling.events import EventLog
from inferd.control.scaling.service import AdaptiveTarget, ScalerService
from tests.support.clock import EPOCH_MS, FakeClock
from tests.unit.control.scaling.fake_cluster import NODE, FakeCluster, FakeDeployment, play


def setup(*deployments: FakeDeployment, **options: float) -> tuple[FakeClock, FakeCluster, ScalerService]:
    clock = FakeClock()
    cluster = FakeCluster()
    for deployment in deployments:
        cluster.add(deployment)
    return clock, cluster, ScalerService(clock, cluster, cluster.apply, event_log=EventLog(fold_repeats=False), **options)


def test_elasticsearch_service_cycle() -> None:
    """Elasticsearch's `AdaptiveAllocationsScalerServiceTests.test`, 1 s polls, and one poll more.

    First poll: 1 inference at 11 ms, a baseline. Second: 150 inferences at 10 ms, 149 requests/s at about
    10 ms, 1.5 busy allocations: scale to 2. Third: the counters read 0 (a restart, so no requests). The
    Elasticsearch test says the cooldown keeps 2 allocations; in fact the scaler does not ask for fewer yet:
    the rate's first measurement counts as a change, so this one gets q = 0^2 = 0 and K = 149 / (149 + 149):
    the rate halves to 74.5 +- 8.6, the load's high end (83.1 x 10.8 ms = 0.90) still needs 2.
    A fourth idle poll (ours) halves it again: the scaler wants 1, and the cooldown holds the decrease.
    """
    deployment = FakeDeployment("test-deployment", 1)
    clock, cluster, service = setup(deployment, interval_s=1)

    async def scenario() -> None:
        deployment.nodes[NODE] = NodeCounters(1, 0, 0, 11.0)
        await service.tick()
        assert cluster.applied == []

        clock.advance(1)
        deployment.nodes[NODE] = NodeCounters(150, 0, 0, 10.0)
        await service.tick()
        assert cluster.applied == [("test-deployment", 2)]

        deployment.allocations = 2
        for _ in range(2):
            clock.advance(1)
            deployment.nodes[NODE] = NodeCounters(0, 0, 0, 9.0)
            await service.tick()
        assert cluster.applied == [("test-deployment", 2)]

    asyncio.run(scenario())
    events = service.events("test-deployment")
    assert [event.action for event in events] == ["skipped_cooldown", "no_change", "scaled"]
    third = events[1].decision
    assert third is not None and third.request_rate is not None and third.load_upper is not None
    assert third.request_rate.value == pytest.approx(74.5)
    assert 0.85 < third.load_upper < 0.95
    assert events[0].allocations == 1


def test_elasticsearch_maybe_start_allocation() -> None:
    """Elasticsearch's `testMaybeStartAllocation`: only adaptive deployments whose minimum allows zero."""
    clock, cluster, service = setup(
        FakeDeployment("fixed-minimum", 0, min_allocations=1, max_allocations=2),
        FakeDeployment("zero-minimum", 0, min_allocations=0, max_allocations=2),
        FakeDeployment("no-minimum", 0),
    )

    async def scenario() -> None:
        assert await service.request_scale_from_zero("not-adaptive") is False  # unknown to the source
        assert await service.request_scale_from_zero("fixed-minimum") is False
        assert await service.request_scale_from_zero("zero-minimum") is True
        assert await service.request_scale_from_zero("no-minimum") is True

    asyncio.run(scenario())
    assert cluster.applied == [("zero-minimum", 1), ("no-minimum", 1)]
    event = service.events("zero-minimum")[0]
    assert (event.action, event.allocations, event.decision, event.timestamp_ms) == ("scale_from_zero", 1, None, EPOCH_MS)


def test_scale_from_zero_sends_one_request_at_a_time() -> None:
    """Elasticsearch's `testMaybeStartAllocation_BlocksMultipleRequests`: a flurry of inferences, one update."""
    clock, cluster, service = setup(FakeDeployment("d", 0))

    async def scenario() -> None:
        cluster.apply_gate = asyncio.Event()
        first = asyncio.create_task(service.request_scale_from_zero("d"))
        await asyncio.sleep(0)
        assert cluster.applied == [("d", 1)]  # in flight
        for _ in range(2):  # answered at once (1 s is only a bound for a broken guard)
            assert await asyncio.wait_for(service.request_scale_from_zero("d"), timeout=1) is True
        cluster.apply_gate.set()
        assert await first is True
        assert cluster.applied == [("d", 1)]
        assert [event.action for event in service.events("d")] == ["scale_from_zero"]

        # Done: a later trigger may send again.
        cluster.deployments["d"].allocations = 0
        assert await service.request_scale_from_zero("d") is True
        assert cluster.applied == [("d", 1), ("d", 1)]

    asyncio.run(scenario())


def test_scale_from_zero_leaves_allocations_already_asked_for() -> None:
    """No route serves yet, but two allocations are on their way: asking for one would cut them back."""
    deployment = FakeDeployment("d", 2, route_starting=True)
    clock, cluster, service = setup(deployment)
    assert asyncio.run(service.request_scale_from_zero("d")) is True
    assert cluster.applied == []
    assert service.events("d") == []


def test_scale_from_zero_restarts_the_idle_time_and_the_cooldown() -> None:
    """Scaled to zero at t=40 (idle over 30 s); an inference brings one allocation back at t=100.

    The idle time starts again at the trigger, so the scaler wants zero again only at t=150 (40 s idle on the
    new route: 10 s at t=120, ..., 40 s at t=150); that decrease waits out the cooldown until t=100+300.
    """
    deployment = FakeDeployment("d", 1)
    clock, cluster, service = setup(deployment, scale_to_zero_after_s=30)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        changes = await play(service, clock, deployment, 100, lambda t: 0)
        assert await service.request_scale_from_zero("d") is True
        return await play(service, clock, deployment, 600, lambda t: 0, changes=changes)

    assert asyncio.run(scenario()) == [(0.0, 1), (40.0, 0), (100.0, 1), (400.0, 0)]
    by_time = {(event.timestamp_ms - EPOCH_MS) / 1000: event for event in service.events("d")}
    assert by_time[100].action == "scale_from_zero"
    assert 110 not in by_time  # the new route's first poll is its baseline
    for t in (120, 130, 140):
        assert by_time[t].decision is not None and by_time[t].decision.rule == "no_change"
    for t in range(150, 400, 10):
        assert by_time[t].action == "skipped_cooldown"
        assert by_time[t].decision is not None and by_time[t].decision.rule == "scale_to_zero"
    assert by_time[400].action == "scaled"


def test_a_decrease_waits_while_a_route_starts_and_for_the_cooldown_after_it_started() -> None:
    """7 allocations for a load of 1 (20 requests/s at 50 ms): the scaler wants 2.

    A route is starting until t=50, and started at t=50: the decrease waits until t=50+300. Increases never wait.
    """
    deployment = FakeDeployment("d", 7, route_starting=True)
    clock, cluster, service = setup(deployment)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        changes = await play(service, clock, deployment, 50, lambda t: 20)
        deployment.route_starting = False
        deployment.latest_route_start_ms = clock.now_ms()
        return await play(service, clock, deployment, 600, lambda t: 20, changes=changes)

    assert asyncio.run(scenario()) == [(0.0, 7), (350.0, 2)]
    actions = [event.action for event in reversed(service.events("d"))]
    assert actions[:35] == ["skipped_starting"] * 34 + ["scaled"]


def test_an_increase_does_not_wait_for_a_starting_route() -> None:
    deployment = FakeDeployment("d", 1, route_starting=True)
    clock, cluster, service = setup(deployment)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        return await play(service, clock, deployment, 60, lambda t: 40)

    assert asyncio.run(scenario()) == [(0.0, 1), (10.0, 3)]


def test_a_deployment_that_is_not_started_is_not_scaled() -> None:
    deployment = FakeDeployment("d", 1, started=False)
    clock, cluster, service = setup(deployment)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        changes = await play(service, clock, deployment, 60, lambda t: 40)
        deployment.started = True
        return await play(service, clock, deployment, 120, lambda t: 40, changes=changes)

    assert asyncio.run(scenario()) == [(0.0, 1), (70.0, 3)]
    actions = [event.action for event in reversed(service.events("d"))]
    assert actions[:7] == ["skipped_not_started"] * 6 + ["scaled"]


def test_a_failed_update_is_recorded_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    deployment = FakeDeployment("d", 1)
    clock, cluster, service = setup(deployment)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        cluster.apply_error = RuntimeError("not enough resources")
        changes = await play(service, clock, deployment, 30, lambda t: 40)
        cluster.apply_error = None
        return await play(service, clock, deployment, 60, lambda t: 40, changes=changes)

    with caplog.at_level(logging.DEBUG, logger="inferd.control.scaling.service"):
        assert asyncio.run(scenario()) == [(0.0, 1), (40.0, 3)]
    events = list(reversed(service.events("d")))
    assert [event.action for event in events[:4]] == ["apply_failed"] * 3 + ["scaled"]
    assert events[0].error == "not enough resources"
    assert (events[0].allocations, events[0].decision is not None) == (3, True)
    # The same failure every poll: one warning, then debug.
    failures = [record.levelno for record in caplog.records if "failed" in record.getMessage()]
    assert failures == [logging.WARNING, logging.DEBUG, logging.DEBUG]


def test_one_failing_deployment_does_not_stop_the_others() -> None:
    broken, healthy = FakeDeployment("broken", 1), FakeDeployment("healthy", 1)
    clock, cluster, service = setup(broken, healthy)
    cluster.broken.add("broken")

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        return await play(service, clock, healthy, 60, lambda t: 40)

    assert asyncio.run(scenario()) == [(0.0, 1), (10.0, 3)]
    assert service.events("broken") == []


def test_run_polls_every_interval_and_survives_a_failing_source() -> None:
    deployment = FakeDeployment("d", 1)
    clock, cluster, service = setup(deployment)
    reads: list[float] = []
    read_targets = cluster.adaptive_deployments

    def flaky_targets() -> list[AdaptiveTarget]:
        if reads:
            deployment.serve(10, 40, 0.05)  # the 10 s since the previous poll
        reads.append(clock.monotonic())
        if len(reads) == 2:
            raise RuntimeError("store unavailable")
        return read_targets()

    cluster.adaptive_deployments = flaky_targets  # type: ignore[method-assign]

    async def scenario() -> None:
        task = asyncio.create_task(service.run())
        while len(reads) < 7:
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert reads == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    # t=0 baseline, t=10 failed, t=20 measures the 20 s since the baseline: 40 requests/s, 3 allocations.
    assert cluster.applied == [("d", 3)]
    assert (service.events("d")[-1].timestamp_ms - EPOCH_MS) / 1000 == 20


def test_status_and_forgetting_a_deployment() -> None:
    deployment = FakeDeployment("d", 1)
    clock, cluster, service = setup(deployment)

    async def scenario() -> None:
        await service.tick()
        status = service.status("d")
        assert status is not None
        assert (status.last_decision_ms, status.current_allocations, status.needed_allocations) == (None, 1, 1)

        await play(service, clock, deployment, 10, lambda t: 40)
        status = service.status("d")  # scaled to 3 at t=10
        assert status is not None
        assert (status.last_decision_ms, status.current_allocations, status.needed_allocations) == (
            EPOCH_MS + 10_000, 3, 3
        )

        # Adaptive allocations disabled (or the deployment stopped): the service forgets it.
        del cluster.deployments["d"]
        await service.tick()
        assert service.status("d") is None
        assert service.events("d") == []

    asyncio.run(scenario())
