"""An allocation thread survives whatever a batch raises: the batch fails with a 500, the next one runs."""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from typing import Any

import msgspec

from inferd.runtime import protocol
from inferd.runtime.protocol import BatchDone, InferBatch, InferRequest, RequestOutcome
from inferd.runtime.worker import Allocations, Outbox


class FlakyRunner:
    """Raises on a batch whose first text is `boom`, as a bug in tokenization or post-processing would."""

    def run(self, requests: Sequence[InferRequest]) -> list[RequestOutcome]:
        if requests[0].texts[0] == "boom":
            raise ValueError("span must not be greater than max_sequence_length")
        return [RequestOutcome(request.request_id, results=[{"ok": True}]) for request in requests]


def sent(stream: io.BytesIO) -> list[Any]:
    data, messages = stream.getvalue(), []
    while data:
        length = protocol.frame_length(data[: protocol.HEADER_BYTES])
        payload = data[protocol.HEADER_BYTES : protocol.HEADER_BYTES + length]
        messages.append(msgspec.msgpack.decode(payload, type=protocol.FromWorker))
        data = data[protocol.HEADER_BYTES + length :]
    return messages


def test_a_batch_that_raises_fails_alone_and_the_allocation_keeps_serving() -> None:
    stream = io.BytesIO()
    allocations = Allocations(FlakyRunner(), Outbox(stream))  # type: ignore[arg-type]
    allocations.resize(1)
    allocations.submit(InferBatch(1, [InferRequest(10, ["boom"], {}), InferRequest(11, ["fine"], {})]))
    allocations.submit(InferBatch(2, [InferRequest(12, ["fine"], {})]))
    deadline = time.monotonic() + 10
    while allocations.batches_done < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    allocations.stop()
    first, second = [message for message in sent(stream) if isinstance(message, BatchDone)]
    assert [outcome.failure for outcome in first.outcomes] == [
        protocol.Failure(500, "status_exception",
                         "Error in inference process: [ValueError: span must not be greater than max_sequence_length]")
    ] * 2
    assert second.outcomes == [RequestOutcome(12, results=[{"ok": True}])]
