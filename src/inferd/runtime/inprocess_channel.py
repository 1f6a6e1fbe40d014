"""A worker on a thread of this process: the worker's own code (`worker.serve`) behind two pipes.

For tests of the routes and the control plane: the same protocol, batching, allocation threads, cache and
model as a worker process, with no process to start. It cannot be killed as a process can: `kill` reports the
worker gone at once and closes its input, and the thread ends after the batch it holds.
"""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

from inferd.runtime import protocol, worker
from inferd.runtime.protocol import LoadModel, ToWorker
from inferd.runtime.worker_client import MessageHandler, WorkerClient, read_messages

KILLED = -9


def start_inprocess_worker(name: str = "inprocess") -> WorkerClient:
    return WorkerClient(InProcessChannel(name))


def _no_process_setup(message: LoadModel) -> Path:
    """Leave this process's priority and thread pools as they are: they are the test's."""
    return Path(message.definition_path)


class InProcessChannel:
    def __init__(self, name: str) -> None:
        self._name = name
        to_worker_read, to_worker_write = os.pipe()
        from_worker_read, from_worker_write = os.pipe()
        self._input = os.fdopen(to_worker_write, "wb")
        self._output = os.fdopen(from_worker_read, "rb", buffering=0)
        self._returncode: int | None = None
        self._gone = False
        self._handler: MessageHandler = lambda message: None
        self._reader: asyncio.Task[None] | None = None
        self._thread = threading.Thread(target=self._run, args=(to_worker_read, from_worker_write),
                                        name=f"worker-{name}", daemon=True)
        self._thread.start()

    def _run(self, source_fd: int, sink_fd: int) -> None:
        # The worker's reader thread owns its input: it may still be blocked reading it when `serve` returns, and
        # ends when this channel closes the other end. Closing the output tells the server the worker has gone.
        source = os.fdopen(source_fd, "rb", buffering=0)
        with os.fdopen(sink_fd, "wb") as sink:
            try:
                code = worker.serve(worker.PipeLink(source, sink), prepare=_no_process_setup)
            except (BrokenPipeError, ValueError):  # the server side closed while the worker wrote
                code = 1
        if self._returncode is None:
            self._returncode = code

    @property
    def pid(self) -> int:
        return os.getpid()

    def exit_reason(self) -> str:
        return f"inference process exited with code [{self._returncode}]"

    def listen(self, handler: MessageHandler) -> None:
        self._handler = handler
        self._reader = asyncio.get_running_loop().create_task(self._read(), name=f"worker-{self._name}-reader")

    async def _read(self) -> None:
        await read_messages(self._output, self._deliver, self.kill, self._name)
        await asyncio.to_thread(self._thread.join)
        self._end()

    def _deliver(self, message: protocol.FromWorker | None) -> None:
        if not self._gone:
            self._handler(message)

    def _end(self) -> None:
        if not self._gone:
            self._gone = True
            self._handler(None)

    def send(self, message: ToWorker) -> None:
        if self._gone or self._input.closed:
            return
        try:
            self._input.write(protocol.frame(message))
            self._input.flush()
        except BrokenPipeError:
            pass

    def kill(self) -> None:
        if self._gone:
            return
        self._returncode = KILLED
        self._input.close()  # the worker reads the end of its input and stops after its current batch
        asyncio.get_running_loop().call_soon(self._end)

    def stderr_tail(self) -> str:
        return ""

    async def wait_closed(self, timeout_s: float) -> None:
        await asyncio.wait_for(asyncio.to_thread(self._thread.join), timeout_s)
        if self._reader is not None:
            await self._reader
        if not self._input.closed:
            self._input.close()
