"""The messages between the server and a worker process: typed, msgpack-encoded, length-framed.

Each message is a frozen `msgspec.Struct` tagged with its class name, so both sides decode into exactly
one of the union types below and dispatch with `match`. No pickle crosses the pipe, no method names as
strings, and no tensors: documents go in as text with their task options, results come back as plain
lists and dicts. The worker answers `Ready` with `PROTOCOL_VERSION`, and the server refuses a mismatch.
The same frames travel over a local worker's pipes and over a remote worker's TCP connection.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, BinaryIO

import msgspec

PROTOCOL_VERSION = 5
MAX_FRAME_BYTES = 512 * 1024 * 1024
_LENGTH = struct.Struct(">I")


# --- server -> worker ------------------------------------------------------------------------------


class LoadModel(msgspec.Struct, frozen=True, tag=True):
    """The first message: what to load and how to run it."""

    definition_path: str
    task_type: str
    tokenization: dict[str, Any]
    vocabulary: list[str]
    merges: list[str] | None
    scores: list[float] | None
    threads_per_allocation: int
    allocations: int
    max_batch_rows: int
    max_batch_tokens: int
    """The most padded tokens in one forward pass: bounds each allocation's activation memory."""
    cache_size_bytes: int
    """The bound of the worker's inference cache (`cache_size`); 0 disables it."""
    low_priority: bool = False
    max_document_windows: int | None = None
    """The most windows spanning may cut one document into; beyond, the request is refused (400)."""
    definition_sha256: str | None = None
    """The definition's SHA-256: a worker on another machine finds the file by it (the path is the server's)."""
    device: str = "cpu"
    """Where the model runs: `cpu`, or the CUDA device the planner chose on the worker's node (`cuda:N`)."""
    precision: str = "float32"
    """What forward passes compute in (`runtime/device.py`'s `Precision`): float32, or autocast to a half."""


def model_fingerprint(message: LoadModel) -> str:
    """What a worker told `message` loads and how it runs it, as a SHA-256: the definition (by its digest),
    tokenizer, task and worker resources, not its allocations (a running worker resizes) nor the server's path to
    the definition. Two messages with one fingerprint may be served by the same worker: how a worker that outlived
    its server is matched to what the next server wants."""
    unplaced = msgspec.structs.replace(message, allocations=0, definition_path="")
    return hashlib.sha256(msgspec.msgpack.encode(unplaced)).hexdigest()


class InferRequest(msgspec.Struct, frozen=True):
    """One client request inside a batch: its documents and its task options (stored config plus update)."""

    request_id: int
    texts: list[str]
    task_options: dict[str, Any]


class InferBatch(msgspec.Struct, frozen=True, tag=True):
    batch_id: int
    requests: list[InferRequest]


class SetAllocations(msgspec.Struct, frozen=True, tag=True):
    count: int


class GetStats(msgspec.Struct, frozen=True, tag=True):
    pass


class ClearCache(msgspec.Struct, frozen=True, tag=True):
    pass


class Shutdown(msgspec.Struct, frozen=True, tag=True):
    pass


ToWorker = LoadModel | InferBatch | SetAllocations | GetStats | ClearCache | Shutdown


# --- worker -> server ------------------------------------------------------------------------------


class Ready(msgspec.Struct, frozen=True, tag=True):
    protocol_version: int
    pid: int
    load_count: int
    allocations: int
    load_ms: float = 0.0
    """The worker's own time to load the model: the TorchScript definition, the tokenizer and the runner (not
    the process start or its imports). Last, with a default, so that an older worker's `Ready` still decodes
    and is refused for its `protocol_version`."""


class LoadFailed(msgspec.Struct, frozen=True, tag=True):
    reason: str


class Failure(msgspec.Struct, frozen=True):
    """Why one request failed, as the Elasticsearch error it is answered with."""

    status: int
    error_type: str
    reason: str


class RequestOutcome(msgspec.Struct, frozen=True):
    request_id: int
    results: list[dict[str, Any]] | None = None
    failure: Failure | None = None
    cache_hits: int = 0
    """How many of the request's documents were answered from the inference cache."""


class BatchDone(msgspec.Struct, frozen=True, tag=True):
    batch_id: int
    outcomes: list[RequestOutcome]
    time_ms: float
    """Wall time the allocation spent on the whole batch: tokenizing, forward passes, post-processing."""


class AllocationsSet(msgspec.Struct, frozen=True, tag=True):
    count: int


class CacheCleared(msgspec.Struct, frozen=True, tag=True):
    pass


class WorkerStats(msgspec.Struct, frozen=True, tag=True):
    pid: int
    load_count: int
    allocations: int
    threads_per_allocation: int
    batches: int
    memory_max_rss_bytes: int
    cache_bytes: int
    cache_hits: int
    cache_misses: int


FromWorker = Ready | LoadFailed | BatchDone | AllocationsSet | CacheCleared | WorkerStats


# --- framing ---------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """numpy scalars and arrays that task processors may leave in results become plain values."""
    tolist = getattr(value, "tolist", None)
    if tolist is not None:
        return tolist()
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


_encoder = msgspec.msgpack.Encoder(enc_hook=_plain)
to_worker_decoder = msgspec.msgpack.Decoder(ToWorker)
from_worker_decoder = msgspec.msgpack.Decoder(FromWorker)


def pack(value: Any) -> bytes:
    """msgpack of any value a message may carry (results with numpy values included), as it would travel."""
    return _encoder.encode(value)


def frame(message: msgspec.Struct) -> bytes:
    """A message as it goes on the pipe: a 4-byte big-endian length, then msgpack."""
    payload = pack(message)
    return _LENGTH.pack(len(payload)) + payload


def frame_length(header: bytes, limit: int = MAX_FRAME_BYTES) -> int:
    length = int(_LENGTH.unpack(header)[0])
    if length > limit:
        raise ValueError(f"frame of {length} bytes exceeds the limit of {limit}")
    return length


HEADER_BYTES = _LENGTH.size


def read_frame(stream: BinaryIO) -> bytes | None:
    """The next payload from a blocking stream, or None at end of stream (a frame cut short included)."""
    header = stream.read(HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        return None
    length = frame_length(header)
    payload = stream.read(length)
    return payload if len(payload) == length else None

