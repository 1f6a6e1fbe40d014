"""Elasticsearch's `AdaptiveAllocationsScalerTests`, ported case for case, then the decision records.

`Stats(success, pending, failed, inference_time)` in Elasticsearch is `RequestStats` here.
"""

import math
import random

import pytest

from inferd.control.scaling.counters import NO_REQUESTS, RequestStats
from inferd.control.scaling.scaler import SCALE_UP_THRESHOLD, AdaptiveAllocationsScaler, walk

NAN = math.nan


def scaler(allocations: int = 1, scale_to_zero_after_s: float = 60) -> AdaptiveAllocationsScaler:
    return AdaptiveAllocationsScaler("test-deployment", allocations, scale_to_zero_after_s)


def test_autoscaling_scale_up_and_down() -> None:
    subject = scaler()

    # With 1 allocation the system can handle 500 requests * 0.020 sec/request.
    # To handle remaining requests the system should scale to 2 allocations.
    subject.process(RequestStats(500, 100, 100, 0.020), 10, 1)
    assert subject.scale() == 2

    # With 2 allocation the system can handle 800 requests * 0.025 sec/request.
    # To handle remaining requests the system should scale to 3 allocations.
    subject.process(RequestStats(800, 100, 50, 0.025), 10, 2)
    assert subject.scale() == 3

    # With 3 allocations the system can handle the load.
    subject.process(RequestStats(1000, 0, 0, 0.025), 10, 3)
    assert subject.scale() is None

    # No load anymore, so the system should gradually scale down to 1 allocation.
    subject.process(RequestStats(0, 0, 0, NAN), 10, 3)
    assert subject.scale() is None
    subject.process(RequestStats(0, 0, 0, NAN), 10, 3)
    assert subject.scale() == 2
    subject.process(RequestStats(0, 0, 0, NAN), 10, 2)
    assert subject.scale() is None
    subject.process(RequestStats(0, 0, 0, NAN), 10, 2)
    assert subject.scale() == 1


def test_autoscaling_no_oscillating() -> None:
    subject = scaler()

    # With 1 allocation the system can handle 880 requests * 0.010 sec/request.
    subject.process(RequestStats(880, 0, 0, 0.010), 10, 1)
    assert subject.scale() is None
    subject.process(RequestStats(880, 0, 0, 0.010), 10, 1)
    assert subject.scale() is None

    # Increase the load to 980 requests * 0.010 sec/request, and the system
    # should scale to 2 allocations to have some spare capacity.
    subject.process(RequestStats(920, 0, 0, 0.010), 10, 1)
    assert subject.scale() is None
    subject.process(RequestStats(950, 0, 0, 0.010), 10, 1)
    assert subject.scale() is None
    subject.process(RequestStats(980, 0, 0, 0.010), 10, 1)
    assert subject.scale() == 2
    subject.process(RequestStats(980, 0, 0, 0.010), 10, 2)
    assert subject.scale() is None

    # Reducing the load to just 880 requests * 0.010 sec/request should not
    # trigger scaling down again, to prevent oscillating.
    subject.process(RequestStats(880, 0, 0, 0.010), 10, 2)
    assert subject.scale() is None
    subject.process(RequestStats(880, 0, 0, 0.010), 10, 2)
    assert subject.scale() is None


def test_autoscaling_respect_min_max_allocations() -> None:
    subject = scaler()
    subject.set_min_max(2, 5)

    # Even though there are no requests, scale to the minimum of 2 allocations.
    subject.process(RequestStats(0, 0, 0, 0.010), 10, 1)
    assert subject.scale() == 2
    subject.process(RequestStats(0, 0, 0, 0.010), 10, 2)
    assert subject.scale() is None

    # Even though there are many requests, the scale to the maximum of 5 allocations.
    subject.process(RequestStats(100, 10000, 1000, 0.010), 10, 2)
    assert subject.scale() == 5
    subject.process(RequestStats(500, 10000, 1000, 0.010), 10, 5)
    assert subject.scale() is None

    # After a while of no requests, scale to the minimum of 2 allocations.
    subject.process(RequestStats(0, 0, 0, 0.010), 10, 5)
    subject.process(RequestStats(0, 0, 0, 0.010), 10, 5)
    subject.process(RequestStats(0, 0, 0, 0.010), 10, 5)
    assert subject.scale() == 2


def test_estimation_high_variance() -> None:
    """Python's generator stands in for `java.util.Random(42)`: the same distributions, not the same draws."""
    subject = scaler()
    rng = random.Random(42)

    average_load_mean = 0.0
    average_load_error = 0.0
    time = 0.0
    for next_measurement_time in range(1, 101):
        # Sample one second of data (until the next measurement time).
        # This contains approximately 100 requests with high-variance inference times.
        stats = RequestStats(0, 0, 0, 0)
        while time < next_measurement_time:
            # Draw inference times from a log-normal distribution, which has high variance.
            # This distribution approximately has: mean=3.40, variance=98.4.
            inference_time = math.exp(rng.gauss(0.1, 1.5))
            stats = stats.add(RequestStats(1, 0, 0, inference_time))
            # The requests are Poisson distributed, which means the time in between
            # requests follows an exponential distribution.
            # This distribution has on average 100 requests per second.
            time += 0.01 * rng.expovariate(1.0)

        subject.process(stats, 1, 1)
        lower, upper = subject.load_lower, subject.load_upper
        average_load_mean += (upper + lower) / 2.0
        average_load_error += (upper - lower) / 2.0

    average_load_mean /= 100
    average_load_error /= 100

    expected_load = 100 * 3.40
    assert average_load_mean - average_load_error < expected_load
    assert average_load_mean + average_load_error > expected_load
    assert average_load_error / average_load_mean < 1 - SCALE_UP_THRESHOLD


def test_autoscaling_max_allocations_safeguard() -> None:
    subject = scaler()
    subject.process(RequestStats(1_000_000, 10_000_000, 1, 0.05), 10, 1)
    assert subject.scale() == 32
    subject.set_min_max(2, 77)
    assert subject.scale() == 77


def test_autoscaling_scale_down_to_zero_allocations() -> None:
    subject = scaler(1, scale_to_zero_after_s=60 * 15)
    # 1 hour with 1 request per 1 seconds, so don't scale.
    for _ in range(3600):
        subject.process(RequestStats(1, 0, 0, 0.05), 1, 1)
        assert subject.scale() is None
    # 15 minutes with no requests, so don't scale.
    for _ in range(900):
        subject.process(RequestStats(0, 0, 0, 0.05), 1, 1)
        assert subject.scale() is None
    # 1 second with a request, so don't scale.
    subject.process(RequestStats(1, 0, 0, 0.05), 1, 1)
    assert subject.scale() is None
    # 15 minutes with no requests, so don't scale.
    for _ in range(900):
        subject.process(RequestStats(0, 0, 0, 0.05), 1, 1)
        assert subject.scale() is None
    # another second with no requests, so scale to zero allocations.
    subject.process(RequestStats(0, 0, 0, 0.05), 1, 1)
    assert subject.scale() == 0
    # 15 minutes with no requests, so don't scale.
    for _ in range(900):
        subject.process(RequestStats(0, 0, 0, 0.05), 1, 0)
        assert subject.scale() is None


def test_autoscaling_dont_scale_down_to_zero_allocations_when_min_allocations_is_set() -> None:
    subject = scaler()
    subject.set_min_max(1, None)

    # 1 hour with no requests,  (sic: Elasticsearch's case sends one request a second)
    for _ in range(3600):
        subject.process(RequestStats(1, 0, 0, 0.05), 1, 1)
        assert subject.scale() is None


# The decision records: each scale() says what it saw and which rule settled the count.


def test_no_estimate_before_the_first_measurement() -> None:
    subject = scaler(3)
    assert subject.scale() is None
    decision = subject.last_decision
    assert decision is not None
    assert decision.rule == "no_estimate"
    assert (decision.current_allocations, decision.needed_allocations, decision.new_allocations) == (3, 3, 3)
    assert decision.request_rate is None and decision.inference_time is None
    assert decision.load_lower is None and decision.load_upper is None


def test_a_scale_up_records_its_estimates_and_load() -> None:
    """500 + 100 + 100 requests in 10 s at 20 ms: rate 70/s with variance 700/100 = 7; time 0.02 with variance
    0.0004/700. The load lower bound, (70 - sqrt 7) * (0.02 - 0.02/sqrt 700) = 1.29, wants 2 allocations."""
    subject = scaler()
    assert subject.scale() is None  # before any measurement
    subject.process(RequestStats(500, 100, 100, 0.020), 10, 1)
    assert subject.scale() == 2
    decision = subject.last_decision
    assert decision is not None
    assert decision.rule == "scale_up"
    assert (decision.current_allocations, decision.needed_allocations, decision.new_allocations) == (1, 2, 2)
    assert decision.request_rate is not None and decision.inference_time is not None
    assert decision.request_rate.value == 70.0
    assert decision.request_rate.lower == 70.0 - math.sqrt(7)
    assert decision.inference_time.upper == 0.02 + 0.02 / math.sqrt(700)
    assert decision.load_lower == (70.0 - math.sqrt(7)) * (0.02 - 0.02 / math.sqrt(700))
    assert decision.load_upper == (70.0 + math.sqrt(7)) * (0.02 + 0.02 / math.sqrt(700))


def test_without_a_measured_time_each_request_counts_as_one_second() -> None:
    """Failed and pending requests carry no time: the load is the rate times one second (Elasticsearch)."""
    subject = scaler()
    subject.process(RequestStats(0, 30, 0, NAN), 10, 1)  # 3 requests/s, variance 30/100
    assert subject.scale() == 3  # (3 - sqrt 0.3) = 2.45 busy allocations: 3 keeps them under 90%
    decision = subject.last_decision
    assert decision is not None and decision.inference_time is None
    assert decision.load_lower == 3.0 - math.sqrt(0.3)


def test_clamps_are_named() -> None:
    subject = scaler()
    subject.process(RequestStats(1_000_000, 0, 0, 0.05), 10, 1)  # 5000 busy allocations
    assert subject.scale() == 32
    decision = subject.last_decision
    assert decision is not None
    assert decision.rule == "clamped_to_safeguard"
    assert decision.needed_allocations > 32

    subject.set_min_max(None, 8)
    assert subject.scale() == 8
    assert subject.last_decision is not None and subject.last_decision.rule == "clamped_to_max"

    idle = scaler(1)
    idle.set_min_max(2, None)
    idle.process(NO_REQUESTS, 10, 1)
    assert idle.scale() == 2
    assert idle.last_decision is not None
    assert idle.last_decision.rule == "clamped_to_min"
    assert idle.last_decision.needed_allocations == 1
    # Still held at the minimum: the same rule, no change.
    idle.process(NO_REQUESTS, 10, 2)
    assert idle.scale() is None
    assert idle.last_decision.rule == "clamped_to_min"


def test_scale_to_zero_is_recorded_and_reset_by_a_scale_from_zero() -> None:
    subject = scaler(1, scale_to_zero_after_s=25)
    subject.set_min_max(0, None)
    for _ in range(2):
        subject.process(NO_REQUESTS, 10, 1)
        assert subject.scale() is None
    subject.process(NO_REQUESTS, 10, 1)  # 30 s without requests > 25 s
    assert subject.scale() == 0
    decision = subject.last_decision
    assert decision is not None
    assert decision.rule == "scale_to_zero"
    assert (decision.needed_allocations, decision.new_allocations) == (0, 0)
    assert decision.time_without_requests_s == 30
    assert subject.needed_allocations == 0

    # A request arrives at zero allocations; the deployment gets one, and the idle time starts again.
    subject.reset_time_without_requests()
    subject.process(NO_REQUESTS, 10, 1)
    assert subject.scale() is None
    assert subject.last_decision is not None and subject.last_decision.rule == "no_change"


def test_the_inference_time_follows_at_once_only_after_a_change_of_count() -> None:
    """The time filter has no change detection of its own: the scaler tells it when the count changed.

    After 50 polls at 10 ms the estimate's variance is tiny; a measurement of 20 ms then moves it by a gain of
    about 0.1 (to 11 ms), unless the previous scale() changed the count, when it follows at once.
    """
    moved, kept = scaler(), scaler()
    for subject in (moved, kept):
        for _ in range(50):
            subject.process(RequestStats(880, 0, 0, 0.010), 10, 1)
            assert subject.scale() is None
    moved.set_min_max(2, None)
    assert moved.scale() == 2  # the count changes: the next time measurement may differ for that reason

    moved.process(RequestStats(880, 0, 0, 0.020), 10, 2)
    kept.process(RequestStats(880, 0, 0, 0.020), 10, 1)
    moved.scale()
    kept.scale()
    assert moved.last_decision is not None and moved.last_decision.inference_time is not None
    assert kept.last_decision is not None and kept.last_decision.inference_time is not None
    assert moved.last_decision.inference_time.value == pytest.approx(0.020, rel=0.01)
    assert 0.010 < kept.last_decision.inference_time.value < 0.012


@pytest.mark.parametrize("seed", range(20))
def test_the_walk_stops_where_stepping_one_at_a_time_stops(seed: int) -> None:
    rng = random.Random(seed)
    start, step, limit = rng.randrange(0, 200), rng.choice((1, -1)), rng.randrange(-50, 300)
    holds = (lambda count: count < limit) if step == 1 else (lambda count: count > limit)
    stepped = start
    while holds(stepped):
        stepped += step
    assert walk(start, step, holds) == stepped


def test_a_huge_allocation_count_scales_down_at_once() -> None:
    """A deployment given 10**15 allocations (Elasticsearch bounds none) is sized to its load in one poll, not in
    10**15 steps on the event loop."""
    subject = scaler(allocations=10**15)
    subject.process(RequestStats(0, 0, 0, NAN), 10, 10**15)
    subject.process(RequestStats(0, 0, 0, NAN), 10, 10**15)
    assert subject.scale() == 1
