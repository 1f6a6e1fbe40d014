"""Elasticsearch's `_inference` API for the `elasticsearch` service: endpoints served by deployments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from inferd.api.body import JsonBody
from inferd.api.params import EsBool
from inferd.api.privileges import Actor, Privilege, require_privilege
from inferd.api.state import Endpoints, Pipelines
from inferd.control.inference_endpoint_request import EndpointTaskType, parse_task_type

router = APIRouter(prefix="/_inference")

PUT = [Depends(require_privilege(Privilege.MANAGE_INFERENCE, "cluster:admin/xpack/inference/put"))]
UPDATE = [Depends(require_privilege(Privilege.MANAGE_INFERENCE, "cluster:admin/xpack/inference/update"))]
DELETE = [Depends(require_privilege(Privilege.MANAGE_INFERENCE, "cluster:admin/xpack/inference/delete"))]
GET = [Depends(require_privilege(Privilege.MONITOR_INFERENCE, "cluster:monitor/xpack/inference/get"))]
INFER = [Depends(require_privilege(Privilege.MONITOR_INFERENCE, "cluster:monitor/xpack/inference"))]


def _task(task_type: str | None) -> EndpointTaskType | None:
    return None if task_type is None else parse_task_type(task_type)


# `_update` first: `/_inference/{id}/_update` would otherwise read as `/{task_type}/{inference_id}`.
@router.put("/{inference_id}/_update", dependencies=UPDATE)
@router.put("/{task_type}/{inference_id}/_update", dependencies=UPDATE)
async def update_inference_endpoint(inference_id: str, body: JsonBody, endpoints: Endpoints, actor: Actor,
                                    task_type: str | None = None) -> dict[str, Any]:
    """Change the allocations (or adaptive allocations) of the endpoint's deployment, or its task settings."""
    return endpoints.render(await endpoints.update(_task(task_type), inference_id, body, actor))


@router.put("/{task_type}/{inference_id}", dependencies=PUT)
async def put_inference_endpoint(task_type: str, inference_id: str, body: JsonBody, endpoints: Endpoints,
                                 actor: Actor, timeout: str | None = None) -> dict[str, Any]:
    """Create an endpoint: start a deployment of `service_settings.model_id` named after it (or attach to
    `service_settings.deployment_id`) and wait until it has started."""
    endpoint = await endpoints.put(parse_task_type(task_type), inference_id, body, timeout, actor)
    return endpoints.render(endpoint)


@router.get("", dependencies=GET)
@router.get("/{inference_id}", dependencies=GET)
@router.get("/{task_type}/{inference_id}", dependencies=GET)
async def get_inference_endpoints(endpoints: Endpoints, inference_id: str | None = None,
                                  task_type: str | None = None) -> dict[str, Any]:
    if task_type is None and inference_id is not None and inference_id in EndpointTaskType.__members__.values():
        task_type, inference_id = inference_id, None  # `GET _inference/{task_type}`: that task's endpoints
    found = endpoints.find(_task(task_type), inference_id)
    return {"endpoints": [endpoints.render(endpoint) for endpoint in found]}


@router.post("/{inference_id}", dependencies=INFER)
@router.post("/{task_type}/{inference_id}", dependencies=INFER)
async def infer_with_endpoint(inference_id: str, body: JsonBody, endpoints: Endpoints, task_type: str | None = None,
                              timeout: str | None = None) -> dict[str, Any]:
    """One result per input: `text_embedding`, `sparse_embedding` or `rerank` (sorted by relevance)."""
    return await endpoints.infer(_task(task_type), inference_id, body, timeout)


@router.delete("/{inference_id}", dependencies=DELETE)
@router.delete("/{task_type}/{inference_id}", dependencies=DELETE)
async def delete_inference_endpoint(inference_id: str, endpoints: Endpoints, pipelines: Pipelines, actor: Actor,
                                    task_type: str | None = None, force: EsBool = False,
                                    dry_run: EsBool = False) -> dict[str, Any]:
    """Forget the endpoint and stop the deployment it started (one it attached to keeps running)."""
    using = await endpoints.delete(_task(task_type), inference_id, force=force, dry_run=dry_run,
                                   pipelines_using=lambda name: pipelines.pipelines_using([name]), actor=actor)
    return {"acknowledged": not dry_run, "pipelines": using}
