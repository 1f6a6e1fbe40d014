"""The deployment APIs: start, update, stop, infer, clear the cache, and inferd's look inside a worker."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from inferd.api.body import JsonBody
from inferd.api.deprecation import warn
from inferd.api.limits import RequestLimits, check_infer_documents, request_limits
from inferd.api.params import EsBool
from inferd.api.privileges import Actor, Privilege, require_privilege
from inferd.api.responses import FastJSONResponse
from inferd.api.schemas.deployment import render_assignment
from inferd.api.schemas.requests import stop_allows_no_match
from inferd.api.schemas.scaling import render_scaling_event
from inferd.api.state import Deployments
from inferd.control.deployment_request import parse_start_request, parse_update_request
from inferd.errors import IllegalArgument, ParseError, ValidationFailed
from inferd.units import parse_time_value

router = APIRouter()


def manage(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MANAGE_ML, action))]


def monitor(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MONITOR_ML, action))]


INFER = "cluster:monitor/xpack/ml/inference/infer"

DEFAULT_INFER_TIMEOUT = "10s"
DEPRECATED_INFER = (
    "[POST /_ml/trained_models/{model_id}/deployment/_infer] is deprecated! "
    "Use [POST /_ml/trained_models/{model_id}/_infer] instead."
)


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


async def infer_documents(
    model_id: str, body: Any, deployments: Any, timeout: str | None, limits: RequestLimits
) -> FastJSONResponse:
    """The answer is a response already, so FastAPI's generic encoder never walks the results (the hot path)."""
    timeout_text = timeout if timeout is not None else DEFAULT_INFER_TIMEOUT
    try:
        timeout_s = parse_time_value(timeout_text, "timeout")
    except ValueError as error:
        raise IllegalArgument(str(error)) from None
    if body is None:
        raise ValidationFailed(["[docs] must not be empty"])
    if not isinstance(body, dict):
        raise ParseError("[infer_trained_model] Expected START_OBJECT")
    for name in body:
        if name not in ("docs", "inference_config"):
            raise ParseError(f"[infer_trained_model] unknown field [{name}]")
    documents = body.get("docs")
    if not isinstance(documents, list) or not documents:
        raise ValidationFailed(["[docs] must not be empty"])
    update = body.get("inference_config")
    if update is not None and not isinstance(update, dict):
        raise ParseError("[infer_trained_model] failed to parse field [inference_config]")
    check_infer_documents(documents, limits, update)
    results = await deployments.infer(model_id, documents, update, max(timeout_s, 0.0), timeout_text)
    return FastJSONResponse({"inference_results": results})


INFER_REQUIREMENT = require_privilege(Privilege.MONITOR_ML, INFER)


@router.post("/_ml/trained_models/{model_id}/_infer", dependencies=[Depends(INFER_REQUIREMENT)])
async def infer_trained_model(
    model_id: str, request: Request, body: JsonBody, deployments: Deployments, timeout: str | None = None
) -> FastJSONResponse:
    return await infer_documents(model_id, body, deployments, timeout, request_limits(request))


@router.post("/_ml/trained_models/{model_id}/deployment/_infer", dependencies=monitor(INFER))
async def infer_trained_model_deployment(
    model_id: str, request: Request, body: JsonBody, deployments: Deployments, timeout: str | None = None
) -> FastJSONResponse:
    answer = await infer_documents(model_id, body, deployments, timeout, request_limits(request))
    warn(answer, DEPRECATED_INFER)
    return answer


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
    deployment = deployments.get(deployment_id)
    workers = []
    for node_id, route in sorted(deployment.routes.items()):
        report = await route.worker_stats()
        entry: dict[str, Any] = {"node": node_id, "routing_state": str(route.state)}
        if report is not None:
            entry |= {"pid": report.pid, "load_count": report.load_count, "allocations": report.allocations,
                      "threads_per_allocation": report.threads_per_allocation, "batches": report.batches,
                      "memory_max_rss_bytes": report.memory_max_rss_bytes, "cache_bytes": report.cache_bytes,
                      "cache_hits": report.cache_hits, "cache_misses": report.cache_misses,
                      "load_time_ms": route.load_time_ms}
        workers.append(entry)
    return {"deployment_id": deployment_id, "workers": workers}


@router.get("/_inferd/deployments/{deployment_id}/events",
            dependencies=monitor("cluster:monitor/inferd/deployments/events/get"))
async def get_deployment_scaling_events(deployment_id: str, deployments: Deployments) -> dict[str, Any]:
    """The adaptive allocations scaler's decisions for the deployment, newest first, each with its inputs."""
    deployment = deployments.get(deployment_id)
    return {"deployment_id": deployment.deployment_id,
            "events": [render_scaling_event(event) for event in deployments.scaler.events(deployment_id)]}
