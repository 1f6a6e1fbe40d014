"""The seam between the control plane and wherever workers run: this machine (`local.py`) or a Ray cluster
(`ray_cluster.py`).

A backend says which nodes can run workers, starts a worker on one, and reports the membership changes it notices
itself (`node_changes`: a machine joined or died), which the control plane follows. A backend whose workers can
outlive the server (a Ray node's) hands a restarted server the ones it wants (`adopt_workers`), connected.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

from inferd.cluster.nodes import Node, NodeChange
from inferd.runtime.protocol import LoadModel
from inferd.runtime.worker_client import WorkerClient


class WorkerStartError(OSError):
    """A worker could not be started (or reached) on its node; the reason says why. An OSError, as a local
    worker's failed start is."""


@dataclass(frozen=True)
class SurvivingWorker:
    """A worker that outlived the server that started it, as the control plane judges whether to adopt it."""

    node_id: str
    deployment_id: str
    pid: int
    model_fingerprint: str
    """`protocol.model_fingerprint` of what it was started to load."""


@dataclass(frozen=True)
class AdoptedWorker:
    """A surviving worker, connected and authenticated, for a route to take over."""

    worker: SurvivingWorker
    client: WorkerClient


ChooseSurvivors = Callable[[list[SurvivingWorker]], list[SurvivingWorker]]
"""Picks the surviving workers to adopt, among all (oldest first); the others are stopped."""


class ClusterBackend(Protocol):
    def nodes(self) -> list[Node]:
        """The nodes that can run workers now, with the processors and memory they offer for inference."""
        ...

    def all_nodes(self) -> list[tuple[Node, bool]]:
        """Every node the backend knows, with whether it is available (False: lost, or taken out)."""
        ...

    def set_available(self, node_id: str, available: bool) -> None:
        """Take a node out (lost) or back; KeyError for a node the backend does not know."""
        ...

    def node_changes(self) -> AsyncIterator[NodeChange]:
        """Membership changes as the backend notices them, for as long as it runs (the backend's own view of
        `nodes()` has changed by the time each is yielded)."""
        ...

    async def start_worker(self, node_id: str, name: str, model: LoadModel) -> WorkerClient:
        """Start a worker on `node_id` that will load `model` (the route sends it); `name` identifies it in logs.
        OSError (WorkerStartError among them) when it cannot."""
        ...

    async def adopt_workers(self, choose: ChooseSurvivors) -> list[AdoptedWorker]:
        """At start-up: the workers this server's data dir started before (a server that crashed or stopped) and that
        still run, on the live nodes; those `choose` picks are connected and handed back (one that cannot be
        reached is stopped and left out), the others stopped. None where workers end with the server."""
        ...

    def close(self) -> None:
        """The server is exiting (its workers were stopped, or let go for the next server to adopt, before)."""
        ...
