"""The seam between a route and its worker: what a route asks of a worker, whatever carries the messages.

`WorkerClient` is the one thing a route talks to: load a model, send a batch, resize, ask for stats, clear the
cache, shut down or kill, and every message coming back (then `None` once the worker has gone). It speaks
`runtime/protocol.py` over a `WorkerChannel`: a local process's pipes (`process_channel.py`), the same worker
code on a thread of this process (`inprocess_channel.py`, for tests), or a TCP connection to a worker on another
machine (`tcp_channel.py`). Every channel reads frames with `FrameReader`, straight from `data_received` (a stream
reader's `readexactly` cost each answer extra event-loop rounds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import BinaryIO, Protocol

import msgspec

from inferd.runtime import protocol
from inferd.runtime.protocol import (
    ClearCache,
    FromWorker,
    GetStats,
    InferBatch,
    LoadModel,
    SetAllocations,
    Shutdown,
    ToWorker,
)

logger = logging.getLogger(__name__)

MessageHandler = Callable[[FromWorker | None], None]
"""Takes each message from the worker, then `None` once when the worker has gone."""


class WorkerChannel(Protocol):
    """Carries protocol messages to and from one worker, and knows how it ended."""

    @property
    def pid(self) -> int | None: ...

    def exit_reason(self) -> str:
        """How the worker ended, in words, for failure reasons."""
        ...

    def listen(self, handler: MessageHandler) -> None: ...

    def send(self, message: ToWorker) -> None:
        """Queue a message; a worker that is gone drops it (its end is reported to the handler)."""
        ...

    def kill(self) -> None: ...

    async def wait_closed(self, timeout_s: float) -> None:
        """Wait for the worker to end, killing it after `timeout_s`, and for its last messages to be handled."""
        ...

    def stderr_tail(self) -> str:
        """The last lines the worker logged, for failure reasons."""
        ...


class WorkerClient:
    """A route's worker: typed requests over whichever channel reaches it."""

    def __init__(self, channel: WorkerChannel, detach: Callable[[], None] | None = None) -> None:
        """`detach`: for a worker that can outlive the server (a remote one), how to let it go still running."""
        self._channel = channel
        self._detach = detach

    @property
    def pid(self) -> int | None:
        return self._channel.pid

    def exit_reason(self) -> str:
        return self._channel.exit_reason()

    def listen(self, handler: MessageHandler) -> None:
        self._channel.listen(handler)

    def load(self, model: LoadModel) -> None:
        """The first message: load the model, then answer `Ready` (or `LoadFailed`)."""
        self._channel.send(model)

    def send_batch(self, batch: InferBatch) -> None:
        self._channel.send(batch)

    def resize(self, allocations: int) -> None:
        self._channel.send(SetAllocations(allocations))

    def request_stats(self) -> None:
        """The worker answers `WorkerStats`, even while every allocation is busy."""
        self._channel.send(GetStats())

    def clear_cache(self) -> None:
        """The worker answers `CacheCleared`."""
        self._channel.send(ClearCache())

    def shutdown(self) -> None:
        """Finish what it holds, then end."""
        self._channel.send(Shutdown())

    def leave(self) -> None:
        """The server is exiting: a worker that can outlive it is let go, still running, for the next server to
        adopt; one that cannot is told to shut down."""
        if self._detach is not None:
            self._detach()
        else:
            self.shutdown()

    def kill(self) -> None:
        self._channel.kill()

    async def wait_closed(self, timeout_s: float) -> None:
        await self._channel.wait_closed(timeout_s)

    def stderr_tail(self) -> str:
        return self._channel.stderr_tail()


class FrameReader(asyncio.Protocol):
    """Frames off a worker's output pipe: a 4-byte length, then msgpack; each message decoded as it completes."""

    def __init__(self, deliver: Callable[[FromWorker], None], unreadable: Callable[[Exception], None],
                 ended: asyncio.Future[None]) -> None:
        self._deliver = deliver
        self._unreadable = unreadable
        self._ended = ended
        self._buffer = bytearray()
        self._broken = False

    def data_received(self, data: bytes) -> None:
        if self._broken:
            return
        self._buffer += data
        while len(self._buffer) >= protocol.HEADER_BYTES:
            try:
                end = protocol.HEADER_BYTES + protocol.frame_length(bytes(self._buffer[:protocol.HEADER_BYTES]))
                if len(self._buffer) < end:
                    return
                message = protocol.from_worker_decoder.decode(bytes(self._buffer[protocol.HEADER_BYTES:end]))
            except (msgspec.DecodeError, ValueError) as error:
                self._broken = True
                self._buffer.clear()
                self._unreadable(error)
                return
            del self._buffer[:end]
            self._deliver(message)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._ended.done():
            self._ended.set_result(None)


def guarded_reader(handler: MessageHandler, on_unreadable: Callable[[], None], name: str,
                   ended: asyncio.Future[None]) -> FrameReader:
    """A `FrameReader` handing each message to `handler`, whose bugs are logged rather than stop the reading; a frame
    that cannot be read calls `on_unreadable`, which ends the worker."""

    def deliver(message: FromWorker) -> None:
        try:
            handler(message)
        except Exception:  # a bug in one handler must not stop the worker's results from being read
            logger.exception("handling %s from worker %s failed", type(message).__name__, name)

    def unreadable(error: Exception) -> None:
        logger.error("worker %s sent an unreadable frame (%s); stopping it", name, error)
        on_unreadable()

    return FrameReader(deliver, unreadable, ended)


async def read_messages(output: BinaryIO, handler: MessageHandler, on_unreadable: Callable[[], None],
                        name: str) -> None:
    """Hand every message on `output` to `handler` until the pipe ends (not `None`: the caller says when the worker
    has gone)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.connect_read_pipe(lambda: guarded_reader(handler, on_unreadable, name, ended), output)
    try:
        await ended
    finally:
        transport.close()
