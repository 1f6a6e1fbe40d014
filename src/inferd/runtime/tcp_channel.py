"""A worker on another machine: the same framed messages as a local worker's pipes, over an authenticated TCP
connection to the worker's own listener (`tcp_link.py` is its end).

The cluster backend starts the worker on its node and learns where it listens and its secret; `connect_worker`
connects, runs the handshake (`link_auth.py`) and hands back the usual `WorkerClient`. Ending the process on its node
is the backend's (`release`, called once, when the worker is killed or its connection ends); a kill also drops the
connection at once, so the route hears the worker has gone without waiting for the node. A connection that ends is
a worker that ended: the process, its node, or the network between them; the route treats all three as a crash.
A server that exits `detach`es instead: the connection closes, and the worker waits for the next server.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import cast

from inferd.runtime import link_auth, protocol
from inferd.runtime.protocol import ToWorker
from inferd.runtime.worker_client import MessageHandler, WorkerClient, guarded_reader


async def connect_worker(host: str, port: int, secret: bytes, *, name: str, pid: int | None,
                         release: Callable[[], None]) -> WorkerClient:
    """Connect to a worker listening at `host:port` and authenticate both ways; OSError (or HandshakeFailed) if
    it cannot be reached or does not prove itself."""
    sock = await asyncio.to_thread(_open, host, port, secret)
    channel = TcpChannel(name, f"{host}:{port}", pid, release)
    try:
        transport, _ = await asyncio.get_running_loop().create_connection(channel.reader, sock=sock)
    except BaseException:
        sock.close()
        raise
    channel.connected(transport)
    return WorkerClient(channel, detach=channel.detach)


def _open(host: str, port: int, secret: bytes) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=link_auth.HANDSHAKE_TIMEOUT_S)
    try:
        link_auth.greet(sock, secret)
    except BaseException:
        sock.close()
        raise
    sock.settimeout(None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class TcpChannel:
    def __init__(self, name: str, address: str, pid: int | None, release: Callable[[], None]) -> None:
        self._name = name
        self._address = address
        self._pid = pid
        self._release = release
        self._released = False
        self._handler: MessageHandler = _drop
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._transport: asyncio.Transport | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._killed = False

    def reader(self) -> asyncio.Protocol:
        """The protocol reading the connection: messages go to whoever `listen`s."""
        return guarded_reader(self._deliver, self.kill, self._name, self._ended)

    def connected(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes

    def _deliver(self, message: protocol.FromWorker | None) -> None:
        self._handler(message)

    @property
    def pid(self) -> int | None:
        return self._pid

    def listen(self, handler: MessageHandler) -> None:
        self._handler = handler
        self._watcher = asyncio.get_running_loop().create_task(self._until_closed(), name=f"worker-{self._name}-link")

    async def _until_closed(self) -> None:
        await self._ended
        self._release_once()
        self._handler(None)

    def _release_once(self) -> None:
        if not self._released:
            self._released = True
            self._release()

    def send(self, message: ToWorker) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._transport.write(protocol.frame(message))

    def exit_reason(self) -> str:
        if self._killed:
            return f"the inference process at [{self._address}] was killed"
        return f"the connection to the inference process at [{self._address}] closed (the process or its node ended)"

    def detach(self) -> None:
        """Close the connection and leave the worker running: the server is exiting, and the next one adopts it
        (its node's supervisor keeps it until then, for the worker's orphan timeout)."""
        self._released = True  # the worker goes on: nothing to release
        if self._transport is not None:
            self._transport.close()

    def kill(self) -> None:
        if self._killed:
            return
        self._killed = True
        self._release_once()
        if self._transport is not None:
            self._transport.abort()

    async def wait_closed(self, timeout_s: float) -> None:
        try:
            await asyncio.wait_for(asyncio.shield(self._ended), timeout_s)
        except TimeoutError:
            self.kill()
            await self._ended
        if self._watcher is not None:
            await self._watcher

    def stderr_tail(self) -> str:
        return ""  # the worker's log stays on its node (Ray keeps it with the node's logs)


def _drop(_: protocol.FromWorker | None) -> None:
    pass
