"""The worker's inference cache in front of the model: what hits, what runs, what is stored."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from inferd.runtime.cache import LfuCache
from inferd.runtime.cached_runner import CachedRunner, document_keys
from inferd.runtime.protocol import Failure, InferRequest, RequestOutcome

OPTIONS: dict[str, Any] = {"results_field": "predicted_value", "tokenization": {"bert": {"truncate": "first"}}}


class CountingRunner:
    """Answers each text with its length (as numpy, as task processors may), and records what it was asked."""

    def __init__(self, failing: str | None = None) -> None:
        self.calls: list[list[InferRequest]] = []
        self._failing = failing

    def run(self, requests: Sequence[InferRequest]) -> list[RequestOutcome]:
        self.calls.append(list(requests))
        return [
            RequestOutcome(r.request_id, failure=Failure(400, "status_exception", "refused"))
            if self._failing in r.texts else
            RequestOutcome(r.request_id, results=[{"length": np.int64(len(text)), "text": text} for text in r.texts])
            for r in requests
        ]


def request(request_id: int, *texts: str, options: dict[str, Any] = OPTIONS) -> InferRequest:
    return InferRequest(request_id, list(texts), options)


def test_a_repeated_document_is_answered_from_the_cache_without_running() -> None:
    model = CountingRunner()
    runner = CachedRunner(model, LfuCache(10_240))
    (first,) = runner.run([request(1, "words")])
    runner.run([request(2, "are")])
    (third,) = runner.run([request(3, "words")])
    assert len(model.calls) == 2
    assert (first.cache_hits, third.cache_hits) == (0, 1)
    assert third.results == [{"length": 5, "text": "words"}] == first.results
    assert (runner.cache.hits, runner.cache.misses) == (1, 2)


def test_only_the_documents_that_miss_are_run_and_results_keep_document_order() -> None:
    model = CountingRunner()
    runner = CachedRunner(model, LfuCache(10_240))
    runner.run([request(1, "b")])
    outcomes = runner.run([request(2, "a", "b", "c"), request(3, "b")])
    assert [[r.texts for r in call] for call in model.calls] == [[["b"]], [["a", "c"]]]  # request 3 ran nothing
    assert [[result["text"] for result in outcome.results or []] for outcome in outcomes] == [["a", "b", "c"], ["b"]]
    assert [outcome.cache_hits for outcome in outcomes] == [1, 1]


def test_different_options_or_text_make_different_keys_and_equal_options_the_same() -> None:
    reordered = {"tokenization": {"bert": {"truncate": "first"}}, "results_field": "predicted_value"}
    (base,) = document_keys(request(1, "words"))
    assert document_keys(request(2, "words", options=reordered)) == [base]
    assert document_keys(request(3, "words", options={**OPTIONS, "results_field": "other"})) != [base]
    assert document_keys(request(4, "Words")) != [base]


def test_a_failed_request_is_answered_with_its_failure_and_nothing_is_stored() -> None:
    runner = CachedRunner(CountingRunner(failing="bad"), LfuCache(10_240))
    runner.run([request(1, "fine")])
    (outcome,) = runner.run([request(2, "fine", "bad")])
    assert outcome.failure is not None and outcome.results is None
    assert len(runner.cache) == 1


def test_a_disabled_cache_passes_every_request_through() -> None:
    model = CountingRunner()
    runner = CachedRunner(model, LfuCache(0))
    for request_id in (1, 2):
        (outcome,) = runner.run([request(request_id, "words")])
        assert outcome.cache_hits == 0
    assert len(model.calls) == 2 and (runner.cache.hits, runner.cache.misses) == (0, 0)


def test_results_too_large_for_the_bound_are_computed_every_time() -> None:
    model = CountingRunner()
    runner = CachedRunner(model, LfuCache(40))  # a 32-byte key leaves too little for a result
    runner.run([request(1, "a rather long document")])
    (outcome,) = runner.run([request(2, "a rather long document")])
    assert outcome.cache_hits == 0 and len(model.calls) == 2
