"""The inference processor's way to the models: `_infer` through the deployments, chunked results through the
inference endpoints, and, for a corpus being enriched, back-pressure instead of refusals: a full queue is waited
on (up to a deadline), never answered with a failed document."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from inferd.clock import Clock
from inferd.control.inference_endpoints import InferenceEndpoints
from inferd.control.task_inference import Inferring
from inferd.errors import QueueFull, RequestTimeout

INGEST_TIMEOUT = "10s"
"""Elasticsearch's inference processor's timeout (`InferModelAction.Request.DEFAULT_TIMEOUT_FOR_INGEST`)."""
Result = TypeVar("Result")
FULL_QUEUE_BACKOFF_S = (0.005, 0.5)
"""The first and the longest wait before trying a full queue again; each wait doubles."""


class DeploymentInference:
    def __init__(self, deployments: Inferring, endpoints: InferenceEndpoints, clock: Clock, *, timeout_s: float = 10.0,
                 wait_when_full_s: float = 0.0) -> None:
        self._deployments = deployments
        self._endpoints = endpoints
        self._clock = clock
        self._timeout_s = timeout_s
        self._timeout_text = f"{timeout_s:g}s"
        self._wait_when_full_s = wait_when_full_s
        """How long a full queue is waited on (0: a full queue fails the documents, as in Elasticsearch)."""

    async def input_field(self, model_id: str) -> str:
        return (await self._deployments.serving_revision(model_id)).input_field

    def is_endpoint(self, model_id: str) -> bool:
        return self._endpoints.has(model_id)

    async def infer_texts(self, model_id: str, texts: Sequence[str], update: Mapping[str, Any] | None,
                          ) -> list[dict[str, Any]]:
        field = await self.input_field(model_id)
        documents = [{field: text} for text in texts]
        return await self._with_backpressure(lambda: self._deployments.infer(
            model_id, documents, dict(update) if update else None, self._timeout_s, self._timeout_text))

    async def chunked(self, inference_id: str, text: str) -> list[dict[str, Any]]:
        return await self._with_backpressure(lambda: self._endpoints.chunked(
            inference_id, text, self._timeout_s, self._timeout_text))

    async def _with_backpressure(self, call: Callable[[], Awaitable[Result]]) -> Result:
        deadline = self._clock.monotonic() + self._wait_when_full_s
        wait = FULL_QUEUE_BACKOFF_S[0]
        while True:
            try:
                return await call()
            except QueueFull:
                if self._clock.monotonic() + wait > deadline:
                    if self._wait_when_full_s:
                        raise RequestTimeout(f"the deployment's queue stayed full for [{self._wait_when_full_s:g}s]"
                                             ) from None
                    raise
                await asyncio.sleep(wait)
                wait = min(wait * 2, FULL_QUEUE_BACKOFF_S[1])
