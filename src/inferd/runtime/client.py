"""The server's end of one worker process: framed messages over its stdin/stdout, on the event loop.

The process itself is started by the cluster backend; this class only speaks the protocol. Every
message from the worker goes to one handler; when the worker's output ends (it exited, crashed or was
killed) the handler hears `None` once, with the tail of the worker's log for the reason.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

import msgspec

from inferd.runtime import protocol
from inferd.runtime.protocol import FromWorker

logger = logging.getLogger(__name__)

STDERR_TAIL_LINES = 20
WORKER_ENVIRONMENT = {"OMP_WAIT_POLICY": "PASSIVE"}
"""Idle intra-op threads sleep instead of spinning after each parallel region: on a small machine their
spinning took the CPU the server needs to answer the batch just computed (about 0.9 ms per request at low
load) and cost the forward pass nothing measurable."""


def worker_environment() -> dict[str, str]:
    """The environment a worker process starts with; the user's own settings win."""
    return {**WORKER_ENVIRONMENT, **os.environ}


class WorkerClient:
    def __init__(self, process: asyncio.subprocess.Process, log_path: Path) -> None:
        self._process = process
        self.log_path = log_path
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
        stdout = self._process.stdout
        assert stdout is not None
        try:
            while True:
                header = await stdout.readexactly(protocol.HEADER_BYTES)
                payload = await stdout.readexactly(protocol.frame_length(header))
                message = protocol.from_worker_decoder.decode(payload)
                try:
                    self._handler(message)
                except Exception:  # a bug in one handler must not stop the worker's results from being read
                    logger.exception("handling %s from worker %s failed", type(message).__name__, self.pid)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except (msgspec.DecodeError, ValueError):
            logger.exception("worker %s sent an unreadable frame; stopping it", self.pid)
            self.kill()
        await self._process.wait()
        self._handler(None)

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
