"""Model aliases: stable names that can move from one model to another."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from inferd.api.params import EsBool
from inferd.api.privileges import Privilege, require_privilege
from inferd.api.state import Deployments, Registry

router = APIRouter(prefix="/_ml/trained_models/{model_id}/model_aliases")


@router.put("/{model_alias}", dependencies=[
    Depends(require_privilege(Privilege.MANAGE_ML, "cluster:admin/xpack/ml/inference/model_aliases/put"))])
async def put_trained_model_alias(
    model_id: str, model_alias: str, models: Registry, deployments: Deployments, reassign: EsBool = False
) -> dict[str, bool]:
    # The deployments are read here, on the event loop that changes them; the store is written off it.
    assignments = deployments.assignments()
    await run_in_threadpool(models.put_alias, model_id, model_alias, reassign=reassign, assignments=assignments)
    return {"acknowledged": True}


@router.delete("/{model_alias}", dependencies=[
    Depends(require_privilege(Privilege.MANAGE_ML, "cluster:admin/xpack/ml/inference/model_aliases/delete"))])
def delete_trained_model_alias(
    model_id: str, model_alias: str, models: Registry
) -> dict[str, bool]:
    models.delete_alias(model_id, model_alias)
    return {"acknowledged": True}
