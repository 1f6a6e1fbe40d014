"""A worker on another machine, here on loopback: the same frames over an authenticated TCP link.

The worker is a real process (`python -m inferd.runtime.remote_worker`) running a real TorchScript model; the server
end is the real `connect_worker`. A peer without the worker's secret is refused before any frame; a worker told to
shut down ends, and one whose server went away waits for the next to adopt it, or ends after its orphan timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest
import torch

from inferd.runtime import link_auth, protocol
from inferd.runtime.protocol import BatchDone, FromWorker, InferBatch, InferRequest, LoadFailed, LoadModel, Ready
from inferd.runtime.remote_worker import RemoteWorkerProcess, definition_file, spawn_remote_worker
from inferd.runtime.tcp_channel import connect_worker
from inferd.runtime.worker_client import WorkerClient

ORPHAN_TIMEOUT_S = 2.0
_M = TypeVar("_M", Ready, LoadFailed, BatchDone)


class Identity(torch.nn.Module):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return input_ids.float()


@pytest.fixture
def model(tmp_path: Path) -> LoadModel:
    """An identity model, cached under its SHA-256 as a node's supervisor leaves it; the server's path is elsewhere."""
    server_copy = tmp_path / "server" / "identity.pt"
    server_copy.parent.mkdir()
    torch.jit.script(Identity()).save(str(server_copy))
    sha256 = hashlib.sha256(server_copy.read_bytes()).hexdigest()
    (tmp_path / "node").mkdir()
    shutil.copy(server_copy, definition_file(tmp_path / "node", sha256))
    return LoadModel(definition_path="/not/on/this/node.pt", definition_sha256=sha256, task_type="pass_through",
                     tokenization={"bert": {"do_lower_case": True}}, vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a"],
                     merges=None, scores=None, threads_per_allocation=1, allocations=1, max_batch_rows=4,
                     max_batch_tokens=512, cache_size_bytes=0)


@pytest.fixture
def started(tmp_path: Path, model: LoadModel) -> Iterator[RemoteWorkerProcess]:
    worker = spawn_remote_worker(tmp_path / "node", tmp_path / "worker.log", "127.0.0.1", None)
    yield worker
    worker.process.kill()
    worker.process.wait()


def test_a_remote_worker_serves_over_its_link_and_ends_when_told_to(started: RemoteWorkerProcess, model: LoadModel,
                                                               tmp_path: Path) -> None:
    async def scenario() -> list[FromWorker | None]:
        released: list[bool] = []
        # A peer without the secret is cut off in the handshake; the worker still waits for its server.
        with pytest.raises(link_auth.HandshakeFailed):
            await connect_worker(started.host, started.port, b"x" * link_auth.SECRET_BYTES, name="intruder", pid=None,
                                 release=lambda: None)
        client = await connect_worker(started.host, started.port, started.secret, name="remote",
                                      pid=started.process.pid, release=lambda: released.append(True))
        received: list[FromWorker | None] = []
        arrived = asyncio.Event()

        def handle(message: FromWorker | None) -> None:
            received.append(message)
            arrived.set()

        client.listen(handle)
        client.load(model)
        client.send_batch(InferBatch(7, [InferRequest(1, ["a a"], {})]))
        while not any(isinstance(message, BatchDone) for message in received):
            await asyncio.wait_for(arrived.wait(), 60)
            arrived.clear()
        client.shutdown()
        await client.wait_closed(30)
        assert released == [True]  # the backend is told once that the worker is gone
        return received

    received = asyncio.run(scenario())
    ready, done = received[0], next(message for message in received if isinstance(message, BatchDone))
    assert isinstance(ready, Ready) and ready.protocol_version == protocol.PROTOCOL_VERSION
    assert ready.pid == started.process.pid
    assert done.batch_id == 7 and done.outcomes[0].results is not None
    assert received[-1] is None
    assert started.process.wait(30) == 0
    assert "refused a connection" in (tmp_path / "worker.log").read_text()


def test_the_handshake_bounds_what_an_unauthenticated_peer_may_send() -> None:
    server, worker = socket.socketpair()
    with server, worker:
        server.sendall(b"\x7f\xff\xff\xff")  # a frame header announcing 2 GiB
        with pytest.raises(link_auth.HandshakeFailed, match="exceeds the limit of 256"):
            link_auth.greet(worker, link_auth.new_secret())


def handshake(worker_secret: bytes, server_secret: bytes) -> tuple[Exception | None, Exception | None]:
    """Both ends of one handshake over a socket pair: what each raised (None: it accepted the other)."""
    server, worker = socket.socketpair()
    raised: list[Exception | None] = []

    def admit() -> None:
        try:
            link_auth.admit(worker, worker_secret)
            raised.append(None)
        except link_auth.HandshakeFailed as error:
            raised.append(error)
            worker.close()  # as the worker does: the server's read ends

    thread = threading.Thread(target=admit)
    thread.start()
    try:
        link_auth.greet(server, server_secret)
        server_raised: Exception | None = None
    except link_auth.HandshakeFailed as error:
        server_raised = error
    thread.join(10)
    server.close()
    worker.close()
    return raised[0], server_raised


def test_the_same_secret_admits_both_sides() -> None:
    secret = link_auth.new_secret()
    assert handshake(secret, secret) == (None, None)


def test_each_side_refuses_a_peer_with_another_secret() -> None:
    worker_raised, server_raised = handshake(link_auth.new_secret(), link_auth.new_secret())
    assert isinstance(worker_raised, link_auth.HandshakeFailed)  # the worker checks the server's proof first
    assert "does not hold the worker's secret" in str(worker_raised)
    assert isinstance(server_raised, link_auth.HandshakeFailed)


@pytest.fixture
def orphanable(tmp_path: Path, model: LoadModel) -> Iterator[RemoteWorkerProcess]:
    worker = spawn_remote_worker(tmp_path / "node", tmp_path / "worker.log", "127.0.0.1", None, ORPHAN_TIMEOUT_S)
    yield worker
    worker.process.kill()
    worker.process.wait()


class Server:
    """One server's connection to the worker, and what the worker sent it."""

    def __init__(self, client: WorkerClient) -> None:
        self.client = client
        self.received: list[FromWorker | None] = []
        self._arrived = asyncio.Event()
        client.listen(self._handle)

    def _handle(self, message: FromWorker | None) -> None:
        self.received.append(message)
        self._arrived.set()

    async def next(self, kind: type[_M]) -> _M:
        while not (found := [message for message in self.received if isinstance(message, kind)]):
            await asyncio.wait_for(self._arrived.wait(), 60)
            self._arrived.clear()
        self.received.remove(found[0])
        return found[0]

    async def ended(self) -> None:
        while None not in self.received:
            await asyncio.wait_for(self._arrived.wait(), 60)
            self._arrived.clear()


async def connect(worker: RemoteWorkerProcess, secret: bytes | None = None) -> Server:
    return Server(await connect_worker(worker.host, worker.port, secret or worker.secret, name="remote",
                                       pid=worker.process.pid, release=lambda: None))


def test_a_worker_whose_server_went_away_is_adopted_by_the_next_without_loading_again(
        orphanable: RemoteWorkerProcess, model: LoadModel) -> None:
    async def scenario() -> None:
        first = await connect(orphanable)
        first.client.load(model)
        loaded = await first.next(Ready)
        first.client.send_batch(InferBatch(1, [InferRequest(1, ["a"], {})]))
        await first.next(BatchDone)
        first.client.leave()  # the server exits, letting its worker go
        await first.client.wait_closed(10)

        with pytest.raises(link_auth.HandshakeFailed):  # the next server must prove the secret, as the first did
            await connect(orphanable, b"x" * link_auth.SECRET_BYTES)
        second = await connect(orphanable)
        second.client.load(msgspec.structs.replace(model, allocations=2, definition_path="/the/next/server.pt"))
        adopted = await second.next(Ready)
        assert (adopted.pid, adopted.load_count, adopted.allocations) == (loaded.pid, 1, 2)  # no second load
        second.client.send_batch(InferBatch(1, [InferRequest(1, ["a a"], {})]))  # ids start again: a new server's
        done = await second.next(BatchDone)
        assert done.batch_id == 1 and done.outcomes[0].request_id == 1 and done.outcomes[0].results is not None
        with pytest.raises(link_auth.HandshakeFailed):  # a peer without the secret takes nothing over
            await connect(orphanable, b"y" * link_auth.SECRET_BYTES)
        second.client.send_batch(InferBatch(2, [InferRequest(2, ["a"], {})]))
        assert (await second.next(BatchDone)).batch_id == 2

        # A third server takes the link over from one that still holds it (its machine died, say): the second's
        # connection is closed. It asks for another model, which this worker does not run.
        third = await connect(orphanable)
        await second.ended()
        third.client.load(msgspec.structs.replace(model, task_type="text_embedding"))
        refused = await third.next(LoadFailed)
        assert "runs another model" in refused.reason
        third.client.kill()

    asyncio.run(scenario())
    # No server holds the worker any more: it ends by itself once its orphan timeout has passed.
    orphaned = time.monotonic()
    assert orphanable.process.wait(30) == 0
    assert time.monotonic() - orphaned < ORPHAN_TIMEOUT_S + 10
