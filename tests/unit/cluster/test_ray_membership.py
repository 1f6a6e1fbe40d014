"""Which Ray nodes are ML nodes, as the planner sees them, and what changed between two reads of them."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("ray")

from inferd.cluster.nodes import Node, NodeChange, NodeEvent  # noqa: E402
from inferd.cluster.ray_cluster import membership_changes, ml_nodes  # noqa: E402


def ray_node(node_id: str, *, alive: bool = True, cpus: float = 4.0, ml: float | None = 1.0) -> dict[str, Any]:
    """One entry of `ray.nodes()`, with the fields inferd reads."""
    resources = {"CPU": cpus, "memory": 8 * 1024**3, "object_store_memory": 1024**3}
    if ml is not None:
        resources["inferd_ml"] = ml
    return {"NodeID": node_id, "Alive": alive, "NodeManagerAddress": "10.0.0.7", "NodeManagerPort": 40123,
            "NodeManagerHostname": f"host-{node_id}", "NodeName": "10.0.0.7", "Resources": resources}


def test_ml_nodes_are_the_live_ones_offering_inferd_ml_with_ray_s_processors_memory_and_names() -> None:
    found = ml_nodes([ray_node("a"), ray_node("head", ml=None), ray_node("dead", alive=False), ray_node("b", cpus=2.0)])
    assert found == {
        "a": Node("a", 4, 8 * 1024**3, name="host-a", address="10.0.0.7:40123"),
        "b": Node("b", 2, 8 * 1024**3, name="host-b", address="10.0.0.7:40123"),
    }


def test_membership_changes_name_who_left_joined_and_changed() -> None:
    before = ml_nodes([ray_node("a"), ray_node("b"), ray_node("c")])
    after = ml_nodes([ray_node("a"), ray_node("b", cpus=8.0), ray_node("d")])
    assert membership_changes(before, after) == [
        NodeChange("c", NodeEvent.LEFT), NodeChange("b", NodeEvent.CHANGED), NodeChange("d", NodeEvent.JOINED)]
    assert membership_changes(after, after) == []


def test_a_node_ray_counts_gpus_on_is_asked_for_them_and_offers_what_it_said() -> None:
    from inferd.cluster.ray_cluster import gpu_nodes
    from inferd.runtime.device import GpuDevice

    gpu = ray_node("g")
    gpu["Resources"]["GPU"] = 2.0
    dead_gpu = ray_node("dead", alive=False)
    dead_gpu["Resources"]["GPU"] = 1.0
    head_gpu = ray_node("head", ml=None)
    head_gpu["Resources"]["GPU"] = 1.0
    entries = [ray_node("a"), gpu, dead_gpu, head_gpu]
    assert gpu_nodes(entries) == ["g"]
    said = (GpuDevice(0, "NVIDIA L4", 24 * 1024**3), GpuDevice(1, "NVIDIA L4", 24 * 1024**3))
    found = ml_nodes(entries, {"g": said})
    assert found["g"].gpus == said and found["a"].gpus == ()
    assert ml_nodes(entries)["g"].gpus == ()  # not asked (or could not say): its CPU only
