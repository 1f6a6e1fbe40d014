"""A model's builds: create one and upload it in parts (Elasticsearch's chunked protocol), list, pick the
default, delete (docs/rollouts.md, "Builds")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool

from inferd.api.body import JsonBody
from inferd.api.privileges import Privilege, require_privilege
from inferd.api.schemas.build import BuildBody, render_build
from inferd.api.schemas.requests import Part, definition_part_of, vocabulary_of
from inferd.api.state import Deployments, Registry
from inferd.control.builds import MAX_BUILD_NUMBER, find_build
from inferd.control.request_body import parse_body

router = APIRouter(prefix="/_inferd/models/{model_id}/builds")

Build = Annotated[int, Path(le=MAX_BUILD_NUMBER)]


def manage(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MANAGE_ML, f"cluster:admin/inferd/models/builds/{action}"))]


@router.put("", dependencies=manage("put"))
async def put_build(model_id: str, body: JsonBody, models: Registry, deployments: Deployments) -> dict[str, Any]:
    """Create the model's next build, empty; its parts and vocabulary follow."""
    request = BuildBody() if body is None else parse_body(BuildBody, body, "inferd_build")
    build = await run_in_threadpool(models.create_build, model_id, request.inference_config, request.comment)
    model = await run_in_threadpool(models.get_model, model_id)
    return render_build(model, build, deployments.views_of_model(model_id))


@router.put("/{build}/definition/{part}", dependencies=manage("definition/put"))
def put_build_definition_part(model_id: str, build: Build, part: Part, body: JsonBody, models: Registry,
                              ) -> dict[str, bool]:
    request = definition_part_of(body)
    models.put_definition_part(
        model_id, part, request.definition, request.total_definition_length, request.total_parts, build_number=build
    )
    return {"acknowledged": True}


@router.put("/{build}/vocabulary", dependencies=manage("vocabulary/put"))
def put_build_vocabulary(model_id: str, build: Build, body: JsonBody, models: Registry) -> dict[str, bool]:
    models.put_vocabulary(model_id, vocabulary_of(body), build_number=build)
    return {"acknowledged": True}


GET = [Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/inferd/models/builds/get"))]


@router.get("", dependencies=GET)
async def get_builds(model_id: str, models: Registry, deployments: Deployments) -> dict[str, Any]:
    """Every build, newest first, with the default marked and the deployments that run each."""
    model = await run_in_threadpool(models.get_model, model_id)
    deployed = deployments.views_of_model(model_id)
    return {
        "model_id": model.model_id,
        "default_build": model.build.build_number,
        "builds": [render_build(model, build, deployed) for build in model.builds],
    }


@router.get("/{build}", dependencies=GET)
async def get_build(model_id: str, build: Build, models: Registry, deployments: Deployments) -> dict[str, Any]:
    model = await run_in_threadpool(models.get_model, model_id)
    return render_build(model, find_build(model, build), deployments.views_of_model(model_id))


@router.post("/{build}/_set_default", dependencies=manage("set_default"))
async def set_default_build(model_id: str, build: Build, models: Registry) -> dict[str, Any]:
    """Make a ready build the one Elasticsearch's `_start` and GET use."""
    await run_in_threadpool(models.set_default_build, model_id, build)
    return {"acknowledged": True, "default_build": build}


@router.delete("/{build}", dependencies=manage("delete"))
async def delete_build(model_id: str, build: Build, models: Registry, deployments: Deployments) -> dict[str, bool]:
    """Delete a build no deployment runs (409 otherwise)."""
    in_use = [d.deployment_id for d in deployments.views_of_model(model_id) if build in d.builds_in_use]
    await run_in_threadpool(models.delete_build, model_id, build, in_use)
    return {"acknowledged": True}
