"""The server's end of one worker process: framed messages over its stdin/stdout, on the event loop.

The cluster backend decides where a worker runs and starts it with `start_worker_process`; this module
speaks the protocol. Every message from the worker goes to one handler, straight from the pipe's
`data_received` (a stream reader's `readexactly` cost each answer extra event-loop rounds); when the
worker's output ends (it exited, crashed or was killed) the handler hears `None` once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import msgspec

from inferd.runtime import protocol
from inferd.runtime.protocol import FromWorker

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20
WORKER_ENVIRONMENT = {"GOMP_SPINCOUNT": "100000"}
"""Idle intra-op threads spin about a millisecond after each parallel region, then sleep: through the gaps
between a forward pass's regions, and at low load often into the next pass, which then starts without waking
them. bench/latency.py over raw: +1.83, +1.74, +1.67 ms with 100,000 spins; +1.91, +1.82, +2.08 with 10,000;
+2.12 with 1,000. OpenMP cuts the spinning short by itself when its threads outnumber the processors
(several allocations of several threads); allocations of one thread have no such threads."""


def worker_environment() -> dict[str, str]:
    """The environment a worker process starts with; the user's own settings win."""
    return {**WORKER_ENVIRONMENT, **os.environ}


async def start_worker_process(command: list[str], log_path: Path) -> WorkerClient:
    """Start `command` with a pipe for its stdin, one for its stdout (read by a protocol), and its stderr in
    `log_path`. Both pipe ends the server keeps are close-on-exec, so no later worker inherits them."""
    read_fd, write_fd = os.pipe()
    try:
        with log_path.open("ab") as log:
            process = await asyncio.create_subprocess_exec(
                *command, stdin=asyncio.subprocess.PIPE, stdout=write_fd, stderr=log, env=worker_environment())
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)  # the child has its own copy: its exit alone ends the output
    return WorkerClient(process, log_path, os.fdopen(read_fd, "rb", buffering=0))


class _FrameReader(asyncio.Protocol):
    """Frames off the worker's stdout: a 4-byte length, then msgpack; each message decoded as it completes."""

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


class WorkerClient:
    def __init__(self, process: asyncio.subprocess.Process, log_path: Path, stdout: BinaryIO) -> None:
        self._process = process
        self.log_path = log_path
        self._stdout = stdout
        self._handler: Callable[[FromWorker | None], None] = lambda message: None
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    def listen(self, handler: Callable[[FromWorker | None], None]) -> None:
        """Deliver every message to `handler`, then `None` when the worker's output ends."""
        self._handler = handler
        self._reader = asyncio.get_running_loop().create_task(self._read(), name=f"worker-{self.pid}-reader")

    def send(self, message: msgspec.Struct) -> None:
        """Queue a message for the worker; a worker that is gone drops it (its exit is reported separately)."""
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing():
            return
        stdin.write(protocol.frame(message))

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()
        transport, _ = await loop.connect_read_pipe(lambda: _FrameReader(self._deliver, self._unreadable, ended),
                                                    self._stdout)
        try:
            await ended
        finally:
            transport.close()
        await self._process.wait()
        self._handler(None)

    def _deliver(self, message: FromWorker) -> None:
        try:
            self._handler(message)
        except Exception:  # a bug in one handler must not stop the worker's results from being read
            logger.exception("handling %s from worker %s failed", type(message).__name__, self.pid)

    def _unreadable(self, error: Exception) -> None:
        logger.error("worker %s sent an unreadable frame (%s); stopping it", self.pid, error)
        self.kill()

    def stderr_tail(self) -> str:
        """The last lines the worker wrote to its log, for failure reasons."""
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-STDERR_TAIL_LINES:])

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    async def wait_closed(self, timeout_s: float) -> None:
        """Wait for the process to exit, killing it if it does not within `timeout_s`."""
        try:
            await asyncio.wait_for(self._process.wait(), timeout_s)
        except TimeoutError:
            self.kill()
            await self._process.wait()
        if self._reader is not None:
            await self._reader

    def kill(self) -> None:
        if self._process.returncode is None:
            self._process.kill()
