"""Placement over virtual nodes through the manager, with in-process workers: allocations split as the planner
says, a shortfall is named not refused, a lost node's routes go where they fit, and its return fills the
shortfall."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferd.cluster.nodes import Node
from inferd.control.deployment import Deployment
from inferd.control.deployment_request import UpdateRequest
from inferd.control.lifecycle import AllocationState, AssignmentState
from inferd.errors import ResourceNotFound
from inferd.runtime.states import RouteState
from tests.support.api import echo_rows
from tests.support.core import GIB, Core, CoreModels, add_model, core_on, documents, run, start_request, until
from tests.support.workers import WorkerKind

NODES = (Node("node-0", 2, 8 * GIB), Node("node-1", 2, 8 * GIB))


def placed(deployment: Deployment) -> dict[str, int]:
    """Its serving routes' allocations, by node."""
    return {node_id: route.allocations for node_id, route in sorted(deployment.routes.items())}


def shortfall(node_id: str, free: int) -> str:
    return (f"Could not assign (more) allocations on node [{node_id}]. Reason: This node has insufficient allocated "
            f"processors. Available processors [2], free processors [{free}], processors required for each "
            "allocation of this model [1]")


async def serves(core: Core, deployment_id: str) -> None:
    results = await core.manager.infer(deployment_id, documents("the cat"), None, 30, "30s")
    assert [result["predicted_value"] for result in results] == [echo_rows("the cat")]


async def fully_allocated(deployment: Deployment) -> None:
    await until(deployment, lambda: deployment.allocation_state is AllocationState.FULLY_ALLOCATED,
                f"{deployment.deployment_id} to be fully allocated")


def test_allocations_split_over_the_nodes_a_shortfall_is_named_and_shrinking_frees_whole_nodes(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.INPROCESS, nodes=NODES) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            view = await manager.start(start_request("m", number_of_allocations="4", wait_for="fully_allocated"))
            deployment = manager.get("m")
            assert placed(deployment) == {"node-0": 2, "node-1": 2} and view.allocation_count == 4
            assert sorted(worker.node_id for worker in core.backend.started) == ["node-0", "node-1"]

            view = await manager.update("m", UpdateRequest(number_of_allocations=6, adaptive_allocations=None))
            assert (view.state, view.allocation_state, view.allocation_count) == (
                AssignmentState.STARTED, AllocationState.STARTED, 4)
            assert view.settings.number_of_allocations == 6
            assert view.reason == f"{shortfall('node-0', 0)}|{shortfall('node-1', 0)}"
            await serves(core, "m")

            view = await manager.update("m", UpdateRequest(number_of_allocations=2, adaptive_allocations=None))
            assert view.reason is None and view.allocation_state is AllocationState.FULLY_ALLOCATED
            await until(deployment, lambda: len(deployment.routes) == 1, "the freed node's route to go")
            (kept,) = deployment.routes.values()
            assert kept.allocations == 2 and kept.state is RouteState.STARTED
            assert len(core.backend.started) == 2  # what stays is the worker it had
            await serves(core, "m")

        run(core, scenario)


def test_a_lost_nodes_routes_move_where_they_fit_and_its_return_fills_the_shortfall(
    tmp_path: Path, core_models: CoreModels
) -> None:
    with core_on(tmp_path, WorkerKind.INPROCESS, nodes=NODES) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            await manager.start(start_request("m", deployment_id="moving", number_of_allocations="2"))
            await manager.start(start_request("m", deployment_id="staying"))
            moving, staying = manager.get("moving"), manager.get("staying")
            assert (placed(moving), placed(staying)) == ({"node-0": 2}, {"node-1": 1})
            (lost,) = moving.routes.values()

            await manager.set_node_available("node-0", False)
            assert [(node.node_id, available) for node, available in manager.all_nodes()] == [
                ("node-0", False), ("node-1", True)]
            assert placed(moving) == {"node-1": 1}  # one allocation fits beside `staying`
            assert moving.reason == shortfall("node-1", 0)
            await until(moving, lambda: lost.state is RouteState.FAILED, "the lost node's worker to be gone")
            assert lost.failed_for_good  # out of the routing table: not restarted
            await until(moving, lambda: moving.state is AssignmentState.STARTED, "moving to serve on node-1")
            assert moving.allocation_state is AllocationState.STARTED
            await serves(core, "moving")
            assert placed(staying) == {"node-1": 1}

            await manager.set_node_available("node-0", True)
            assert placed(moving) == {"node-0": 1, "node-1": 1}
            await fully_allocated(moving)
            assert moving.reason is None
            await serves(core, "moving")

            with pytest.raises(ResourceNotFound, match=r"^No known node \[node-9\]$"):
                await manager.set_node_available("node-9", False)

        run(core, scenario)


def test_freed_capacity_goes_to_a_deployment_short_of_its_target(tmp_path: Path, core_models: CoreModels) -> None:
    with core_on(tmp_path, WorkerKind.INPROCESS, nodes=NODES) as core:
        add_model(core, "m", core_models.echo)
        manager = core.manager

        async def scenario() -> None:
            await manager.start(start_request("m", deployment_id="first", number_of_allocations="3"))
            view = await manager.start(start_request("m", deployment_id="second", number_of_allocations="3"))
            assert view.allocation_count == 1 and view.allocation_state is AllocationState.STARTED
            second = manager.get("second")
            await manager.stop("first", allow_no_match=False)
            await fully_allocated(second)
            assert sum(placed(second).values()) == 3

        run(core, scenario)
