"""Workers on the nodes of a Ray cluster (`inferd serve --cluster ray`).

Ray does membership, resource accounting, process placement and failure detection; inferd keeps its own planner,
routes and queues. An ML node is a live Ray node offering the `inferd_ml` resource: its processors and memory are
the CPU and memory Ray sees on it, its name and address Ray's. Ray counts a node's GPUs but not their memory, so a
node whose `GPU` resource is positive is asked once, through its supervisor, what its GPUs are (`probe_gpus` on the
node: index, name, memory); a node Ray sees no GPU on offers none. Membership is read from Ray every
`POLL_INTERVAL_S` (Ray's Python API offers no subscription), and a change is yielded by `node_changes`.

A worker starts on its node through that node's supervisor actor (`ray_node.py`, pinned by node affinity), which
caches the build's definition on the node's disk: the server puts each build's bytes in Ray's object store once,
and a node fetches them only when it lacks the file. Batches never go through Ray: the server connects to the
worker's own TCP listener and speaks the pipe's msgspec frames over it (`runtime/tcp_channel.py`), authenticated
both ways with a secret only the supervisor and the server know (`runtime/link_auth.py`); bench/remote_path.py
measures that path against a Ray actor call.

Supervisors and their workers outlive the server (`ray_node.py`): a server that crashed, or stopped and let its
workers go, is followed by one that asks each live node's supervisor for the workers its data dir started
(`adopt_workers`), reconnects to those the control plane wants with the secrets the supervisors kept, and stops the
others. A worker no server adopts ends by itself after `orphan_timeout_s`.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import ray
from ray.exceptions import GetTimeoutError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from inferd import __version__
from inferd.clock import Clock
from inferd.cluster.backend import AdoptedWorker, ChooseSurvivors, SurvivingWorker, WorkerStartError
from inferd.cluster.nodes import Node, NodeChange, NodeEvent
from inferd.cluster.ray_node import ML_RESOURCE, NodeSupervisor, NodeWorker, supervisor_name
from inferd.runtime.device import GpuDevice
from inferd.runtime.link_auth import HandshakeFailed
from inferd.runtime.protocol import LoadModel, model_fingerprint
from inferd.runtime.tcp_channel import connect_worker
from inferd.runtime.worker_client import WorkerClient

logger = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
START_TIMEOUT_S = 300.0
"""How long a node may take to start a worker's process (a first start there fetches the definition)."""
LIST_TIMEOUT_S = 30.0
"""How long a node's supervisor may take to list its workers at start-up (a node that does not answer keeps its
workers, which end by themselves unadopted)."""
NAMESPACE = "inferd"


GPU_PROBE_TIMEOUT_S = 180.0


def _live_ml_entries(ray_nodes: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The `ray.nodes()` entries of live nodes offering `inferd_ml`."""
    return [entry for entry in ray_nodes if entry.get("Alive") and entry.get("Resources", {}).get(ML_RESOURCE, 0) > 0]


def gpu_nodes(ray_nodes: Sequence[Mapping[str, Any]]) -> list[str]:
    """The live ML nodes on which Ray counts GPUs: those to ask what their GPUs are."""
    return [str(entry["NodeID"]) for entry in _live_ml_entries(ray_nodes) if entry["Resources"].get("GPU", 0) > 0]


def ml_nodes(ray_nodes: Sequence[Mapping[str, Any]],
             gpus: Mapping[str, tuple[GpuDevice, ...]] | None = None) -> dict[str, Node]:
    """The live nodes offering `inferd_ml`, as the planner sees them, from `ray.nodes()` and the GPUs each node
    said it has."""
    gpus = gpus or {}
    found = {}
    for entry in _live_ml_entries(ray_nodes):
        resources = entry["Resources"]
        node_id = str(entry["NodeID"])
        found[node_id] = Node(node_id, int(resources.get("CPU", 0)), int(resources.get("memory", 0)),
                              name=str(entry.get("NodeManagerHostname") or entry.get("NodeName") or node_id),
                              address=f"{entry['NodeManagerAddress']}:{entry['NodeManagerPort']}",
                              gpus=gpus.get(node_id, ()))
    return found


def membership_changes(before: Mapping[str, Node], after: Mapping[str, Node]) -> list[NodeChange]:
    """What changed between two reads of the ML nodes."""
    changes = [NodeChange(node_id, NodeEvent.LEFT) for node_id in before if node_id not in after]
    for node_id, node in after.items():
        if node_id not in before:
            changes.append(NodeChange(node_id, NodeEvent.JOINED))
        elif before[node_id] != node:
            changes.append(NodeChange(node_id, NodeEvent.CHANGED))
    return changes


class RayCluster:
    def __init__(self, address: str | None, clock: Clock, owner: str, orphan_timeout_s: float) -> None:
        """`owner`: the server's cluster UUID (its data dir's), which its workers carry so that a later server of the
        same data dir, and no other, adopts them."""
        handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
        ray.init(address=address or "auto", namespace=NAMESPACE, log_to_driver=False, logging_level=logging.WARNING)
        for signum, handler in handlers.items():  # Ray's would exit at once: uvicorn's drain and stop the workers
            signal.signal(signum, handler)
        self._clock = clock
        self._owner = owner
        self._orphan_timeout_s = orphan_timeout_s
        self._supervisors: dict[str, Any] = {}
        self._gpus: dict[str, tuple[GpuDevice, ...]] = {}
        """Each GPU node's GPUs, as it said when first seen."""
        self._live: dict[str, Node] = self._read_nodes()
        self._gone: dict[str, Node] = {}
        """Nodes seen, then lost: shown as unavailable."""
        self._taken_out: set[str] = set()
        self._definitions: dict[str, Any] = {}
        """Each build's definition in the object store, by SHA-256: put once, while the server runs."""
        logger.info("Ray cluster at %s: %d ML nodes offering [%s]", address or "auto", len(self._live), ML_RESOURCE)

    def nodes(self) -> list[Node]:
        return [node for node_id, node in self._live.items() if node_id not in self._taken_out]

    def all_nodes(self) -> list[tuple[Node, bool]]:
        return ([(node, node_id not in self._taken_out) for node_id, node in self._live.items()]
                + [(node, False) for node in self._gone.values()])

    def set_available(self, node_id: str, available: bool) -> None:
        if node_id not in self._live and node_id not in self._gone:
            raise KeyError(node_id)
        (self._taken_out.discard if available else self._taken_out.add)(node_id)

    async def node_changes(self) -> AsyncIterator[NodeChange]:
        while True:
            await self._clock.sleep(POLL_INTERVAL_S)
            try:
                now = await asyncio.to_thread(self._read_nodes)
            except RayError as error:  # the GCS is restarting: the nodes stay as last seen
                logger.warning("cannot read the Ray cluster's nodes: %s", error)
                continue
            changes = membership_changes(self._live, now)
            for change in changes:
                if change.event is NodeEvent.LEFT:
                    self._gone[change.node_id] = self._live[change.node_id]
                    self._supervisors.pop(change.node_id, None)
                else:
                    self._gone.pop(change.node_id, None)
            self._live = now
            for change in changes:
                logger.warning("Ray node [%s] %s", change.node_id, change.event)
                yield change

    def _read_nodes(self) -> dict[str, Node]:
        """The ML nodes now; a GPU node seen for the first time is asked what its GPUs are (blocking: a thread's)."""
        entries = _ray_nodes()
        for node_id in gpu_nodes(entries):
            if node_id not in self._gpus:
                self._gpus[node_id] = self._probe(node_id)
        return ml_nodes(entries, self._gpus)

    def _probe(self, node_id: str) -> tuple[GpuDevice, ...]:
        try:
            found: list[GpuDevice] = ray.get(self._supervisor(node_id).gpus.remote(), timeout=GPU_PROBE_TIMEOUT_S)
        except (RayError, GetTimeoutError) as error:
            logger.warning("Ray node [%s] counts GPUs but cannot say what they are; offering its CPU only: %s",
                           node_id, error)
            return ()
        return tuple(found)

    async def start_worker(self, node_id: str, name: str, model: LoadModel) -> WorkerClient:
        if model.definition_sha256 is None:
            raise WorkerStartError("a remote worker needs the definition's SHA-256")
        definition = await self._definition(model.definition_sha256, Path(model.definition_path))
        supervisor = self._supervisor(node_id)
        call = supervisor.start.remote(self._owner, name, model.definition_sha256, model_fingerprint(model),
                                       self._orphan_timeout_s, [definition])
        try:
            started = await asyncio.to_thread(_answer, call, START_TIMEOUT_S)
        except (RayError, GetTimeoutError) as error:
            self._supervisors.pop(node_id, None)  # a supervisor that failed once is not asked again
            raise WorkerStartError(f"node [{node_id}] could not start the worker: {error}") from None
        return await self._connect(node_id, supervisor, started)

    async def _connect(self, node_id: str, supervisor: Any, worker: NodeWorker) -> WorkerClient:
        """Connect to a worker of the node's supervisor; one that cannot be reached is stopped."""

        def release() -> None:
            supervisor.stop.remote(worker.pid)

        try:
            return await connect_worker(worker.host, worker.port, worker.secret, name=f"{worker.name}@{node_id[:8]}",
                                        pid=worker.pid, release=release)
        except (OSError, HandshakeFailed) as error:
            release()
            raise WorkerStartError(f"cannot reach the worker at [{worker.host}:{worker.port}]: {error}") from None

    async def adopt_workers(self, choose: ChooseSurvivors) -> list[AdoptedWorker]:
        found = {SurvivingWorker(node_id, worker.name, worker.pid, worker.model_fingerprint): (supervisor, worker)
                 for node_id, supervisor, worker in await asyncio.to_thread(self._surviving_workers)}
        chosen = set(choose(list(found)))
        for survivor, (supervisor, worker) in found.items():
            if survivor not in chosen:
                logger.warning("stopping worker %s (pid %d) on node [%s]: no stored deployment serves what it runs",
                               worker.name, worker.pid, survivor.node_id)
                supervisor.stop.remote(worker.pid)

        async def adopt(survivor: SurvivingWorker) -> AdoptedWorker | None:
            supervisor, worker = found[survivor]
            try:
                client = await self._connect(survivor.node_id, supervisor, worker)
            except WorkerStartError as error:
                logger.warning("cannot adopt worker %s (pid %d): %s", worker.name, worker.pid, error)
                return None
            logger.info("adopted worker %s (pid %d) on node [%s]", worker.name, worker.pid, survivor.node_id)
            return AdoptedWorker(survivor, client)

        adopted = await asyncio.gather(*(adopt(survivor) for survivor in found if survivor in chosen))
        return [worker for worker in adopted if worker is not None]

    def _surviving_workers(self) -> list[tuple[str, Any, NodeWorker]]:
        """This data dir's workers on each live node that has a supervisor (a blocking call: Ray's API is)."""
        calls: list[tuple[str, Any, Any]] = []
        for node_id in self._live:
            try:
                supervisor = ray.get_actor(supervisor_name(node_id, __version__), namespace=NAMESPACE)
            except ValueError:  # no supervisor there: no worker either
                continue
            except RayError as error:  # its workers are left to end by themselves, and new ones started
                logger.warning("cannot reach node [%s]'s supervisor: %s", node_id, error)
                continue
            self._supervisors[node_id] = supervisor
            calls.append((node_id, supervisor, supervisor.workers.remote(self._owner)))
        found: list[tuple[str, Any, NodeWorker]] = []
        for node_id, supervisor, call in calls:
            try:
                workers: list[NodeWorker] = _answer(call, LIST_TIMEOUT_S)
            except (RayError, GetTimeoutError) as error:
                logger.warning("node [%s] did not list its workers: %s", node_id, error)
                continue
            found += [(node_id, supervisor, worker) for worker in workers]
        return found

    async def _definition(self, sha256: str, path: Path) -> Any:
        if sha256 not in self._definitions:
            data = await asyncio.to_thread(path.read_bytes)
            self._definitions[sha256] = await asyncio.to_thread(ray.put, data)
        return self._definitions[sha256]

    def _supervisor(self, node_id: str) -> Any:
        if node_id not in self._supervisors:
            actor = ray.remote(NodeSupervisor).options(
                name=supervisor_name(node_id, __version__), namespace=NAMESPACE, lifetime="detached",
                get_if_exists=True, num_cpus=0, max_concurrency=8, max_restarts=0,
                scheduling_strategy=NodeAffinitySchedulingStrategy(node_id, soft=False))
            self._supervisors[node_id] = actor.remote()
        return self._supervisors[node_id]

    def close(self) -> None:
        ray.shutdown()


def _answer(reference: Any, timeout_s: float) -> Any:
    return ray.get(reference, timeout=timeout_s)


def _ray_nodes() -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
    return nodes
