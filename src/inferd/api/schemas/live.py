"""The console's live monitoring samples: rates, latency percentiles and gauges, from two snapshots of the
deployments' counters.

A snapshot copies, at one instant, the counters `_stats` and `/_inferd/metrics` read: each route's requests by
outcome, its latency histogram, documents, cache hits and queue. A sample covers the last few snapshots, per
second: requests per second by outcome, p50/p95/p99 of the requests answered meanwhile (estimated from the
histogram's buckets, as Prometheus does), cache hit rate; with the newest snapshot's gauges (queue, allocations
serving against those asked for). What each route counted is summed from one snapshot to the next, so a route a
rollout retired in the window still counts for what it answered before it left. A route is known by its
deployment, node, build and start time: one that started since the previous snapshot counts from zero, and one
whose counters went back was reset and counts from there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from inferd.control.views import DeploymentView, RouteView
from inferd.runtime.latency import BUCKETS_S, OUTCOMES, quantile

PERCENTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
RouteKey = tuple[str, str, int, int]


@dataclass(frozen=True)
class RouteCounters:
    node_id: str
    role: str
    build_number: int
    routing_state: str
    allocations: int
    outcomes: tuple[int, ...]
    """Requests by outcome, in the order of OUTCOMES."""
    latency_buckets: tuple[int, ...]
    """Requests answered per bucket of total latency (not cumulative)."""
    documents: int
    cache_hits: int
    queued_documents: int

    def plus(self, later: RouteCounters) -> RouteCounters:
        """This route's counts followed by `later`'s (counts added; the gauges are the later ones)."""
        return RouteCounters(
            later.node_id, later.role, later.build_number, later.routing_state, later.allocations,
            _plus(self.outcomes, later.outcomes), _plus(self.latency_buckets, later.latency_buckets),
            self.documents + later.documents, self.cache_hits + later.cache_hits, later.queued_documents)

    def minus(self, older: RouteCounters | None) -> RouteCounters:
        """What this route counted since `older` (all of it when the route is new)."""
        if older is None:
            return self
        return RouteCounters(
            self.node_id, self.role, self.build_number, self.routing_state, self.allocations,
            _minus(self.outcomes, older.outcomes), _minus(self.latency_buckets, older.latency_buckets),
            _increase(self.documents, older.documents), _increase(self.cache_hits, older.cache_hits),
            self.queued_documents)


def _increase(new: int, old: int) -> int:
    """What a counter counted since `old`; one that went back was reset (a route's worker replaced), and counted
    `new` since, as Prometheus' rate() reads it."""
    return new - old if new >= old else new


def _plus(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a + b for a, b in zip(first, second, strict=True))


def _minus(newer: tuple[int, ...], older: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(_increase(new, old) for new, old in zip(newer, older, strict=True))


@dataclass(frozen=True)
class DeploymentCounters:
    deployment_id: str
    model_id: str
    build_number: int
    lifecycle: str
    state: str
    allocations: int
    target_allocations: int
    adaptive: dict[str, Any] | None
    rollout: dict[str, Any] | None
    routes: dict[RouteKey, RouteCounters]


@dataclass(frozen=True)
class Snapshot:
    monotonic_s: float
    time_ms: int
    deployments: tuple[DeploymentCounters, ...]


def _route_counters(route: RouteView) -> RouteCounters:
    latencies = route.latencies
    return RouteCounters(
        route.node_id, str(route.role), route.build_number, str(route.routing_state), route.current_allocations,
        tuple(latencies.outcomes[outcome] for outcome in OUTCOMES), tuple(latencies.total.counts),
        route.counts.inference_count, route.counts.inference_cache_hit_count, route.counts.pending_documents)


def take_snapshot(views: Iterable[DeploymentView], monotonic_s: float, time_ms: int) -> Snapshot:
    deployments = []
    for view in views:
        routes = {(view.deployment_id, route.node_id, route.build_number, route.start_time_ms): _route_counters(route)
                  for route in (*view.routes, *view.incoming, *view.draining)}
        rollout = view.rollout
        deployments.append(DeploymentCounters(
            view.deployment_id, view.model_id, view.build_number, str(view.lifecycle), str(view.state),
            view.allocation_count, view.number_of_allocations,
            None if view.adaptive_allocations is None else view.adaptive_allocations.render(),
            None if rollout is None else {"action": str(rollout.action), "stage": str(rollout.stage),
                                          "outcome": str(rollout.outcome), "to_build": rollout.target.build_number},
            routes))
    return Snapshot(monotonic_s, time_ms, tuple(deployments))


def _rates(counters: Iterable[RouteCounters], seconds: float) -> dict[str, Any]:
    """Per second and percentiles over what the routes counted in `seconds`; gauges as they are now."""
    outcomes = [0] * len(OUTCOMES)
    buckets = [0] * (len(BUCKETS_S) + 1)
    documents = cache_hits = queued = 0
    for route in counters:
        outcomes = [total + count for total, count in zip(outcomes, route.outcomes, strict=True)]
        buckets = [total + count for total, count in zip(buckets, route.latency_buckets, strict=True)]
        documents += route.documents
        cache_hits += route.cache_hits
        queued += route.queued_documents
    latency = {name: _milliseconds(quantile(BUCKETS_S, buckets, q)) for name, q in PERCENTILES.items()}
    return {
        "requests_per_s": {outcome: round(count / seconds, 3) for outcome, count in zip(OUTCOMES, outcomes,
                                                                                         strict=True)},
        "documents_per_s": round(documents / seconds, 3),
        "latency_ms": latency,
        "cache_hit_rate": round(cache_hits / documents, 4) if documents else None,
        "queued_documents": queued,
    }


def _milliseconds(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


def _counted(snapshots: Sequence[Snapshot]) -> dict[RouteKey, RouteCounters]:
    """What each route counted over the snapshots, summed step by step (with the newest gauges it had)."""
    counted: dict[RouteKey, RouteCounters] = {}
    for before, after in pairwise(snapshots):
        previous = {key: route for deployment in before.deployments for key, route in deployment.routes.items()}
        for deployment in after.deployments:
            for key, route in deployment.routes.items():
                step = route.minus(previous.get(key))
                counted[key] = counted[key].plus(step) if key in counted else step
    return counted


def render_sample(snapshots: Sequence[Snapshot]) -> dict[str, Any]:
    """The sample the console charts: what happened over the snapshots (oldest first), per deployment and per
    node, with the newest snapshot's gauges."""
    newer = snapshots[-1]
    seconds = max(newer.monotonic_s - snapshots[0].monotonic_s, 1e-3)
    counted = _counted(snapshots)
    deployments = []
    for deployment in newer.deployments:
        current = deployment.routes.keys()
        retired = [route for key, route in counted.items() if key[0] == deployment.deployment_id and key not in current]
        serving = [counted[key] for key in current if key in counted]
        nodes = [
            {"node": route.node_id, "role": route.role, "build_number": route.build_number,
             "routing_state": route.routing_state, "allocations": route.allocations, **_rates([route], seconds)}
            for route in serving
        ]
        totals = _rates([*serving, *retired], seconds)
        totals["queued_documents"] = sum(route.queued_documents for route in serving)  # a gauge: the routes now
        deployments.append({
            "deployment_id": deployment.deployment_id,
            "model_id": deployment.model_id,
            "build_number": deployment.build_number,
            "lifecycle": deployment.lifecycle,
            "state": deployment.state,
            "allocations": deployment.allocations,
            "target_allocations": deployment.target_allocations,
            "adaptive_allocations": deployment.adaptive,
            "rollout": deployment.rollout,
            **totals,
            "nodes": nodes,
        })
    return {"time": newer.time_ms, "window_s": round(seconds, 3), "deployments": deployments}
