"""From cumulative node counters to one poll interval's requests, as Elasticsearch's scaler service does."""

import math

import pytest

from inferd.control.scaling.counters import DeploymentCounters, NodeCounters, RequestStats, combine, node_interval


def test_a_node_interval_subtracts_counts_and_averages_the_new_time() -> None:
    """100 requests at 10 ms, then 300 at an average of 12 ms: the 200 new ones took (3.6 - 1.0) / 200 s."""
    old = NodeCounters(inference_count=100, pending=5, failed=1, average_inference_time_ms=10.0)
    new = NodeCounters(inference_count=300, pending=8, failed=4, average_inference_time_ms=12.0)
    interval = node_interval(old, new)
    assert (interval.success_count, interval.pending_count, interval.failed_count) == (200, 3, 3)
    assert interval.inference_time_s == pytest.approx(0.013)
    assert interval.request_count == 206


def test_a_queue_that_shrinks_adds_no_requests() -> None:
    """Pending is a gauge; Elasticsearch counts only its growth."""
    interval = node_interval(NodeCounters(10, 50, 0, 5.0), NodeCounters(60, 20, 0, 5.0))
    assert (interval.success_count, interval.pending_count) == (50, 0)
    assert interval.inference_time_s == pytest.approx(0.005)


def test_no_success_has_no_time() -> None:
    interval = node_interval(NodeCounters(10, 0, 0, 5.0), NodeCounters(10, 0, 2, 5.0))
    assert interval.failed_count == 2
    assert math.isnan(interval.inference_time_s)


def test_a_restarted_node_counts_from_zero() -> None:
    """Its counters went down: the route is new, so everything it reports happened since."""
    old = NodeCounters(inference_count=5000, pending=3, failed=7, average_inference_time_ms=20.0)
    new = NodeCounters(inference_count=40, pending=1, failed=0, average_inference_time_ms=30.0)
    interval = node_interval(old, new)
    assert (interval.success_count, interval.pending_count, interval.failed_count) == (40, 1, 0)
    assert interval.inference_time_s == pytest.approx(0.030)


def test_time_never_goes_negative() -> None:
    """A rounded average can put the total a hair lower after a cheap interval (cache hits)."""
    old = NodeCounters(1_000_000, 0, 0, 10.0)
    new = NodeCounters(1_000_010, 0, 0, 9.9999)  # total 9999.999999 s < 10000 s
    interval = node_interval(old, new)
    assert interval.success_count == 10
    assert interval.inference_time_s == 0.0


def test_nodes_combine_with_the_success_weighted_time() -> None:
    """30 requests at 10 ms and 10 at 50 ms: 40 requests at (0.3 + 0.5) / 40 = 20 ms."""
    total = combine([RequestStats(30, 1, 0, 0.010), RequestStats(10, 2, 3, 0.050)])
    assert (total.success_count, total.pending_count, total.failed_count) == (40, 3, 3)
    assert total.inference_time_s == pytest.approx(0.020)


def test_an_idle_node_does_not_hide_the_others_time() -> None:
    """Elasticsearch's sum multiplies 0 x NaN, which makes the deployment's time NaN; here it is ignored."""
    total = combine([RequestStats(10, 0, 0, 0.010), RequestStats(0, 0, 1, math.nan)])
    assert total.inference_time_s == pytest.approx(0.010)
    assert math.isnan(combine([]).inference_time_s)


def test_the_first_poll_is_a_baseline() -> None:
    counters = DeploymentCounters()
    assert counters.advance({"n1": NodeCounters(100, 0, 0, 10.0)}, now_s=0.0) is None
    interval = counters.advance({"n1": NodeCounters(150, 0, 0, 10.0)}, now_s=10.0)
    assert interval is not None
    assert interval.elapsed_s == 10.0
    assert interval.stats.success_count == 50


def test_nodes_that_come_and_go() -> None:
    counters = DeploymentCounters()
    counters.advance({"n1": NodeCounters(100, 0, 0, 10.0), "n2": NodeCounters(500, 0, 0, 10.0)}, now_s=0.0)

    # n2 left: only n1 counts. A new node n3 only gives its baseline.
    interval = counters.advance({"n1": NodeCounters(120, 0, 0, 10.0), "n3": NodeCounters(7, 0, 0, 10.0)}, now_s=10.0)
    assert interval is not None and interval.stats.success_count == 20

    # n2 comes back (with counters from before it left, or not): it is new again, never a negative delta.
    interval = counters.advance(
        {"n1": NodeCounters(130, 0, 0, 10.0), "n2": NodeCounters(510, 0, 0, 10.0), "n3": NodeCounters(9, 0, 0, 10.0)},
        now_s=20.0,
    )
    assert interval is not None and interval.stats.success_count == 10 + 2

    # No routes left (zero allocations): nothing to measure, and no baseline kept.
    assert counters.advance({}, now_s=30.0) is None
    assert counters.advance({"n1": NodeCounters(0, 0, 0, 0.0)}, now_s=40.0) is None


def test_no_time_elapsed_measures_nothing() -> None:
    counters = DeploymentCounters()
    counters.advance({"n1": NodeCounters(1, 0, 0, 10.0)}, now_s=5.0)
    assert counters.advance({"n1": NodeCounters(2, 0, 0, 10.0)}, now_s=5.0) is None
    interval = counters.advance({"n1": NodeCounters(3, 0, 0, 10.0)}, now_s=15.0)
    assert interval is not None
    assert (interval.stats.success_count, interval.elapsed_s) == (2, 10.0)  # the skipped request still counts
