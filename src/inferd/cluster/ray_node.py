"""inferd's part on each Ray node: one supervisor actor per node, pinned there, starting the node's workers.

The supervisor puts a build's definition in the node's cache (`definition_cache.py`) the first time a worker of
that build starts there, makes the worker's listening socket and secret, and starts the worker as a process of
its own (`runtime/remote_worker.py`), so a model that crashes or hangs ends that process, not the supervisor. Every
worker process is started from one long-lived thread, so the kernel's parent-death signal (set by the worker) fires
only when the supervisor's process ends: the node dying, the server's Ray job ending, or Ray killing the actor.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import ray

from inferd.cluster.definition_cache import cached_definition
from inferd.runtime.device import GpuDevice, probe_gpus
from inferd.runtime.remote_worker import spawn_remote_worker

ML_RESOURCE = "inferd_ml"
"""The custom resource a Ray node offers to say it runs inferd's workers (`ray start --resources`)."""
CACHE_DIR_VARIABLE = "INFERD_NODE_CACHE"
"""Where a node keeps definitions and worker logs (set in the environment of `ray start`); default: a temporary
directory of the node."""
PORTS_VARIABLE = "INFERD_WORKER_PORTS"
"""The ports a node's workers listen on, `first-last` (set in the environment of `ray start`); default: any free
port."""


class StartedWorker(NamedTuple):
    """Where the server reaches a worker just started, the secret it proves itself with, and its process."""

    host: str
    port: int
    secret: bytes
    pid: int


def node_directory() -> Path:
    configured = os.environ.get(CACHE_DIR_VARIABLE)
    return Path(configured) if configured else Path(tempfile.gettempdir()) / f"inferd-node-{os.getuid()}"


def worker_ports() -> range | None:
    configured = os.environ.get(PORTS_VARIABLE)
    if not configured:
        return None
    first, _, last = configured.partition("-")
    return range(int(first), int(last or first) + 1)


class NodeSupervisor:
    """A Ray actor (threaded: a slow definition fetch does not hold the other starts back)."""

    def __init__(self) -> None:
        # Ray hides every GPU from an actor that reserved none (CUDA_VISIBLE_DEVICES=""); inferd accounts for GPUs
        # itself, as for processors (the supervisor reserves no CPU either), so its probe and workers see the node's.
        if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
            del os.environ["CUDA_VISIBLE_DEVICES"]
        self._directory = node_directory()
        self._spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spawner")
        self._processes: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()

    def start(self, name: str, sha256: str, definition: list[Any]) -> StartedWorker:
        """Start a worker for the build with this definition (`definition`: its object reference, in a list so
        that Ray does not fetch it unless the node lacks the file)."""
        definitions = self._directory / "definitions"
        cached_definition(definitions, sha256, lambda: bytes(ray.get(definition[0])))
        logs = self._directory / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        host: str = ray.util.get_node_ip_address()  # type: ignore[no-untyped-call]
        started = self._spawner.submit(spawn_remote_worker, definitions, logs / f"{name}.log", host,
                                       worker_ports()).result()
        with self._lock:
            self._processes[started.process.pid] = started.process
        return StartedWorker(started.host, started.port, started.secret, started.process.pid)

    def gpus(self) -> list[GpuDevice]:
        """The node's CUDA devices, read by a throwaway process (the supervisor itself never touches CUDA)."""
        return probe_gpus()

    def stop(self, pid: int) -> None:
        """End a worker (at once: a graceful stop was the server's to ask) and reap it."""
        with self._lock:
            process = self._processes.pop(pid, None)
        if process is not None:
            process.kill()
            process.wait()
