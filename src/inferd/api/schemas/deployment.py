"""Rendering deployments as Elasticsearch's TrainedModelAssignment and deployment_stats (reference §1.5, §1.6)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from inferd.api.schemas.scaling import render_scaler_status
from inferd.api.human import human_time
from inferd.cluster.nodes import Node
from inferd.control.scaling import ScalerStatus
from inferd.control.views import DeploymentView, RouteView

TRANSPORT_ADDRESS = "127.0.0.1:9300"


def iso_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _adaptive(deployment: DeploymentView) -> dict[str, Any] | None:
    adaptive = deployment.adaptive_allocations
    return None if adaptive is None else adaptive.render()


def render_assignment(deployment: DeploymentView) -> dict[str, Any]:
    routing_table = {}
    for route in deployment.routes:
        entry: dict[str, Any] = {
            "current_allocations": route.current_allocations,
            "target_allocations": route.allocations,
            "routing_state": str(route.routing_state),
        }
        if route.reason:
            entry["reason"] = route.reason
        routing_table[route.node_id] = entry
    resources = deployment.resources
    assignment: dict[str, Any] = {
        "task_parameters": {
            "model_id": deployment.model_id,
            "deployment_id": deployment.deployment_id,
            "model_bytes": deployment.model_bytes,
            "threads_per_allocation": resources.threads_per_allocation,
            "number_of_allocations": deployment.number_of_allocations,
            "queue_capacity": resources.queue_capacity,
            "cache_size": resources.cache_size,
            "priority": str(resources.priority),
            "per_deployment_memory_bytes": deployment.per_deployment_memory_bytes,
            "per_allocation_memory_bytes": deployment.per_allocation_memory_bytes,
        },
        "routing_table": routing_table,
        "assignment_state": str(deployment.state),
    }
    if deployment.reason:
        assignment["reason"] = deployment.reason
    assignment["start_time"] = iso_time(deployment.start_time_ms)
    assignment["max_assigned_allocations"] = deployment.max_assigned_allocations
    assignment["adaptive_allocations"] = _adaptive(deployment)
    return assignment


def _if_positive(target: dict[str, Any], name: str, value: int) -> None:
    if value > 0:
        target[name] = value


def _node_info(node: Node | None, node_id: str) -> dict[str, Any]:
    attributes = {}
    if node is not None:
        attributes = {"ml.allocated_processors": str(node.processors), "ml.machine_memory": str(node.memory_bytes)}
    name = node.display_name if node is not None else node_id
    address = node.address if node is not None and node.address else TRANSPORT_ADDRESS
    return {node_id: {"name": name, "ephemeral_id": node_id, "transport_address": address,
                      "external_id": node_id, "attributes": attributes, "roles": ["ml"]}}


def render_gpus(node: Node | None) -> list[dict[str, Any]]:
    """A node's GPUs as inferd's API shows them (none on a CPU node)."""
    return [{"device": gpu.device, "name": gpu.name, "memory_bytes": gpu.memory_bytes}
            for gpu in (node.gpus if node is not None else ())]


def _render_node(route: RouteView, node: Node | None, human: bool) -> dict[str, Any]:
    stats = route.counts
    routing_state: dict[str, Any] = {"routing_state": str(route.routing_state)}
    if route.reason:
        routing_state["reason"] = route.reason
    entry: dict[str, Any] = {"node": _node_info(node, route.node_id), "routing_state": routing_state,
                             "inference_count": stats.inference_count}
    average = stats.average_inference_time_ms
    if average is not None:
        entry["average_inference_time_ms"] = average
        entry["average_inference_time_ms_excluding_cache_hits"] = stats.average_inference_time_ms_excluding_cache_hits
    entry["inference_cache_hit_count"] = stats.inference_cache_hit_count
    if stats.last_access_ms is not None:
        entry["last_access"] = stats.last_access_ms
        if human:
            entry["last_access_string"] = human_time(stats.last_access_ms)
    entry["number_of_pending_requests"] = stats.pending_documents
    _if_positive(entry, "error_count", stats.error_count)
    _if_positive(entry, "rejected_execution_count", stats.rejected_count)
    _if_positive(entry, "timeout_count", stats.timeout_count)
    entry["start_time"] = route.start_time_ms
    if human:
        entry["start_time_string"] = human_time(route.start_time_ms)
    entry["threads_per_allocation"] = route.threads_per_allocation
    entry["number_of_allocations"] = route.current_allocations
    entry["peak_throughput_per_minute"] = stats.peak_throughput_per_minute
    entry["throughput_last_minute"] = stats.throughput_last_minute
    last_minute = stats.average_inference_time_ms_last_minute
    if last_minute is not None:
        entry["average_inference_time_ms_last_minute"] = last_minute
    entry["inference_cache_hit_count_last_minute"] = stats.inference_cache_hit_count_last_minute
    entry["inferd"] = {"device": route.device, "gpus": render_gpus(node)}
    return entry


def render_deployment_stats(deployment: DeploymentView, nodes: Mapping[str, Node], *, human: bool,
                            scaler_status: ScalerStatus | None = None, waiting_requests: int = 0) -> dict[str, Any]:
    routes = deployment.routes
    resources = deployment.resources
    stats: dict[str, Any] = {
        "deployment_id": deployment.deployment_id,
        "model_id": deployment.model_id,
        "threads_per_allocation": resources.threads_per_allocation,
        "number_of_allocations": deployment.number_of_allocations,
    }
    if deployment.adaptive_allocations is not None:
        stats["adaptive_allocations"] = _adaptive(deployment)
    stats |= {
        "queue_capacity": resources.queue_capacity,
        "cache_size": resources.cache_size,
        "priority": str(resources.priority),
        "state": str(deployment.state),
    }
    if deployment.reason:
        stats["reason"] = deployment.reason
    if not deployment.stopping:
        stats["allocation_status"] = {
            "allocation_count": deployment.allocation_count,
            "target_allocation_count": deployment.number_of_allocations,
            "state": str(deployment.allocation_state),
        }
    stats["start_time"] = deployment.start_time_ms
    if human:
        stats["start_time_string"] = human_time(deployment.start_time_ms)
    _if_positive(stats, "error_count", sum(route.counts.error_count for route in routes))
    _if_positive(stats, "rejected_execution_count", sum(route.counts.rejected_count for route in routes))
    _if_positive(stats, "timeout_count", sum(route.counts.timeout_count for route in routes))
    _if_positive(stats, "inference_count", sum(route.counts.inference_count for route in routes))
    stats["peak_throughput_per_minute"] = sum(route.counts.peak_throughput_per_minute for route in routes)
    stats["nodes"] = [_render_node(route, nodes.get(route.node_id), human) for route in routes]
    stats["inferd"] = {"build": deployment.build_number, "max_batch_documents": resources.max_batch_documents,
                       "device": str(resources.device), "precision": str(resources.precision)}
    if deployment.adaptive_allocations is not None and deployment.adaptive_allocations.enabled:
        stats["inferd"]["adaptive_allocations"] = render_scaler_status(scaler_status, waiting_requests)
    return stats


def deployment_inference_stats(deployment: DeploymentView, now_ms: int) -> dict[str, Any]:
    """inference_stats of a deployed model: sums over its routes (failures = errors + timeouts + rejections)."""
    routes = deployment.routes
    return {
        "failure_count": sum(route.counts.failures for route in routes),
        "inference_count": sum(route.counts.inference_count for route in routes),
        "cache_miss_count": 0,
        "missing_all_fields_count": 0,
        "timestamp": now_ms,
    }
