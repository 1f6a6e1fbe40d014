"""Placing allocations on nodes: a pure function from nodes and deployments to a plan.

It follows Elasticsearch's planner (reference §4) in what it guarantees, with a greedy solver where
Elasticsearch adds a linear program: Σ allocations × threads fits each node's processors (low priority
counts memory only), a deployment's memory is charged once per node it runs on, allocations already
running are kept first (a node that left loses its share, which is then re-placed), and new
allocations go preferably where the deployment already runs, then where most processors are free.
What cannot be placed is explained per node, in Elasticsearch's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from inferd.cluster.nodes import Node
from inferd.units import human_bytes


@dataclass(frozen=True)
class Demand:
    """What one deployment asks for, and where its allocations run now."""

    deployment_id: str
    target_allocations: int
    threads_per_allocation: int
    memory_bytes: int
    """Charged once on every node the deployment runs on (one worker, one copy of the weights)."""
    current: Mapping[str, int] = field(default_factory=dict)
    low_priority: bool = False
    held_memory_bytes: Mapping[str, int] = field(default_factory=dict)
    """Memory its other workers still hold, by node: during a rollout the old workers serve (or drain) beside the
    new ones, so their memory is taken, while their processors are not (only the target's count)."""


@dataclass(frozen=True)
class Plan:
    allocations: Mapping[str, Mapping[str, int]]
    """deployment id -> node id -> allocations, nodes with none left out."""
    reasons: Mapping[str, str]
    """Why a deployment got fewer allocations than its target."""


@dataclass
class _Capacity:
    node: Node
    free_processors: int
    free_memory_bytes: int


def plan_allocations(nodes: Sequence[Node], demands: Sequence[Demand]) -> Plan:
    capacity = {node.node_id: _Capacity(node, node.processors, node.memory_bytes) for node in nodes}
    for demand in demands:
        for node_id, held in demand.held_memory_bytes.items():
            if node_id in capacity:
                capacity[node_id].free_memory_bytes -= held
    placed: dict[str, dict[str, int]] = {demand.deployment_id: {} for demand in demands}
    running_first = sorted(demands, key=lambda d: (not d.current, -d.memory_bytes * d.threads_per_allocation))
    for demand in running_first:  # keep what runs, on nodes that are still here
        for node_id, count in sorted(demand.current.items()):
            if node_id in capacity:
                for _ in range(min(count, demand.target_allocations - sum(placed[demand.deployment_id].values()))):
                    if not _place(demand, capacity[node_id], placed):
                        break
    for demand in running_first:
        while sum(placed[demand.deployment_id].values()) < demand.target_allocations:
            candidates = sorted(
                capacity.values(),
                key=lambda c: (c.node.node_id not in placed[demand.deployment_id], -c.free_processors, c.node.node_id),
            )
            if not any(_place(demand, candidate, placed) for candidate in candidates):
                break
    reasons = {
        demand.deployment_id: _shortfall(demand, nodes, capacity, placed[demand.deployment_id])
        for demand in demands
        if sum(placed[demand.deployment_id].values()) < demand.target_allocations
    }
    return Plan({key: {n: c for n, c in value.items() if c} for key, value in placed.items()}, reasons)


def _place(demand: Demand, capacity: _Capacity, placed: dict[str, dict[str, int]]) -> bool:
    """Put one more allocation of `demand` on this node if it fits."""
    on_node = placed[demand.deployment_id].get(capacity.node.node_id, 0)
    memory = 0 if on_node else demand.memory_bytes
    threads = 0 if demand.low_priority else demand.threads_per_allocation
    if threads > capacity.free_processors or memory > capacity.free_memory_bytes:
        return False
    capacity.free_processors -= threads
    capacity.free_memory_bytes -= memory
    placed[demand.deployment_id][capacity.node.node_id] = on_node + 1
    return True


def _shortfall(demand: Demand, nodes: Sequence[Node], capacity: Mapping[str, _Capacity], placed: Mapping[str, int]) -> str:
    if not nodes:
        return "No ML nodes exist in the cluster"
    explanations = []
    for node in nodes:
        free = capacity[node.node_id]
        if not placed.get(node.node_id) and demand.memory_bytes > free.free_memory_bytes:
            why = (
                "This node has insufficient available memory. Available memory for ML "
                f"[{human_bytes(node.memory_bytes)}], free memory [{human_bytes(free.free_memory_bytes)}], estimated "
                f"memory required for this model [{human_bytes(demand.memory_bytes)}]."
            )
        else:
            why = (
                "This node has insufficient allocated processors. Available processors "
                f"[{node.processors}], free processors [{free.free_processors}], processors required for each "
                f"allocation of this model [{demand.threads_per_allocation}]"
            )
        explanations.append(f"Could not assign (more) allocations on node [{node.node_id}]. Reason: {why}")
    return "|".join(explanations)
