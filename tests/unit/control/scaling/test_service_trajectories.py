"""An hour of synthetic traffic through the scaler service, 10 s polls, on a fake clock.

Each request takes 50 ms of an allocation, so a rate of r requests/s is a load of r / 20 busy allocations.
The count goes up until the load's low end is at most 90% of it, and down while one fewer would stay under
85% of the load's high end: a load of 2 settles at 3 (2 would be 100% busy), a load of 6 at 7 (6/7 = 86%),
a load of 1 at 2 (1 would be 100% busy).
"""

import asyncio
from collections.abc import Coroutine
from typing import Any

import pytest

from inferd.control.scaling.events import EventLog, ScalingEvent
from inferd.control.scaling.service import ScalerService
from tests.support.clock import EPOCH_MS, FakeClock
from tests.unit.control.scaling.fake_cluster import FakeCluster, FakeDeployment, play

HOUR_S = 3600.0


def run(coroutine: Coroutine[Any, Any, list[tuple[float, int]]]) -> list[tuple[float, int]]:
    return asyncio.run(coroutine)


def seconds(event: ScalingEvent) -> float:
    """When the event happened, in seconds of the play."""
    return (event.timestamp_ms - EPOCH_MS) / 1000


def setup(
    deployment: FakeDeployment, *, scale_to_zero_after_s: float = 86400.0
) -> tuple[FakeClock, FakeCluster, ScalerService]:
    clock = FakeClock()
    cluster = FakeCluster()
    cluster.add(deployment)
    service = ScalerService(clock, cluster, cluster.apply, scale_to_zero_after_s=scale_to_zero_after_s,
                            event_log=EventLog(fold_repeats=False))  # one event per poll, to check each
    return clock, cluster, service


def test_steady_load_settles_and_stays() -> None:
    deployment = FakeDeployment("d", allocations=1)
    clock, _, service = setup(deployment)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()  # the baseline
        return await play(service, clock, deployment, HOUR_S, lambda t: 40)

    assert run(scenario()) == [(0.0, 1), (10.0, 3)]
    events = service.events("d")
    assert len(events) == 360  # one per poll after the baseline
    assert events[-1].action == "scaled" and events[-1].decision is not None
    assert events[-1].decision.rule == "scale_up"
    assert {event.action for event in events[:-1]} == {"no_change"}
    assert {event.decision.rule for event in events[:-1] if event.decision} == {"no_change"}
    latest = events[0].decision
    assert latest is not None and latest.request_rate is not None and latest.load_lower is not None
    assert latest.request_rate.value == pytest.approx(40.0)
    assert latest.load_lower < 2.0 < latest.load_upper  # the band holds the true load


def test_a_step_up_is_followed_at_once_up_to_the_maximum() -> None:
    """At t=600 the rate triples (load 6, 7 allocations wanted): a 10-sigma miss, so the next poll follows."""
    deployment = FakeDeployment("d", allocations=1, max_allocations=5)
    clock, _, service = setup(deployment)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        return await play(service, clock, deployment, HOUR_S, lambda t: 40 if t < 600 else 120)

    assert run(scenario()) == [(0.0, 1), (10.0, 3), (610.0, 5)]
    after_step = [event for event in service.events("d") if seconds(event) >= 610]
    assert after_step[-1].action == "scaled"
    decisions = [event.decision for event in after_step if event.decision is not None]
    assert len(decisions) == len(after_step)
    assert {decision.rule for decision in decisions} == {"clamped_to_max"}
    assert {decision.needed_allocations for decision in decisions} == {7}


def test_a_step_down_waits_for_the_cooldown_after_a_scale_up() -> None:
    """Scaled up to 7 at t=70; the load drops to 1 at t=120, but the decrease waits until t=70+300."""
    deployment = FakeDeployment("d", allocations=1)
    clock, _, service = setup(deployment)

    def load(t: float) -> float:
        return 40 if t < 60 else 120 if t < 120 else 20

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        return await play(service, clock, deployment, HOUR_S, load)

    assert run(scenario()) == [(0.0, 1), (10.0, 3), (70.0, 7), (370.0, 2)]
    by_time = {seconds(event): event for event in service.events("d")}
    for t in range(130, 370, 10):
        assert by_time[t].action == "skipped_cooldown"
        assert by_time[t].allocations == 2
    assert by_time[370].action == "scaled"
    assert by_time[370].decision is not None and by_time[370].decision.rule == "scale_down"


@pytest.mark.parametrize(
    ("min_allocations", "scale_to_zero_after_s", "zero_at"),
    [
        # Zero once the idle time exceeds 1800 s: 1800 s at t=2400 is not more, 1810 s at t=2410 is.
        (None, 1800.0, 2410.0),
        (0, 1800.0, 2410.0),
        (1, 1800.0, None),
        # The default scale-to-zero time is a day.
        (None, 86400.0, None),
    ],
)
def test_idle_to_zero(min_allocations: int | None, scale_to_zero_after_s: float, zero_at: float | None) -> None:
    """Idle from t=600. The count comes down one step at a time, within two minutes.

    It is not instant: when the rate drops to zero the filter's extra noise on a change is q = x^2 = 0, so the
    estimate only decays by the gain P / (P + var) each poll (about 10% at first, faster as var = rate/10
    shrinks with it). With no scale-up in the last 300 s, no cooldown holds the decrease.
    """
    deployment = FakeDeployment("d", allocations=1, min_allocations=min_allocations)
    clock, _, service = setup(deployment, scale_to_zero_after_s=scale_to_zero_after_s)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        return await play(service, clock, deployment, HOUR_S, lambda t: 40 if t < 600 else 0)

    changes = run(scenario())
    assert changes[:2] == [(0.0, 1), (10.0, 3)]
    ramp_down = changes[2:4]
    assert [allocations for _, allocations in ramp_down] == [2, 1]
    assert all(600 < t <= 720 for t, _ in ramp_down)
    rules = [event.decision.rule for event in service.events("d") if event.decision]
    if zero_at is None:
        assert changes[4:] == []
        assert "scale_to_zero" not in rules
    else:
        assert changes[4:] == [(zero_at, 0)]
        # The last event: no routes at zero allocations, so nothing is measured after it.
        assert rules[0] == "scale_to_zero"
        assert seconds(service.events("d")[0]) == zero_at


@pytest.mark.parametrize(
    ("deployment", "rate", "time_s", "expected", "rule"),
    [
        # 4 requests/s at 50 ms is 0.2 busy allocations: one is enough, the minimum says two.
        (FakeDeployment("d", 1, min_allocations=2), 4, 0.05, 2, "clamped_to_min"),
        # 1000 requests/s at 100 ms is 100 busy allocations: no maximum, so the safeguard of 32.
        (FakeDeployment("d", 1), 1000, 0.1, 32, "clamped_to_safeguard"),
        # A maximum above the safeguard is honoured.
        (FakeDeployment("d", 1, max_allocations=40), 1000, 0.1, 40, "clamped_to_max"),
    ],
)
def test_clamps(deployment: FakeDeployment, rate: float, time_s: float, expected: int, rule: str) -> None:
    clock, _, service = setup(deployment)

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        return await play(service, clock, deployment, 600.0, lambda t: rate, time_s=time_s)

    assert run(scenario()) == [(0.0, 1), (10.0, expected)]
    assert {event.decision.rule for event in service.events("d") if event.decision} == {rule}


def test_a_restarted_node_does_not_look_like_a_drop_in_load() -> None:
    """At t=300 the node's route restarts and its counters begin again from zero.

    Elasticsearch's max(0, new - old) would read no requests for that poll and scale 3 -> 1; counting the new
    route from zero reads the same 40 requests/s.
    """
    deployment = FakeDeployment("d", allocations=3)
    clock, _, service = setup(deployment)

    def load(t: float) -> float:
        if t == 300:
            deployment.restart_route()
        return 40

    async def scenario() -> list[tuple[float, int]]:
        await service.tick()
        return await play(service, clock, deployment, HOUR_S, load)

    assert run(scenario()) == [(0.0, 3)]
    decisions = [event.decision for event in service.events("d") if event.decision]
    rates = [decision.request_rate.value for decision in decisions if decision.request_rate]
    assert len(rates) == 360
    assert all(rate == pytest.approx(40.0) for rate in rates)

