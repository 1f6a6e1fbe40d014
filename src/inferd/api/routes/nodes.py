"""inferd's nodes: what each offers and runs, and taking a virtual node out (as if its machine died) and back."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from inferd.api.privileges import Privilege, require_privilege
from inferd.api.schemas.deployment import render_gpus
from inferd.api.state import Deployments

router = APIRouter(prefix="/_inferd/nodes")


@router.get("", dependencies=[Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/inferd/nodes/get"))])
async def get_nodes(deployments: Deployments) -> dict[str, Any]:
    """Each node's processors, memory and GPUs for inference, whether it is available, and the allocations it runs."""
    running: dict[str, dict[str, int]] = {}
    for deployment in deployments.views():
        for route in deployment.routes:
            running.setdefault(route.node_id, {})[deployment.deployment_id] = route.allocations
    return {"nodes": [
        {"node_id": node.node_id, "name": node.display_name, "address": node.address, "processors": node.processors, "memory_bytes": node.memory_bytes,
         "gpus": render_gpus(node), "available": available, "allocations": running.get(node.node_id, {})}
        for node, available in deployments.all_nodes()
    ]}


@router.post("/{node_id}/_fail", dependencies=[Depends(require_privilege(Privilege.MANAGE_ML, "cluster:admin/inferd/nodes/fail"))])
async def fail_node(node_id: str, deployments: Deployments) -> dict[str, bool]:
    """Lose the node now: its workers are killed, their requests retried elsewhere, their allocations re-placed."""
    await deployments.set_node_available(node_id, False)
    return {"acknowledged": True}


@router.post("/{node_id}/_recover",
             dependencies=[Depends(require_privilege(Privilege.MANAGE_ML, "cluster:admin/inferd/nodes/recover"))])
async def recover_node(node_id: str, deployments: Deployments) -> dict[str, bool]:
    """Bring a lost node back: deployments short of allocations fill up on it."""
    await deployments.set_node_available(node_id, True)
    return {"acknowledged": True}
