"""inferd's deployment workflows: list and show deployments (stopped ones too), re-deploy, roll back, restart,
stop, start again, and each deployment's history. See docs/rollouts.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from inferd.api.body import JsonBody
from inferd.api.privileges import Actor, Privilege, require_privilege
from inferd.api.schemas.rollout import render_history_entry, render_rollout, render_stopped, render_view
from inferd.api.state import Deployments
from inferd.control.deployment_request import DEFAULT_START_TIMEOUT, WAIT_STATES, parse_timeout
from inferd.control.rollout_request import parse_rollout_request
from inferd.errors import ResourceNotFound, ValidationFailed

router = APIRouter(prefix="/_inferd/deployments")


def manage(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MANAGE_ML, f"cluster:admin/inferd/deployments/{action}"))]


def monitor(action: str) -> list[Any]:
    return [Depends(require_privilege(Privilege.MONITOR_ML, f"cluster:monitor/inferd/deployments/{action}"))]


def _given(**params: Any) -> dict[str, str]:
    return {name: value for name, value in params.items() if value is not None}


@router.get("", dependencies=monitor("get"))
async def list_deployments(deployments: Deployments) -> dict[str, Any]:
    """Every deployment, running or stopped, by id."""
    views = [render_view(deployment) for deployment in deployments.views()]
    views += [render_stopped(record) for record in await deployments.stopped()]
    return {"deployments": sorted(views, key=lambda view: view["deployment_id"])}


@router.get("/{deployment_id}", dependencies=monitor("get"))
async def get_deployment(deployment_id: str, deployments: Deployments) -> dict[str, Any]:
    try:
        return render_view(deployments.view(deployment_id))
    except ResourceNotFound:
        return render_stopped(await deployments.stopped_record(deployment_id))


@router.get("/{deployment_id}/history", dependencies=monitor("history/get"))
async def get_deployment_history(deployment_id: str, deployments: Deployments) -> dict[str, Any]:
    """Every start, change, rollout, stop and failure of the deployment, newest first."""
    entries = await deployments.history(deployment_id)
    return {"deployment_id": deployment_id, "history": [render_history_entry(entry) for entry in entries]}


async def _roll_out(action: str, deployment_id: str, body: Any, deployments: Any, actor: str,
                    query: dict[str, str]) -> dict[str, Any]:
    request = parse_rollout_request(action, query, body)
    deployment, rollout = await deployments.roll_out(deployment_id, request, actor)
    return {"deployment": render_view(deployment), "rollout": render_rollout(rollout)}


@router.post("/{deployment_id}/_redeploy", dependencies=manage("redeploy"))
async def redeploy(deployment_id: str, body: JsonBody, deployments: Deployments, actor: Actor,
                   wait_for: str | None = None, timeout: str | None = None) -> dict[str, Any]:
    """Roll out a build (by default the one it runs) with new resources; allocations alone resize in place."""
    return await _roll_out("redeploy", deployment_id, body, deployments, actor, _given(wait_for=wait_for, timeout=timeout))


@router.post("/{deployment_id}/_rollback", dependencies=manage("rollback"))
async def rollback(deployment_id: str, body: JsonBody, deployments: Deployments, actor: Actor,
                   wait_for: str | None = None, timeout: str | None = None) -> dict[str, Any]:
    """Roll out the build that served before the current one (or a named one) with the resources it had."""
    return await _roll_out("rollback", deployment_id, body, deployments, actor, _given(wait_for=wait_for, timeout=timeout))


@router.post("/{deployment_id}/_restart", dependencies=manage("restart"))
async def restart(deployment_id: str, body: JsonBody, deployments: Deployments, actor: Actor,
                  wait_for: str | None = None, timeout: str | None = None) -> dict[str, Any]:
    """Replace every worker with a fresh one, same build and resources, without a gap."""
    return await _roll_out("restart", deployment_id, body, deployments, actor, _given(wait_for=wait_for, timeout=timeout))


@router.post("/{deployment_id}/_stop", dependencies=manage("stop"))
async def stop(deployment_id: str, deployments: Deployments, actor: Actor) -> dict[str, Any]:
    """Drain and stop; the deployment stays in inferd's history, to be started again."""
    deployments.view(deployment_id)  # 404 for a deployment that does not run
    await deployments.stop(deployment_id, allow_no_match=False, actor=actor)
    return render_stopped(await deployments.stopped_record(deployment_id))


@router.post("/{deployment_id}/_start", dependencies=manage("start"))
async def start_again(deployment_id: str, deployments: Deployments, actor: Actor, wait_for: str | None = None,
                      timeout: str | None = None) -> dict[str, Any]:
    """Start a stopped deployment again with the build and settings it had (one that runs is answered as it is)."""
    wait_state = wait_for or "started"
    if wait_state not in WAIT_STATES:
        raise ValidationFailed([f"invalid [wait_for] state [{wait_state}]; must be one of [{', '.join(WAIT_STATES)}]"])
    timeout_s, timeout_text = parse_timeout(_given(timeout=timeout), DEFAULT_START_TIMEOUT)
    deployment = await deployments.start_again(deployment_id, wait_state, timeout_s, timeout_text, actor)
    return render_view(deployment)
