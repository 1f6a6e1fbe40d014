"""The console's live samples: per-second rates and percentiles between two snapshots of the routes' counters."""

from inferd.api.schemas.live import DeploymentCounters, RouteCounters, Snapshot, render_sample
from inferd.runtime.latency import BUCKETS_S

BUCKETS = len(BUCKETS_S) + 1


def route(node: str, answered: int, errors: int = 0, rejected: int = 0, *, fast: int = 0, documents: int = 0,
          hits: int = 0, queued: int = 0, allocations: int = 1, build: int = 1) -> RouteCounters:
    buckets = [0] * BUCKETS
    buckets[2] = fast  # between 2.5 ms and 5 ms
    return RouteCounters(node, "serving", build, "started", allocations, (answered, errors, rejected, 0),
                         tuple(buckets), documents, hits, queued)


def snapshot(at_s: float, routes: dict[tuple[str, str, int, int], RouteCounters], allocations: int = 1,
             target: int = 1) -> Snapshot:
    deployment = DeploymentCounters("d", "m", 1, "deployed", "started", allocations, target, None, None, routes)
    return Snapshot(at_s, int(at_s * 1000), (deployment,))


def test_rates_are_per_second_between_the_snapshots_and_gauges_are_the_newest() -> None:
    key = ("d", "node-0", 1, 100)
    older = snapshot(10.0, {key: route("node-0", 100, fast=100, documents=100, hits=10)})
    newer = snapshot(15.0, {key: route("node-0", 600, errors=5, rejected=10, fast=600, documents=600, hits=60,
                                       queued=7, allocations=2)}, allocations=2, target=2)
    sample = render_sample([older, newer])
    (deployment,) = sample["deployments"]
    assert sample["window_s"] == 5.0 and sample["time"] == 15_000
    assert deployment["requests_per_s"] == {"answered": 100.0, "error": 1.0, "rejected": 2.0, "timeout": 0.0}
    assert deployment["documents_per_s"] == 100.0
    assert deployment["cache_hit_rate"] == 0.1
    assert deployment["queued_documents"] == 7 and (deployment["allocations"], deployment["target_allocations"]) == (2, 2)
    assert 2.5 <= deployment["latency_ms"]["p50"] <= deployment["latency_ms"]["p99"] <= 5.0
    assert [node["node"] for node in deployment["nodes"]] == ["node-0"]


def test_a_route_that_started_since_counts_from_zero_and_a_gone_one_is_left_out() -> None:
    old_key, new_key = ("d", "node-0", 1, 100), ("d", "node-0", 2, 200)
    older = snapshot(0.0, {old_key: route("node-0", 1_000_000, fast=1_000_000)})
    newer = snapshot(2.0, {new_key: route("node-0", 40, fast=40, build=2)})
    (deployment,) = render_sample([older, newer])["deployments"]
    assert deployment["requests_per_s"]["answered"] == 20.0
    assert deployment["nodes"][0]["build_number"] == 2


def test_a_counter_that_went_back_was_reset_and_counts_from_there() -> None:
    key = ("d", "node-0", 1, 100)
    older = snapshot(0.0, {key: route("node-0", 50, fast=50, documents=50)})
    newer = snapshot(1.0, {key: route("node-0", 10, fast=10, documents=10)})
    (deployment,) = render_sample([older, newer])["deployments"]
    assert deployment["requests_per_s"]["answered"] == 10.0 and deployment["documents_per_s"] == 10.0


def test_an_idle_window_has_no_percentiles_nor_hit_rate() -> None:
    key = ("d", "node-0", 1, 100)
    older = snapshot(0.0, {key: route("node-0", 50, fast=50)})
    newer = snapshot(1.0, {key: route("node-0", 50, fast=50)})
    (deployment,) = render_sample([older, newer])["deployments"]
    assert deployment["requests_per_s"]["answered"] == 0.0
    assert deployment["latency_ms"] == {"p50": None, "p95": None, "p99": None}
    assert deployment["cache_hit_rate"] is None


def test_a_route_a_rollout_retired_in_the_window_still_counts_what_it_answered() -> None:
    old_key, new_key = ("d", "node-0", 1, 100), ("d", "node-0", 2, 200)
    first = snapshot(0.0, {old_key: route("node-0", 0, fast=0)})
    second = snapshot(1.0, {old_key: route("node-0", 80, fast=80), new_key: route("node-0", 0, build=2)})
    third = snapshot(2.0, {new_key: route("node-0", 100, fast=100, build=2)})  # the old route drained and left
    (deployment,) = render_sample([first, second, third])["deployments"]
    assert deployment["requests_per_s"]["answered"] == 90.0  # (80 + 100) requests in 2 s
    assert [(node["build_number"], node["requests_per_s"]["answered"]) for node in deployment["nodes"]] == [(2, 50.0)]
