"""`POST /_inferd/ingest/pipeline/{pipeline_id}/_enrich`: NDJSON documents in, the same documents enriched by the
pipeline out, one line for each line, in order, as they are done (inferd's; `inferd enrich` is its client).

The body is read as it arrives and answered as it is processed: at most `concurrency` batches of `batch_size`
documents are in flight, so memory stays bounded whatever the corpus, and the client's next lines wait in the
socket (back-pressure) rather than in the server. A deployment whose queue is full is waited on, not answered
with failed documents. Each answer line is `{"doc": {...}}` or, for a document that failed (or a line that is not
a JSON object), `{"error": {...}}`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from inferd.api.privileges import Privilege, require_privilege
from inferd.api.routes.ingest import SIMULATE_ACTION, failure_body, inference_of
from inferd.api.state import Pipelines, State
from inferd.errors import ParseError

router = APIRouter(prefix="/_inferd/ingest/pipeline")

ENRICH = [Depends(require_privilege(Privilege.READ_PIPELINE, SIMULATE_ACTION))]
MAX_LINE_BYTES = 10 * 1024 * 1024
WAIT_WHEN_FULL_S = 300.0
"""How long a document waits for room in a full deployment queue before it fails."""


async def _lines(request: Request) -> AsyncIterator[bytes]:
    """The body's lines as they arrive. Only each new chunk is searched for line ends, and the unfinished line grows
    in place: a long line costs one pass, not one pass over all of it per chunk."""
    pending = bytearray()
    async for chunk in request.stream():
        *complete, rest = chunk.split(b"\n")
        for line in complete:
            pending += line
            yield bytes(pending)
            pending.clear()
        pending += rest
        if len(pending) > MAX_LINE_BYTES:
            raise ParseError(f"an NDJSON line is longer than [{MAX_LINE_BYTES}] bytes")
    if pending.strip():
        yield bytes(pending)


class DuplexStreamingResponse(StreamingResponse):
    """Answers while the request's body is still being read. Starlette's own streaming response (below ASGI 2.4)
    listens on `receive` for the client leaving, which takes the body's chunks from the reader; here the reader
    alone receives, and sees the client leave (`ClientDisconnect`) where it reads."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.stream_response(send)
        if self.background is not None:
            await self.background()


def _parse(line: bytes) -> dict[str, Any] | Exception:
    try:
        value = json.loads(line)
    except ValueError as error:
        return ParseError(f"the line is not JSON: {error}")
    return value if isinstance(value, dict) else ParseError("the line is not a JSON object")


@router.post("/{pipeline_id}/_enrich", dependencies=ENRICH)
async def enrich_documents(pipeline_id: str, request: Request, pipelines: Pipelines, state: State,
                           batch_size: int = Query(16, ge=1, le=1024),
                           concurrency: int = Query(4, ge=1, le=64)) -> StreamingResponse:
    pipelines.pipeline(pipeline_id)  # 404 before anything is read
    inference = inference_of(state, wait_when_full_s=WAIT_WHEN_FULL_S)

    async def run(batch: list[dict[str, Any] | Exception]) -> bytes:
        sources = [item for item in batch if isinstance(item, dict)]
        outcomes = iter(await pipelines.run(pipeline_id, sources, inference)) if sources else iter(())
        lines = []
        for item in batch:
            if isinstance(item, Exception):
                lines.append({"error": failure_body(item)})
                continue
            outcome = next(outcomes)
            lines.append({"error": failure_body(outcome.failure)} if outcome.failure is not None else
                         {"doc": outcome.document.source})
        return b"".join(msgspec.json.encode(line) + b"\n" for line in lines)

    async def answer() -> AsyncIterator[bytes]:
        in_flight: list[asyncio.Task[bytes]] = []
        batch: list[dict[str, Any] | Exception] = []
        try:
            async for line in _lines(request):
                if not line.strip():
                    continue
                batch.append(_parse(line))
                if len(batch) == batch_size:
                    in_flight.append(asyncio.create_task(run(batch)))
                    batch = []
                    if len(in_flight) >= concurrency:  # back-pressure: read no more until the oldest is out
                        yield await in_flight.pop(0)
            if batch:
                in_flight.append(asyncio.create_task(run(batch)))
            while in_flight:
                yield await in_flight.pop(0)
        finally:
            for task in in_flight:
                task.cancel()

    return DuplexStreamingResponse(answer(), media_type="application/x-ndjson")
