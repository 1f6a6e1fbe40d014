"""The trained-model APIs: config, definition parts, vocabulary, listing, stats and deletion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from inferd.api.body import JsonBody
from inferd.api.params import EsBool
from inferd.api.privileges import Privilege, require_privilege
from inferd.api.schemas.requests import Part, definition_part_of, vocabulary_of
from inferd.api.schemas.deployment import deployment_inference_stats, render_deployment_stats
from inferd.api.schemas.trained_model import render_model_config, render_model_stats
from inferd.api.state import Deployments, Registry, State
from inferd.control import TrainedModelConfigBody
from inferd.control.request_body import parse_body
from inferd.errors import BadRequest, IllegalArgument, StatusConflict
from inferd.store import ModelRecord

router = APIRouter(prefix="/_ml/trained_models")


def manage(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MANAGE_ML, action))]


def monitor(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MONITOR_ML, action))]


INCLUDE_OPTIONS = (
    "definition",
    "feature_importance_baseline",
    "hyperparameters",
    "total_feature_importance",
    "definition_status",
)
MAX_RESULT_WINDOW = 10_000

From = Annotated[int, Query(alias="from")]


def page(models: list[ModelRecord], start: int, size: int) -> list[ModelRecord]:
    """Elasticsearch's PageParams checks, then the slice."""
    if start < 0:
        raise IllegalArgument("Parameter [from] cannot be < 0")
    if size < 0:
        raise IllegalArgument("Parameter [size] cannot be < 0")
    if start + size > MAX_RESULT_WINDOW:
        raise IllegalArgument(f"The sum of parameters [from] and [size] cannot be higher than {MAX_RESULT_WINDOW}.")
    return models[start : start + size]


@router.put("/{model_id}", dependencies=manage("cluster:admin/xpack/ml/inference/put"))
async def put_trained_model(
    model_id: str,
    body: JsonBody,
    models: Registry,
    deployments: Deployments,
    defer_definition_decompression: EsBool = False,
    wait_for_completion: EsBool = False,
) -> dict[str, Any]:
    config = parse_body(TrainedModelConfigBody, body, "trained_model_config")
    if deployments.has(model_id):
        raise BadRequest(f"Cannot create model [{model_id}] the id is the same as an current model deployment")
    return render_model_config(await run_in_threadpool(models.put_model, model_id, config))


@router.put("/{model_id}/definition/{part}", dependencies=manage("cluster:admin/xpack/ml/trained_models/part/put"))
def put_trained_model_definition_part(model_id: str, part: Part, body: JsonBody, models: Registry) -> dict[str, bool]:
    request = definition_part_of(body)
    models.put_definition_part(
        model_id, part, request.definition, request.total_definition_length, request.total_parts
    )
    return {"acknowledged": True}


@router.put("/{model_id}/vocabulary", dependencies=manage("cluster:admin/xpack/ml/trained_models/vocabulary/put"))
def put_trained_model_vocabulary(
    model_id: str, body: JsonBody, models: Registry
) -> dict[str, bool]:
    models.put_vocabulary(model_id, vocabulary_of(body))
    return {"acknowledged": True}


STATS = "cluster:monitor/xpack/ml/inference/stats/get"


@router.get("/_stats", dependencies=monitor(STATS))
@router.get("/{model_id}/_stats", dependencies=monitor(STATS))
async def get_trained_models_stats(
    models: Registry,
    deployments: Deployments,
    state: State,
    model_id: str | None = None,
    allow_no_match: EsBool = True,
    start: From = 0,
    size: int = 100,
    human: EsBool = False,
) -> dict[str, Any]:
    """One entry per model, or one per deployment of a deployed model (`count` still counts models)."""
    found = await run_in_threadpool(models.find_models, model_id, allow_no_match=allow_no_match)
    now_ms = state.clock.now_ms()
    nodes = {node.node_id: node for node in deployments.nodes()}
    entries = []
    for model in page(found, start, size):
        deployed = deployments.views_of_model(model.model_id)
        names = {model.model_id, *model.aliases, *(deployment.deployment_id for deployment in deployed)}
        model_stats = render_model_stats(model, now_ms, human=human, ingest=state.pipelines.model_ingest(names))
        entries += [
            {
                **model_stats,
                "inference_stats": deployment_inference_stats(deployment, now_ms),
                "deployment_stats": render_deployment_stats(
                    deployment, nodes, human=human, scaler_status=deployments.scaler.status(deployment.deployment_id),
                    waiting_requests=deployments.allocation_waits.waiting(deployment.deployment_id)),
            }
            for deployment in deployed
        ] or [model_stats]
    return {"count": len(found), "trained_model_stats": entries}


GET = "cluster:monitor/xpack/ml/inference/get"


@router.get("", dependencies=monitor(GET))
@router.get("/{model_id}", dependencies=monitor(GET))
def get_trained_models(
    models: Registry,
    model_id: str | None = None,
    allow_no_match: EsBool = True,
    decompress_definition: EsBool = True,
    exclude_generated: EsBool = False,
    start: From = 0,
    size: int = 100,
    include: str | None = None,
    tags: str | None = None,
    human: EsBool = False,
) -> dict[str, Any]:
    if include is not None and include not in INCLUDE_OPTIONS:
        raise IllegalArgument(f"[include] must be one of [{', '.join(INCLUDE_OPTIONS)}]; got [{include}]")
    found = models.find_models(model_id, allow_no_match=allow_no_match)
    if tags:
        wanted = {tag.strip() for tag in tags.split(",") if tag.strip()}
        found = [model for model in found if wanted <= set(model.build.config.get("tags", ()))]
    if include == "definition":
        if len(found) > 1:
            raise BadRequest("Getting model definition is not supported when getting more than one model")
        if found:
            raise BadRequest(f"[{found[0].model_id}] is type [pytorch] and does not support retrieving the definition")
    configs = [
        render_model_config(
            model, human=human, definition_status=include == "definition_status", exclude_generated=exclude_generated
        )
        for model in page(found, start, size)
    ]
    return {"count": len(found), "trained_model_configs": configs}


@router.delete("/{model_id}", dependencies=manage("cluster:admin/xpack/ml/inference/delete"))
async def delete_trained_model(
    model_id: str, models: Registry, deployments: Deployments, force: EsBool = False, timeout: str = "30s"
) -> dict[str, bool]:
    deployed = deployments.views_of_model(model_id)
    if deployed and not force:
        raise StatusConflict(f"Cannot delete model [{model_id}] as it is currently deployed; use force to delete the model")
    if deployed:
        await deployments.stop(",".join(d.deployment_id for d in deployed), allow_no_match=True)
    await run_in_threadpool(models.delete_model, model_id)
    await deployments.forget_model(model_id)
    return {"acknowledged": True}
