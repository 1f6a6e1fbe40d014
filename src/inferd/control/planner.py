"""Placing allocations on nodes: a pure function from nodes and deployments to a plan.

It follows Elasticsearch's planner (reference §4) in what it guarantees, with a greedy solver where
Elasticsearch adds a linear program: Σ allocations × threads fits each node's processors (low priority
counts memory only), a deployment's memory is charged once per node it runs on, allocations already
running are kept first (a node that left loses its share, which is then re-placed), and new
allocations go preferably where the deployment already runs, then where most processors are free.
What cannot be placed is explained per node, in Elasticsearch's words.

A GPU deployment (`inferd.device` `cuda` or `cuda:N`) goes only to nodes with such a device: its worker runs on
one of the node's GPUs (the one it ran on, else the one with the most free memory), its memory estimate is charged
to that GPU, once, as all its allocations there share the weights, and only its cache to the host's memory; its
allocations still take processors (each tokenizes and drives the GPU). GPU deployments are placed before CPU ones
and CPU ones prefer nodes without GPUs, so a GPU's node keeps processors for the deployments that need it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from inferd.cluster.nodes import Node
from inferd.runtime.device import CPU, DeviceRequest, GpuDevice
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
    device: DeviceRequest = CPU
    gpu_memory_bytes: int = 0
    """A GPU deployment's estimate: charged once to the GPU its worker runs on, on every node it runs on."""
    current_gpus: Mapping[str, int] = field(default_factory=dict)
    """The GPU (index) its running worker uses, by node: a kept allocation stays there."""
    held_gpu_memory_bytes: Mapping[str, Mapping[int, int]] = field(default_factory=dict)
    """GPU memory its other workers still hold, by node and GPU index (as `held_memory_bytes`)."""


@dataclass(frozen=True)
class Plan:
    allocations: Mapping[str, Mapping[str, int]]
    """deployment id -> node id -> allocations, nodes with none left out."""
    reasons: Mapping[str, str]
    """Why a deployment got fewer allocations than its target."""
    gpus: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    """deployment id -> node id -> the GPU (index) its worker there runs on; GPU deployments only."""


@dataclass
class _Capacity:
    node: Node
    free_processors: int
    free_memory_bytes: int
    free_gpu_memory_bytes: dict[int, int]


@dataclass
class _Placed:
    allocations: dict[str, dict[str, int]]
    gpus: dict[str, dict[str, int]]


def plan_allocations(nodes: Sequence[Node], demands: Sequence[Demand]) -> Plan:
    capacity = {node.node_id: _Capacity(node, node.processors, node.memory_bytes,
                                        {gpu.index: gpu.memory_bytes for gpu in node.gpus}) for node in nodes}
    for demand in demands:
        for node_id, held in demand.held_memory_bytes.items():
            if node_id in capacity:
                capacity[node_id].free_memory_bytes -= held
        for node_id, by_gpu in demand.held_gpu_memory_bytes.items():
            for index, held in by_gpu.items():
                if node_id in capacity and index in capacity[node_id].free_gpu_memory_bytes:
                    capacity[node_id].free_gpu_memory_bytes[index] -= held
    placed = _Placed({demand.deployment_id: {} for demand in demands}, {demand.deployment_id: {} for demand in demands})
    running_first = sorted(demands, key=lambda d: (not d.current, not d.device.is_gpu,
                                                   -(d.memory_bytes + d.gpu_memory_bytes) * d.threads_per_allocation))
    for demand in running_first:  # keep what runs, on nodes that are still here
        for node_id, count in sorted(demand.current.items()):
            if node_id in capacity:
                for _ in range(min(count, demand.target_allocations - _count(placed, demand))):
                    if not _place(demand, capacity[node_id], placed):
                        break
    for demand in running_first:
        while _count(placed, demand) < demand.target_allocations:
            on = placed.allocations[demand.deployment_id]
            candidates = sorted(capacity.values(), key=lambda c: (
                c.node.node_id not in on, bool(c.node.gpus) and not demand.device.is_gpu, -c.free_processors,
                c.node.node_id))
            if not any(_place(demand, candidate, placed) for candidate in candidates):
                break
    reasons = {
        demand.deployment_id: _shortfall(demand, nodes, capacity, placed.allocations[demand.deployment_id])
        for demand in demands
        if _count(placed, demand) < demand.target_allocations
    }
    return Plan({key: {n: c for n, c in value.items() if c} for key, value in placed.allocations.items()}, reasons,
                {key: value for key, value in placed.gpus.items() if value})


def _count(placed: _Placed, demand: Demand) -> int:
    return sum(placed.allocations[demand.deployment_id].values())


def _place(demand: Demand, capacity: _Capacity, placed: _Placed) -> bool:
    """Put one more allocation of `demand` on this node if it fits (its first there brings the worker: memory, and
    for a GPU deployment one of the node's GPUs)."""
    node_id = capacity.node.node_id
    on_node = placed.allocations[demand.deployment_id].get(node_id, 0)
    memory = 0 if on_node else demand.memory_bytes
    threads = 0 if demand.low_priority else demand.threads_per_allocation
    if threads > capacity.free_processors or memory > capacity.free_memory_bytes:
        return False
    if demand.device.is_gpu and not on_node:
        gpu = _gpu_for(demand, capacity)
        if gpu is None:
            return False
        capacity.free_gpu_memory_bytes[gpu] -= demand.gpu_memory_bytes
        placed.gpus[demand.deployment_id][node_id] = gpu
    capacity.free_processors -= threads
    capacity.free_memory_bytes -= memory
    placed.allocations[demand.deployment_id][node_id] = on_node + 1
    return True


def matching_gpus(device: DeviceRequest, node: Node) -> list[GpuDevice]:
    """The node's GPUs that answer the request (any for `cuda`, the one with its index for `cuda:N`)."""
    return [gpu for gpu in node.gpus if device.is_gpu and device.index in (None, gpu.index)]


def _gpu_for(demand: Demand, capacity: _Capacity) -> int | None:
    """The GPU the worker runs on: the one it runs on now if it still fits, else the one with the most free memory
    (the lowest index among equals); None when none fits."""
    free = capacity.free_gpu_memory_bytes
    fitting = [gpu.index for gpu in matching_gpus(demand.device, capacity.node)
               if free[gpu.index] >= demand.gpu_memory_bytes]
    current = demand.current_gpus.get(capacity.node.node_id)
    if current in fitting:
        return current
    return min(fitting, key=lambda index: (-free[index], index), default=None)


def device_problem(nodes: Sequence[Node], device: DeviceRequest) -> str | None:
    """Why no node could ever run the device, naming what the nodes offer; None when one could (or for the CPU)."""
    if not device.is_gpu or any(matching_gpus(device, node) for node in nodes):
        return None
    offers = "; ".join(f"{node.display_name}: {', '.join(['cpu', *(gpu.describe() for gpu in node.gpus)])}"
                       for node in nodes)
    return f"no ML node has a [{device}] device; the ML nodes offer [{offers or 'nothing: there are none'}]"


def _shortfall(demand: Demand, nodes: Sequence[Node], capacity: Mapping[str, _Capacity], placed: Mapping[str, int]) -> str:
    if not nodes:
        return "No ML nodes exist in the cluster"
    explanations = []
    for node in nodes:
        free = capacity[node.node_id]
        gpus = matching_gpus(demand.device, node)
        if demand.device.is_gpu and not gpus:
            why = f"This node has no [{demand.device}] device."
        elif not placed.get(node.node_id) and demand.memory_bytes > free.free_memory_bytes:
            why = (
                "This node has insufficient available memory. Available memory for ML "
                f"[{human_bytes(node.memory_bytes)}], free memory [{human_bytes(free.free_memory_bytes)}], estimated "
                f"memory required for this model [{human_bytes(demand.memory_bytes)}]."
            )
        elif not placed.get(node.node_id) and all(
                demand.gpu_memory_bytes > free.free_gpu_memory_bytes[gpu.index] for gpu in gpus):
            why = "This node has insufficient available GPU memory. " + ", ".join(
                f"Available memory on [{gpu.device}] [{human_bytes(gpu.memory_bytes)}], free memory "
                f"[{human_bytes(free.free_gpu_memory_bytes[gpu.index])}]" for gpu in gpus
            ) + f", estimated memory required for this model [{human_bytes(demand.gpu_memory_bytes)}]."
        else:
            why = (
                "This node has insufficient allocated processors. Available processors "
                f"[{node.processors}], free processors [{free.free_processors}], processors required for each "
                f"allocation of this model [{demand.threads_per_allocation}]"
            )
        explanations.append(f"Could not assign (more) allocations on node [{node.node_id}]. Reason: {why}")
    return "|".join(explanations)
