"""The embedded backend: worker processes on this machine, optionally split into several virtual nodes.

Virtual nodes divide the advertised processors and memory between them, and the machine's GPUs (dealt in turn:
each GPU belongs to one node, which offers it whole); each runs its own worker processes, so routing tables with several nodes behave on one machine as they would on many. A virtual
node can be marked lost (and back), as a machine of a real cluster can die, so that re-placement is
testable on one machine. Nothing changes membership on its own here: only `set_available` does.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from inferd.cluster.backend import AdoptedWorker, ChooseSurvivors
from inferd.cluster.nodes import Node, NodeChange
from inferd.runtime.device import GpuDevice
from inferd.runtime.process_channel import start_worker_process
from inferd.runtime.protocol import LoadModel
from inferd.runtime.worker_client import WorkerClient


def machine_processors() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def machine_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def split_machine(processors: int, memory_bytes: int, count: int, gpus: Sequence[GpuDevice] = ()) -> list[Node]:
    """`count` nodes sharing the processors (at least one each) and the memory evenly, the GPUs dealt in turn (node
    `i` offers the GPUs whose position is `i` modulo `count`, under their own index)."""
    if count < 1:
        raise ValueError("at least one node")
    share, extra = divmod(processors, count)
    return [
        Node(f"node-{index}", max(1, share + (1 if index < extra else 0)), memory_bytes // count,
             gpus=tuple(gpus[index::count]))
        for index in range(count)
    ]


class LocalCluster:
    def __init__(self, nodes: list[Node], log_dir: Path) -> None:
        self._nodes = nodes
        self._log_dir = log_dir
        self._lost: set[str] = set()

    def nodes(self) -> list[Node]:
        return [node for node in self._nodes if node.node_id not in self._lost]

    def all_nodes(self) -> list[tuple[Node, bool]]:
        """Every node with whether it is available, lost ones included."""
        return [(node, node.node_id not in self._lost) for node in self._nodes]

    def set_available(self, node_id: str, available: bool) -> None:
        if node_id not in {node.node_id for node in self._nodes}:
            raise KeyError(node_id)
        (self._lost.discard if available else self._lost.add)(node_id)

    async def node_changes(self) -> AsyncIterator[NodeChange]:
        return
        yield  # an async generator that ends at once: only `set_available` changes these nodes

    async def start_worker(self, node_id: str, name: str, model: LoadModel) -> WorkerClient:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{node_id}.log"
        return await start_worker_process([sys.executable, "-m", "inferd.runtime.worker"], log_path)

    async def adopt_workers(self, choose: ChooseSurvivors) -> list[AdoptedWorker]:
        return []  # a local worker dies with its server: none survives one

    def close(self) -> None:
        pass
