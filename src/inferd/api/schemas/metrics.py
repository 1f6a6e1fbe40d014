"""The deployments' counters, queues and latencies as Prometheus metric families, read at scrape time.

Nothing is counted twice: the collector reads the routes' own stats (the ones `_stats` shows) when
Prometheus scrapes, so the two views always agree. Every series is labelled by deployment, model and node.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from inferd.control import DeploymentManager
from inferd.control.views import RouteView
from inferd.runtime.latency import OUTCOMES, Histogram, RequestLatencies

ROUTE_LABELS = ["deployment_id", "model_id", "node"]
DEPLOYMENT_LABELS = ["deployment_id", "model_id"]


# Per route: (family, name, help, the value read from the route).
ROUTE_VALUES: tuple[tuple[type[CounterMetricFamily | GaugeMetricFamily], str, str, Callable[[RouteView], float]],
                    ...] = (
    (CounterMetricFamily, "inferd_inference_documents", "Documents answered (cache hits too).",
     lambda route: route.counts.inference_count),
    (CounterMetricFamily, "inferd_inference_cache_hits", "Documents answered from the worker's inference cache.",
     lambda route: route.counts.inference_cache_hit_count),
    (CounterMetricFamily, "inferd_worker_restarts", "Workers started again after a crash.",
     lambda route: route.counts.restarts),
    (GaugeMetricFamily, "inferd_queue_documents", "Documents queued or being inferred.",
     lambda route: route.counts.pending_documents),
)
# Per route: (name, help, the histogram read from the route's latencies).
ROUTE_HISTOGRAMS: tuple[tuple[str, str, Callable[[RequestLatencies], Histogram]], ...] = (
    ("inferd_request_queue_seconds", "Time a request waited in the queue.", lambda latencies: latencies.queue),
    ("inferd_request_inference_seconds", "Time from leaving the queue to the answer.",
     lambda latencies: latencies.inference),
    ("inferd_request_seconds", "Time from admission to the answer.", lambda latencies: latencies.total),
)


class DeploymentCollector(Collector):
    def __init__(self, deployments: DeploymentManager) -> None:
        self._deployments = deployments

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "inferd_inference_requests", "Requests each route answered (answered), failed (error), refused with a "
            "full queue (rejected) or let time out (timeout); a request retried on another route counts on both.",
            labels=[*ROUTE_LABELS, "outcome"])
        values = [(family(name, text, labels=ROUTE_LABELS), read) for family, name, text, read in ROUTE_VALUES]
        histograms = [(HistogramMetricFamily(name, text, labels=ROUTE_LABELS), read)
                      for name, text, read in ROUTE_HISTOGRAMS]
        current = GaugeMetricFamily("inferd_allocations", "Allocations serving.", labels=DEPLOYMENT_LABELS)
        target = GaugeMetricFamily("inferd_target_allocations", "Allocations asked for.", labels=DEPLOYMENT_LABELS)
        for deployment in self._deployments.views():
            ids = [deployment.deployment_id, deployment.model_id]
            current.add_metric(ids, deployment.allocation_count)
            target.add_metric(ids, deployment.number_of_allocations)
            for route in deployment.routes:
                labels = [*ids, route.node_id]
                for outcome in OUTCOMES:
                    requests.add_metric([*labels, outcome], route.latencies.outcomes[outcome])
                for family, read in values:
                    family.add_metric(labels, read(route))
                for histogram_family, read_histogram in histograms:
                    histogram = read_histogram(route.latencies)
                    histogram_family.add_metric(labels, _buckets(histogram), histogram.sum)
        yield from (requests, *(family for family, _ in values), *(family for family, _ in histograms), current, target)


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    return [("+Inf" if bound == float("inf") else repr(bound), count) for bound, count in histogram.cumulative()]
