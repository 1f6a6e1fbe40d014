"""The server reads the worker's frames as the pipe delivers them: split, joined, or unreadable."""

import asyncio
import struct
from collections.abc import Iterator

import pytest

from inferd.runtime import protocol
from inferd.runtime.worker_client import FrameReader as _FrameReader
from inferd.runtime.protocol import AllocationsSet, CacheCleared


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def reader(loop: asyncio.AbstractEventLoop) -> tuple[_FrameReader, list[object], list[Exception], asyncio.Future[None]]:
    delivered: list[object] = []
    unreadable: list[Exception] = []
    ended: asyncio.Future[None] = loop.create_future()
    return _FrameReader(delivered.append, unreadable.append, ended), delivered, unreadable, ended


def test_frames_split_across_reads_and_joined_in_one_are_each_delivered_once_complete(
    loop: asyncio.AbstractEventLoop,
) -> None:
    frames_reader, delivered, unreadable, _ = reader(loop)
    first = protocol.frame(AllocationsSet(3))
    data = first + protocol.frame(CacheCleared()) + protocol.frame(AllocationsSet(1))
    frames_reader.data_received(data[:2])  # inside the first header
    frames_reader.data_received(data[2:6])  # inside its payload
    assert not delivered
    frames_reader.data_received(data[6:len(first) + 3])  # the rest of it, and into the second header
    assert delivered == [AllocationsSet(3)]
    frames_reader.data_received(data[len(first) + 3:])
    assert delivered == [AllocationsSet(3), CacheCleared(), AllocationsSet(1)] and not unreadable


def test_an_unreadable_frame_is_reported_once_and_nothing_after_it_is_delivered(
    loop: asyncio.AbstractEventLoop,
) -> None:
    frames_reader, delivered, unreadable, _ = reader(loop)
    garbage = struct.pack(">I", 3) + b"\xc1\xc1\xc1"  # 0xc1 is never valid msgpack
    frames_reader.data_received(protocol.frame(CacheCleared()) + garbage + protocol.frame(CacheCleared()))
    frames_reader.data_received(protocol.frame(CacheCleared()))
    assert delivered == [CacheCleared()] and len(unreadable) == 1


def test_a_frame_longer_than_the_limit_is_unreadable_before_its_payload_arrives(
    loop: asyncio.AbstractEventLoop,
) -> None:
    frames_reader, delivered, unreadable, _ = reader(loop)
    frames_reader.data_received(struct.pack(">I", protocol.MAX_FRAME_BYTES + 1))
    assert not delivered and len(unreadable) == 1 and "exceeds the limit" in str(unreadable[0])


def test_the_end_of_the_output_ends_the_reader_once(loop: asyncio.AbstractEventLoop) -> None:
    frames_reader, _, _, ended = reader(loop)
    frames_reader.connection_lost(None)
    frames_reader.connection_lost(None)
    assert ended.done() and ended.result() is None
