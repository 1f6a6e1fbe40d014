"""The worker process: one copy of a model, its allocations running batches concurrently.

Run as `python -m inferd.runtime.worker`; it speaks `runtime/protocol.py` on stdin/stdout and logs to
stderr (a `PipeLink`); on another machine the same code speaks it over TCP (`runtime/remote_worker.py`). The
first message loads the TorchScript definition (once, with `torch.jit.load`); then a reader thread puts batches on
the allocation threads' queue and hands control messages (allocations, stats, cache clearing, shutdown) to the main loop, which answers them at once, even while every allocation is in a long
forward pass. The allocations share one inference cache (`runtime/cached_runner.py`), bounded by `cache_size`. Each
allocation is a thread with `threads_per_allocation` intra-op threads; PyTorch releases the GIL in the
forward pass, so allocations run in parallel over the same weights. Resizing starts or retires allocation
threads: same process, no reload, and a retiring allocation finishes its batch first. A remote worker whose server
went away may be adopted by the next one, which sends `LoadModel` again: the worker answers `Ready` without loading
when it names what the worker runs (`protocol.model_fingerprint`), `LoadFailed` when not.
"""

from __future__ import annotations

import os
import queue
import resource
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

import msgspec

import torch

from inferd.child_process import die_with_parent
from inferd.runtime import protocol
from inferd.runtime.cache import LfuCache
from inferd.runtime.cached_runner import CachedRunner
from inferd.runtime.engine import ModelRunner, load_torchscript, tokenizer_from
from inferd.runtime.protocol import (
    AllocationsSet,
    BatchDone,
    CacheCleared,
    ClearCache,
    Failure,
    GetStats,
    InferBatch,
    LoadFailed,
    LoadModel,
    Ready,
    RequestOutcome,
    SetAllocations,
    Shutdown,
    WorkerStats,
)
from inferd.runtime.torch_device import Placement

_RETIRE = None  # put on the batch queue: the allocation that takes it stops


class Sender(Protocol):
    def send(self, message: msgspec.Struct) -> None:
        """Send one message to the server (from any thread)."""
        ...


class WorkerLink(Sender, Protocol):
    """How a worker hears from its server and answers it: a local process's pipes, or TCP from another machine."""

    def messages(self) -> Iterator[protocol.ToWorker]:
        """Every message from the server, in order, until the server is gone for good."""
        ...


class Outbox:
    """Frames to the server; allocation threads and the main loop share it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, message: msgspec.Struct) -> None:
        data = protocol.frame(message)
        with self._lock:
            self._stream.write(data)
            self._stream.flush()


class PipeLink:
    """The server at the other end of two pipes: frames read from `source`, written to `sink`."""

    def __init__(self, source: BinaryIO, sink: BinaryIO) -> None:
        self._source = source
        self._outbox = Outbox(sink)

    def messages(self) -> Iterator[protocol.ToWorker]:
        """Frames until the end of input; then the source is closed here, the one place that knows the reading
        stopped (an in-process worker's pipe would otherwise be left to the garbage collector)."""
        try:
            while (payload := protocol.read_frame(self._source)) is not None:
                yield protocol.to_worker_decoder.decode(payload)
        finally:
            self._source.close()

    def send(self, message: msgspec.Struct) -> None:
        self._outbox.send(message)


class Allocations:
    """The allocation threads, all taking batches from one queue."""

    def __init__(self, runner: CachedRunner, outbox: Sender) -> None:
        self._runner = runner
        self._outbox = outbox
        self._batches: queue.SimpleQueue[InferBatch | None] = queue.SimpleQueue()  # C: a faster wake-up
        self._threads: list[threading.Thread] = []
        self._target = 0
        self.batches_done = 0
        self._unanswered = 0
        self._answered = threading.Condition()

    @property
    def count(self) -> int:
        return self._target

    def resize(self, count: int) -> None:
        """Start allocations up to `count`, or retire the surplus once each finishes its current batch."""
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        for _ in range(count - self._target):
            thread = threading.Thread(target=self._allocation, name="allocation", daemon=True)
            thread.start()
            self._threads.append(thread)
        for _ in range(self._target - count):
            self._batches.put(_RETIRE)
        self._target = count

    def submit(self, batch: InferBatch) -> None:
        with self._answered:
            self._unanswered += 1
        self._batches.put(batch)

    def wait_answered(self) -> None:
        """Wait until every batch submitted so far has been answered (or its answer dropped)."""
        with self._answered:
            self._answered.wait_for(lambda: self._unanswered == 0)

    def stop(self) -> None:
        """Finish queued batches, then stop every allocation."""
        self.resize(0)
        for thread in self._threads:
            thread.join()

    def _allocation(self) -> None:
        while True:
            batch = self._batches.get()
            if batch is _RETIRE:
                return
            started = time.perf_counter()
            try:
                outcomes = self._runner.run(batch.requests)
            except Exception as error:  # noqa: BLE001 - a bug must fail the batch, not kill the allocation
                traceback.print_exc()
                failure = Failure(500, "status_exception", f"Error in inference process: [{type(error).__name__}: {error}]")
                outcomes = [RequestOutcome(request.request_id, failure=failure) for request in batch.requests]
            elapsed_ms = (time.perf_counter() - started) * 1000
            self.batches_done += 1
            self._outbox.send(BatchDone(batch.batch_id, outcomes, elapsed_ms))
            with self._answered:
                self._unanswered -= 1
                self._answered.notify_all()


class Inbox:
    """Where the reader thread puts what the server sends: batches straight onto the allocations' queue once
    they run (one thread hand-off fewer per batch, which low-load latency feels), everything else to the main loop."""

    def __init__(self) -> None:
        self.control: queue.SimpleQueue[protocol.ToWorker] = queue.SimpleQueue()
        self.allocations: Allocations | None = None

    def put(self, message: protocol.ToWorker) -> None:
        if isinstance(message, InferBatch) and self.allocations is not None:
            self.allocations.submit(message)
        else:
            self.control.put(message)


def _read_messages(link: WorkerLink, inbox: Inbox) -> None:
    """Reader thread: messages from the server into the inbox; the server gone for good means shut down."""
    try:
        for message in link.messages():
            inbox.put(message)
    finally:
        inbox.put(Shutdown())


Prepare = Callable[[LoadModel], Path]
"""Sets the process up for the model and says where its definition is."""


def set_up_process(message: LoadModel) -> None:
    """What only a process of its own may set: its priority and torch's inter-op pool (once per process)."""
    if message.low_priority:
        os.nice(19)  # as Elasticsearch's --lowPriority: runs on what normal deployments leave
    torch.set_num_interop_threads(1)


def prepare_process(message: LoadModel) -> Path:
    """A local worker's process, set up; its definition is where the server keeps it."""
    set_up_process(message)
    return Path(message.definition_path)


def _load(message: LoadModel, definition: Path) -> CachedRunner:
    # Loaded with one intra-op thread, so this (main) thread never starts an OpenMP team of its own: with one idle
    # team more than the processors, OpenMP stops spinning between the parallel regions of every team, and each
    # region of a forward pass waits for its threads to wake (1 allocation x 2 threads: 6.8 -> 7.9 ms a pass).
    torch.set_num_threads(1)
    placement = Placement.of(message.device, message.precision)
    module = load_torchscript(definition, placement.map_location)
    torch.set_num_threads(message.threads_per_allocation)  # each allocation's intra-op threads
    tokenizer = tokenizer_from(message.tokenization, message.vocabulary, message.merges, message.scores)
    tokenizer = tokenizer.with_options(max_windows=message.max_document_windows)
    runner = ModelRunner(module, message.task_type, tokenizer, message.vocabulary, message.max_batch_rows,
                         message.max_batch_tokens, placement.forward(module))
    return CachedRunner(runner, LfuCache(message.cache_size_bytes))


def serve(link: WorkerLink, prepare: Prepare = prepare_process) -> int:
    """Speak the protocol over `link` until told to shut down or the server is gone; the exit code."""
    inbox = Inbox()
    threading.Thread(target=_read_messages, args=(link, inbox), name="reader", daemon=True).start()
    first = inbox.control.get()
    if not isinstance(first, LoadModel):
        return 2
    loading = time.perf_counter()
    try:
        runner = _load(first, prepare(first))
    except Exception as error:  # noqa: BLE001 - any load failure is reported, then the worker exits
        link.send(LoadFailed(f"{type(error).__name__}: {error}"))
        return 1
    load_ms = (time.perf_counter() - loading) * 1000
    load_count = 1
    allocations = Allocations(runner, link)
    allocations.resize(first.allocations)
    inbox.allocations = allocations
    link.send(Ready(protocol.PROTOCOL_VERSION, os.getpid(), load_count, allocations.count, load_ms))
    while True:
        match inbox.control.get():
            case InferBatch() as batch:
                allocations.submit(batch)
            case SetAllocations(count=count):
                allocations.resize(count)
                link.send(AllocationsSet(allocations.count))
            case GetStats():
                max_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                cache = runner.cache
                link.send(WorkerStats(os.getpid(), load_count, allocations.count, first.threads_per_allocation,
                                        allocations.batches_done, max_rss_kib * 1024,
                                        cache.size_bytes, cache.hits, cache.misses))
            case ClearCache():
                runner.cache.clear()
                link.send(CacheCleared())
            case Shutdown():
                allocations.stop()
                return 0
            case LoadModel() as again:  # a new server took the worker over (a remote worker's link only)
                if protocol.model_fingerprint(again) != protocol.model_fingerprint(first):
                    link.send(LoadFailed("the worker runs another model or other resources than the server asks for"))
                    continue
                # What an earlier server sent is answered first, so no answer of its reaches the new server once
                # it sends batches (whose ids may be the same).
                allocations.wait_answered()
                allocations.resize(again.allocations)
                link.send(Ready(protocol.PROTOCOL_VERSION, os.getpid(), load_count, allocations.count, load_ms))


def main() -> None:
    die_with_parent()
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # TorchScript's deprecation notice
    sink = os.fdopen(os.dup(1), "wb")  # the protocol keeps the real stdout ...
    os.dup2(2, 1)  # ... and anything printed goes to stderr, where it cannot corrupt a frame
    code = serve(PipeLink(sys.stdin.buffer, sink))
    sink.flush()
    sys.stderr.flush()
    os._exit(code)  # the reader thread may be blocked on stdin; interpreter shutdown would wait on it


if __name__ == "__main__":
    main()
