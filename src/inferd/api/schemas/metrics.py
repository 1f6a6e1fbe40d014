"""The deployments' counters, queues and latencies as Prometheus metric families, read at scrape time.

Nothing is counted twice: the collector reads the routes' own stats (the ones `_stats` shows) when
Prometheus scrapes, so the two views always agree. Every series is labelled by deployment, model and node.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from inferd.control import DeploymentManager
from inferd.runtime.latency import OUTCOMES, Histogram

ROUTE_LABELS = ["deployment_id", "model_id", "node"]
DEPLOYMENT_LABELS = ["deployment_id", "model_id"]


class DeploymentCollector(Collector):
    def __init__(self, deployments: DeploymentManager) -> None:
        self._deployments = deployments

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "inferd_inference_requests", "Requests each route answered (answered), failed (error), refused with a "
            "full queue (rejected) or let time out (timeout); a request retried on another route counts on both.",
            labels=[*ROUTE_LABELS, "outcome"])
        counters = {
            "documents": CounterMetricFamily("inferd_inference_documents", "Documents answered (cache hits too).",
                                             labels=ROUTE_LABELS),
            "cache_hits": CounterMetricFamily("inferd_inference_cache_hits", "Documents answered from the worker's "
                                              "inference cache.", labels=ROUTE_LABELS),
            "restarts": CounterMetricFamily("inferd_worker_restarts", "Workers started again after a crash.",
                                            labels=ROUTE_LABELS),
        }
        queue_depth = GaugeMetricFamily("inferd_queue_documents", "Documents queued or being inferred.",
                                        labels=ROUTE_LABELS)
        histograms = {
            "queue": HistogramMetricFamily("inferd_request_queue_seconds", "Time a request waited in the queue.",
                                           labels=ROUTE_LABELS),
            "inference": HistogramMetricFamily("inferd_request_inference_seconds", "Time from leaving the queue "
                                               "to the answer.", labels=ROUTE_LABELS),
            "total": HistogramMetricFamily("inferd_request_seconds", "Time from admission to the answer.",
                                           labels=ROUTE_LABELS),
        }
        current = GaugeMetricFamily("inferd_allocations", "Allocations serving.", labels=DEPLOYMENT_LABELS)
        target = GaugeMetricFamily("inferd_target_allocations", "Allocations asked for.", labels=DEPLOYMENT_LABELS)
        for deployment in self._deployments.all():
            ids = [deployment.deployment_id, deployment.model_id]
            current.add_metric(ids, deployment.allocation_count)
            target.add_metric(ids, deployment.number_of_allocations)
            for node_id, route in sorted(deployment.routes.items()):
                labels = [*ids, node_id]
                for outcome in OUTCOMES:
                    requests.add_metric([*labels, outcome], route.latencies.outcomes[outcome])
                values = {"documents": route.stats.inference_count, "cache_hits": route.stats.inference_cache_hit_count,
                          "restarts": route.restarts}
                for name, family in counters.items():
                    family.add_metric(labels, values[name])
                queue_depth.add_metric(labels, route.pending_documents)
                for name, family in histograms.items():
                    histogram: Histogram = getattr(route.latencies, name)
                    family.add_metric(labels, _buckets(histogram), histogram.sum)
        yield from (requests, *counters.values(), queue_depth, *histograms.values(), current, target)


def _buckets(histogram: Histogram) -> list[tuple[str, float]]:
    return [("+Inf" if bound == float("inf") else repr(bound), count) for bound, count in histogram.cumulative()]
