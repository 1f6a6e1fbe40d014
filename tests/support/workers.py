"""Workers for unit tests of the core, behind the real worker seam (`WorkerClient` over a `WorkerChannel`).

    ScriptedChannel   a worker the test plays by hand: it records what the route sent (LoadModel, InferBatch,
                      SetAllocations, GetStats, Shutdown, kill) and the test answers (`ready`, `answer`, `reply`)
                      or ends it (`exit`); for batching, timers, crashes and restarts to the message
    FakeBackend       a `ClusterBackend` with the nodes a test chooses, starting either kind of worker: the real
                      in-process worker (`runtime/inprocess_channel.py`: the worker's own code on a thread) or a
                      scripted one

Both signal every change (`changes`), so a test waits for what it expects instead of polling.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from inferd.clock import Clock, SystemClock
from inferd.cluster.backend import AdoptedWorker, ChooseSurvivors, SurvivingWorker
from inferd.cluster.local import LocalCluster
from inferd.cluster.nodes import Node, NodeChange
from inferd.control.changes import ChangeSignal
from inferd.runtime.inprocess_channel import KILLED, start_inprocess_worker
from inferd.runtime.protocol import (
    PROTOCOL_VERSION,
    BatchDone,
    FromWorker,
    InferBatch,
    LoadModel,
    Ready,
    RequestOutcome,
    Shutdown,
    ToWorker,
)
from inferd.runtime.route import Route
from inferd.runtime.worker_client import MessageHandler, WorkerClient

REPLY_BOUND_S = 30.0
"""How long a test waits for something that must happen (a generous bound for the in-process worker's replies,
which come from a thread): reaching it fails the test rather than hanging it."""

LONG_S = 3600.0
"""A timeout no test reaches unless it means to."""

_pids = itertools.count(10_000)
_M = TypeVar("_M", bound=ToWorker)


async def wait_until(changes: ChangeSignal, condition: Callable[[], bool], what: str,
                     bound_s: float = REPLY_BOUND_S) -> None:
    """Wait, woken by `changes`, until `condition()` holds; fail the test if it does not within `bound_s` (real)."""
    try:
        await asyncio.wait_for(changes.wait_until(condition, SystemClock()), bound_s)  # no deadline: no clock read
    except TimeoutError:
        raise AssertionError(f"waited {bound_s:g}s for {what}") from None


def run_scenario(scenario: Coroutine[Any, Any, None]) -> None:
    """Run on a fresh event loop; a scenario waiting for something that never comes fails instead of hanging."""
    asyncio.run(asyncio.wait_for(scenario, REPLY_BOUND_S))


async def submit(route: Route, *texts: str, timeout_s: float = LONG_S) -> asyncio.Task[list[dict[str, Any]]]:
    """Send a request to the route and let it reach the queue (or the worker)."""
    task = asyncio.create_task(route.infer(list(texts), {}, timeout_s, f"{timeout_s:g}s"))
    await asyncio.sleep(0)
    return task


def echoed(*texts: str) -> list[dict[str, Any]]:
    """What a scripted worker's `answer` gives a request of these texts."""
    return [{"echo": text} for text in texts]


class ScriptedChannel:
    """A `WorkerChannel` whose worker is the test."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[ToWorker] = []
        self.killed = False
        self.loaded = False
        """It answered `Ready`."""
        self.exit_on_shutdown = True
        """Like a real worker, end once told to shut down (after the route drained it); False: the test ends it."""
        self.stderr = ""
        self.changes = ChangeSignal()
        self._pid = next(_pids)
        self._returncode: int | None = None
        self._handler: MessageHandler | None = None
        self._ended = asyncio.Event()

    # --- the WorkerChannel protocol ------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self._pid

    def exit_reason(self) -> str:
        return f"inference process exited with code [{self._returncode}]"  # the process channel's words

    def listen(self, handler: MessageHandler) -> None:
        self._handler = handler

    def send(self, message: ToWorker) -> None:
        if self.ended:
            return  # a worker that is gone drops what it is sent
        self.sent.append(message)
        self.changes.notify()
        if isinstance(message, Shutdown) and self.exit_on_shutdown:
            asyncio.get_running_loop().call_soon(self.exit, 0)

    def kill(self) -> None:
        """As a process: it is gone, and its end is reported a moment later, never inside the call."""
        self.killed = True
        self.changes.notify()
        if not self.ended:
            asyncio.get_running_loop().call_soon(self.exit, KILLED)

    async def wait_closed(self, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(self._ended.wait(), timeout_s)
        except TimeoutError:
            self.kill()
            await self._ended.wait()

    def stderr_tail(self) -> str:
        return self.stderr

    # --- the test's side -----------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def reply(self, message: FromWorker) -> None:
        assert self._handler is not None, "nobody listens to this worker yet"
        assert not self.ended, "a worker that has ended says nothing more"
        self._handler(message)

    def exit(self, code: int = 1) -> None:
        """The worker ends (a crash unless the route told it to shut down): its end is reported once."""
        if self.ended:
            return
        self._returncode = code
        self._ended.set()
        self.changes.notify()
        if self._handler is not None:
            self._handler(None)

    def of(self, kind: type[_M]) -> list[_M]:
        """What the route sent of one kind, in order."""
        return [message for message in self.sent if isinstance(message, kind)]

    @property
    def load(self) -> LoadModel:
        (load,) = self.of(LoadModel)
        return load

    def ready(self) -> None:
        """Loaded, with the allocations it was told to run."""
        self.reply(Ready(PROTOCOL_VERSION, self.pid, 1, self.load.allocations))
        self.loaded = True

    def answer(self, batch: InferBatch, time_ms: float = 1.0) -> None:
        """Answer every request of the batch with its own texts, so each caller can check its result."""
        self.reply(BatchDone(batch.batch_id, [
            RequestOutcome(request.request_id, results=[{"echo": text} for text in request.texts])
            for request in batch.requests], time_ms))

    async def wait_sent(self, kind: type[_M], count: int = 1) -> list[_M]:
        """Wait until the route has sent `count` messages of the kind; returns them all."""
        await wait_until(self.changes, lambda: len(self.of(kind)) >= count,
                         f"{count} {kind.__name__} sent to worker {self.name}")
        return self.of(kind)


def batch_texts(batch: InferBatch) -> list[list[str]]:
    """The batch's requests, as the texts of each."""
    return [request.texts for request in batch.requests]


class WorkerKind(StrEnum):
    INPROCESS = "inprocess"
    """The worker's own code on a thread: loads the TorchScript definition and runs it."""
    SCRIPTED = "scripted"


@dataclass(frozen=True)
class StartedWorker:
    node_id: str
    name: str
    started_at: float
    """The clock's monotonic time at the start."""
    client: WorkerClient
    script: ScriptedChannel | None
    """The scripted worker, for the test to play; None for an in-process one."""


class FakeBackend:
    """A `ClusterBackend` on virtual nodes the test chooses; its workers run in this process."""

    def __init__(self, nodes: Sequence[Node], kind: WorkerKind, clock: Clock) -> None:
        # The node bookkeeping (available, lost, back) is the local backend's own; only the workers differ.
        self._nodes = LocalCluster(list(nodes), Path("/nonexistent"))
        self.kind = kind
        self._clock = clock
        self.started: list[StartedWorker] = []
        self.start_failure: OSError | None = None
        """Set to make every worker start fail, as a process that cannot be spawned."""
        self.changes = ChangeSignal()
        self.survivors: list[tuple[SurvivingWorker, ScriptedChannel]] = []
        """Workers that outlived an earlier server, for a restore to adopt (the test plays them)."""
        self.stopped_survivors: list[SurvivingWorker] = []

    def nodes(self) -> list[Node]:
        return self._nodes.nodes()

    def all_nodes(self) -> list[tuple[Node, bool]]:
        return self._nodes.all_nodes()

    def set_available(self, node_id: str, available: bool) -> None:
        self._nodes.set_available(node_id, available)

    def node_changes(self) -> AsyncIterator[NodeChange]:
        return self._nodes.node_changes()  # none: the test changes membership with `set_available`

    async def start_worker(self, node_id: str, name: str, model: LoadModel) -> WorkerClient:
        if self.start_failure is not None:
            raise self.start_failure
        label = f"{name}-{node_id}-{len(self.started)}"
        script = ScriptedChannel(label) if self.kind is WorkerKind.SCRIPTED else None
        client = WorkerClient(script) if script is not None else start_inprocess_worker(label)
        self.started.append(StartedWorker(node_id, name, self._clock.monotonic(), client, script))
        self.changes.notify()
        return client

    async def adopt_workers(self, choose: ChooseSurvivors) -> list[AdoptedWorker]:
        chosen = choose([survivor for survivor, _ in self.survivors])
        self.stopped_survivors += [survivor for survivor, _ in self.survivors if survivor not in chosen]
        return [AdoptedWorker(survivor, WorkerClient(script)) for survivor, script in self.survivors
                if survivor in chosen]

    def scripts(self, node_id: str | None = None) -> list[ScriptedChannel]:
        """The scripted workers started (on the node), oldest first."""
        return [worker.script for worker in self.started
                if worker.script is not None and node_id in (None, worker.node_id)]

    async def ready(self, count: int) -> list[ScriptedChannel]:
        """Wait until `count` scripted workers have been started in all and told what to load, and answer `Ready`
        for each that has not yet; returns them all."""
        await self.wait_started(count)
        scripts = self.scripts()
        for script in scripts:
            await script.wait_sent(LoadModel)
            if not script.loaded and not script.ended:
                script.ready()
        return scripts

    async def wait_started(self, count: int) -> list[StartedWorker]:
        """Wait until `count` workers have been started in all; returns every one started."""
        await wait_until(self.changes, lambda: len(self.started) >= count, f"{count} workers started")
        return self.started
