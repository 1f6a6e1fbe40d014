"""The worker's `Ready` on the wire: it carries the model's load time, and an older worker's is refused by version."""

from __future__ import annotations

import msgspec

from inferd.runtime import protocol
from inferd.runtime.protocol import PROTOCOL_VERSION, Ready


def test_ready_carries_the_load_time() -> None:
    sent = Ready(PROTOCOL_VERSION, 1234, 1, 2, 812.5)
    assert protocol.from_worker_decoder.decode(protocol.pack(sent)) == sent


def test_a_ready_without_a_load_time_still_decodes_so_its_version_can_be_refused() -> None:
    class OldReady(msgspec.Struct, frozen=True, tag="Ready"):
        protocol_version: int
        pid: int
        load_count: int
        allocations: int

    received = protocol.from_worker_decoder.decode(protocol.pack(OldReady(2, 1234, 1, 1)))
    assert received == Ready(2, 1234, 1, 1, 0.0) and received.protocol_version != PROTOCOL_VERSION
