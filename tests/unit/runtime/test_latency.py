"""Latency percentiles from histogram buckets, estimated as Prometheus' histogram_quantile does."""

import pytest

from inferd.runtime.latency import Histogram, quantile

BOUNDS = (0.01, 0.1, 1.0)


def test_a_quantile_is_linear_within_the_bucket_that_holds_its_rank() -> None:
    counts = [0, 10, 0, 0]  # ten observations between 10 ms and 100 ms
    assert quantile(BOUNDS, counts, 0.5) == pytest.approx(0.055)
    assert quantile(BOUNDS, counts, 1.0) == pytest.approx(0.1)
    assert quantile(BOUNDS, [4, 0, 4, 0], 0.5) == pytest.approx(0.01)  # the first bucket's top holds the median
    assert quantile(BOUNDS, [4, 0, 4, 0], 0.75) == pytest.approx(0.55)


def test_above_every_bound_the_last_bound_is_the_answer_and_nothing_observed_is_none() -> None:
    assert quantile(BOUNDS, [0, 0, 0, 5], 0.99) == 1.0
    assert quantile(BOUNDS, [0, 0, 0, 0], 0.5) is None


def test_a_histograms_own_buckets_give_its_percentiles() -> None:
    histogram = Histogram()
    for seconds in (0.002, 0.003, 0.004, 0.2):
        histogram.observe(seconds)
    p50 = quantile(histogram.bounds, histogram.counts, 0.5)
    assert p50 is not None and 0.0025 <= p50 <= 0.005
    p99 = quantile(histogram.bounds, histogram.counts, 0.99)
    assert p99 is not None and 0.1 <= p99 <= 0.25
