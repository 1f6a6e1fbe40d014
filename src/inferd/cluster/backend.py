"""The seam between the control plane and wherever worker processes run (this machine; later Ray)."""

from __future__ import annotations

from typing import Protocol

from inferd.cluster.nodes import Node
from inferd.runtime.client import WorkerClient


class ClusterBackend(Protocol):
    def nodes(self) -> list[Node]:
        """The nodes that can run workers now, with the processors and memory they offer for inference."""
        ...

    async def start_worker(self, node_id: str, name: str) -> WorkerClient:
        """Start a worker process on `node_id`; `name` identifies it in logs."""
        ...
