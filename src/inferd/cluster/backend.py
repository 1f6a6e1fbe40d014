"""The seam between the control plane and wherever workers run (this machine; later Ray)."""

from __future__ import annotations

from typing import Protocol

from inferd.cluster.nodes import Node
from inferd.runtime.worker_client import WorkerClient


class ClusterBackend(Protocol):
    def nodes(self) -> list[Node]:
        """The nodes that can run workers now, with the processors and memory they offer for inference."""
        ...

    def all_nodes(self) -> list[tuple[Node, bool]]:
        """Every node the backend knows, with whether it is available (False: lost)."""
        ...

    def set_available(self, node_id: str, available: bool) -> None:
        """Take a node out (lost) or back; KeyError for a node the backend does not know."""
        ...

    async def start_worker(self, node_id: str, name: str) -> WorkerClient:
        """Start a worker on `node_id`; `name` identifies it in logs."""
        ...
