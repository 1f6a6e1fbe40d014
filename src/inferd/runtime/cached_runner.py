"""Answering documents from the worker's inference cache, and running only the others through the model.

A cached result is the finished result dict, so its key must hold everything that result depends on: the
document's text and the request's effective task options (stored config plus the request's update). The
model and the tokenizer are the worker's own, so the document's token ids follow from these two; the text
(not the token ids alone) is needed because processors read it (entity spans, fill_mask's sequence,
answers), and keying on it lets a hit skip tokenizing too. Results are stored msgpack-encoded: their size is exact and
is what the cache's byte bound counts. A request whose documents all hit needs no forward pass.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from inferd.runtime.cache import LfuCache
from inferd.runtime.protocol import InferRequest, RequestOutcome, pack

_options_encoder = msgspec.msgpack.Encoder(order="sorted")  # equal options, equal bytes


class Runner(Protocol):
    def run(self, requests: Sequence[InferRequest]) -> list[RequestOutcome]: ...


def document_keys(request: InferRequest) -> list[bytes]:
    """One key per document: a digest of the task options' canonical msgpack followed by the text."""
    options = hashlib.blake2b(_options_encoder.encode(request.task_options), digest_size=32)
    keys = []
    for text in request.texts:
        digest = options.copy()  # the options' msgpack is self-delimiting: no text can shift the boundary
        digest.update(text.encode())
        keys.append(digest.digest())
    return keys


@dataclass
class _Lookup:
    request: InferRequest
    keys: list[bytes]
    found: list[dict[str, Any] | None]

    @property
    def hits(self) -> int:
        return sum(result is not None for result in self.found)

    def to_run(self) -> InferRequest | None:
        """The request cut down to the documents the cache did not answer; None when it answered them all."""
        texts = [text for text, result in zip(self.request.texts, self.found, strict=True) if result is None]
        return InferRequest(self.request.request_id, texts, self.request.task_options) if texts else None


class CachedRunner:
    """A runner that consults `cache` first; safe from several allocation threads, as the cache and runner are."""

    def __init__(self, runner: Runner, cache: LfuCache) -> None:
        self._runner = runner
        self.cache = cache

    def run(self, requests: Sequence[InferRequest]) -> list[RequestOutcome]:
        if not self.cache.enabled:
            return self._runner.run(requests)
        lookups = [self._look_up(request) for request in requests]
        remainder = [request for lookup in lookups if (request := lookup.to_run()) is not None]
        computed = {outcome.request_id: outcome for outcome in self._runner.run(remainder)} if remainder else {}
        return [self._answer(lookup, computed.get(lookup.request.request_id)) for lookup in lookups]

    def _look_up(self, request: InferRequest) -> _Lookup:
        keys = document_keys(request)
        found = [None if (value := self.cache.get(key)) is None else msgspec.msgpack.decode(value) for key in keys]
        return _Lookup(request, keys, found)

    def _answer(self, lookup: _Lookup, outcome: RequestOutcome | None) -> RequestOutcome:
        """The request's results in document order, cached and computed merged; computed ones are stored."""
        if outcome is not None and outcome.failure is not None:
            return outcome
        computed = iter([] if outcome is None else outcome.results or [])
        results = []
        for key, cached in zip(lookup.keys, lookup.found, strict=True):
            if cached is None:
                cached = next(computed)
                self.cache.put(key, pack(cached))
            results.append(cached)
        return RequestOutcome(lookup.request.request_id, results=results, cache_hits=lookup.hits)
