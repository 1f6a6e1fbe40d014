"""A worker in a process of its own on this machine: framed messages over its stdin and stdout.

The cluster backend decides where a worker runs and starts it with `start_worker_process`. A crash or a hang
in a model ends that process, never the server; the kernel ends the process with the server.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import BinaryIO

from inferd.runtime import protocol
from inferd.runtime.protocol import ToWorker
from inferd.runtime.worker_client import MessageHandler, WorkerClient, read_messages

STDERR_TAIL_LINES = 20
WORKER_ENVIRONMENT = {"GOMP_SPINCOUNT": "100000"}
"""Idle intra-op threads spin about a millisecond after each parallel region, then sleep: through the gaps
between a forward pass's regions, and at low load often into the next pass, which then starts without waking
them (bench/README.md has the measurements). OpenMP cuts the spinning short by itself when its threads outnumber
the processors (several allocations of several threads); allocations of one thread have no such threads."""


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
    return WorkerClient(ProcessChannel(process, log_path, os.fdopen(read_fd, "rb", buffering=0)))


class ProcessChannel:
    def __init__(self, process: asyncio.subprocess.Process, log_path: Path, stdout: BinaryIO) -> None:
        self._process = process
        self.log_path = log_path
        self._stdout = stdout
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        return self._process.pid

    def exit_reason(self) -> str:
        return f"inference process exited with code [{self._process.returncode}]"

    def listen(self, handler: MessageHandler) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read(handler), name=f"worker-{self.pid}-reader")

    async def _read(self, handler: MessageHandler) -> None:
        await read_messages(self._stdout, handler, self.kill, str(self.pid))
        await self._process.wait()
        handler(None)

    def send(self, message: ToWorker) -> None:
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing():
            return
        stdin.write(protocol.frame(message))

    def stderr_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-STDERR_TAIL_LINES:])

    async def wait_closed(self, timeout_s: float) -> None:
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
