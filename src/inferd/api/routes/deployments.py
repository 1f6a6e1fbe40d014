"""The deployment APIs: start, update, stop, infer, clear the cache, and inferd's look inside a worker."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from inferd.api.body import JsonBody
from inferd.api.deprecation import warn
from inferd.api.params import EsBool
from inferd.api.privileges import Actor, Privilege, require_privilege
from inferd.api.schemas.deployment import render_assignment
from inferd.api.schemas.requests import stop_allows_no_match
from inferd.api.schemas.scaling import render_scaling_event
from inferd.api.state import Deployments
from inferd.control.deployment_request import parse_start_request, parse_update_request

router = APIRouter()


def manage(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MANAGE_ML, action))]


def monitor(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MONITOR_ML, action))]




def _given(**params: Any) -> dict[str, str]:
    return {name: value for name, value in params.items() if value is not None}


@router.post("/_ml/trained_models/{model_id}/deployment/_start",
             dependencies=manage("cluster:admin/xpack/ml/trained_models/deployment/start"))
async def start_trained_model_deployment(
    model_id: str,
    body: JsonBody,
    deployments: Deployments,
    response: Response,
    actor: Actor,
    number_of_allocations: str | None = None,
    threads_per_allocation: str | None = None,
    queue_capacity: str | None = None,
    cache_size: str | None = None,
    priority: str | None = None,
    deployment_id: str | None = None,
    wait_for: str | None = None,
    timeout: str | None = None,
    inference_threads: str | None = None,
    model_threads: str | None = None,
) -> dict[str, Any]:
    query = _given(
        number_of_allocations=number_of_allocations, threads_per_allocation=threads_per_allocation,
        queue_capacity=queue_capacity, cache_size=cache_size, priority=priority, deployment_id=deployment_id,
        wait_for=wait_for, timeout=timeout, inference_threads=inference_threads, model_threads=model_threads,
    )
    request = parse_start_request(model_id, query, body)
    for message in request.warnings:
        warn(response, message)
    return {"assignment": render_assignment(await deployments.start(request, actor))}


@router.post("/_ml/trained_models/{model_id}/deployment/_update",
             dependencies=manage("cluster:admin/xpack/ml/trained_models/deployment/update"))
async def update_trained_model_deployment(
    model_id: str, body: JsonBody, deployments: Deployments, actor: Actor, number_of_allocations: str | None = None
) -> dict[str, Any]:
    request = parse_update_request(_given(number_of_allocations=number_of_allocations), body)
    return {"assignment": render_assignment(await deployments.update(model_id, request, actor))}


@router.post("/_ml/trained_models/{model_id}/deployment/_stop",
             dependencies=manage("cluster:admin/xpack/ml/trained_models/deployment/stop"))
async def stop_trained_model_deployment(
    model_id: str, body: JsonBody, deployments: Deployments, actor: Actor, allow_no_match: EsBool = True,
    force: EsBool = False,
) -> dict[str, bool]:
    allow_no_match = stop_allows_no_match(body, allow_no_match)
    await deployments.stop(model_id, allow_no_match=allow_no_match, actor=actor)
    return {"stopped": True}


@router.post("/_ml/trained_models/{model_id}/deployment/cache/_clear",
             dependencies=manage("cluster:admin/xpack/ml/trained_models/deployment/clear_cache"))
async def clear_trained_model_deployment_cache(model_id: str, deployments: Deployments) -> dict[str, bool]:
    await deployments.clear_cache(model_id)
    return {"cleared": True}


@router.get("/_inferd/deployments/{deployment_id}/workers",
            dependencies=monitor("cluster:monitor/inferd/deployments/workers/get"))
async def get_deployment_workers(deployment_id: str, deployments: Deployments) -> dict[str, Any]:
    """What each worker says of itself: its pid, how often and how long it loaded the model, its allocation threads,
    its cache."""
    workers = []
    for worker in await deployments.worker_reports(deployment_id):
        entry: dict[str, Any] = {"node": worker.node_id, "routing_state": str(worker.routing_state)}
        report = worker.stats
        if report is not None:
            entry |= {"pid": report.pid, "load_count": report.load_count, "allocations": report.allocations,
                      "threads_per_allocation": report.threads_per_allocation, "batches": report.batches,
                      "memory_max_rss_bytes": report.memory_max_rss_bytes, "cache_bytes": report.cache_bytes,
                      "cache_hits": report.cache_hits, "cache_misses": report.cache_misses,
                      "load_time_ms": worker.load_time_ms}
        workers.append(entry)
    return {"deployment_id": deployment_id, "workers": workers}


@router.get("/_inferd/deployments/{deployment_id}/events",
            dependencies=monitor("cluster:monitor/inferd/deployments/events/get"))
async def get_deployment_scaling_events(deployment_id: str, deployments: Deployments) -> dict[str, Any]:
    """The adaptive allocations scaler's decisions for the deployment, newest first, each with its inputs."""
    deployment = deployments.view(deployment_id)
    return {"deployment_id": deployment.deployment_id,
            "events": [render_scaling_event(event) for event in deployments.scaler.events(deployment_id)]}
