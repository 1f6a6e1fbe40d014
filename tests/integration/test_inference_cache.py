"""The inference cache over the real client and server, as Elasticsearch's YAML tests exercise it.

The echo model is uploaded once for the module; each test deploys it under its own deployment id (its
`model_id`) with the cache size it needs, and stops that deployment when it ends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.support.api import deployment_stats, echo_rows, workers
from tests.support.models import TestModel, upload_test_model

ECHO_ID = f"t-inference-cache-echo-{hashlib.sha1(__name__.encode()).hexdigest()[:8]}"

Deploy = Callable[..., str]


@pytest.fixture(scope="module")
def echo_id(es: Elasticsearch, echo_model: TestModel) -> str:
    upload_test_model(es, ECHO_ID, echo_model)
    return ECHO_ID


@pytest.fixture
def deploy(es: Elasticsearch, echo_id: str, model_id: str) -> Iterator[Deploy]:
    """Start the echo model as deployment `model_id` (with the given `_start` parameters), stopped afterwards."""

    def start(**parameters: Any) -> str:
        es.ml.start_trained_model_deployment(model_id=echo_id, deployment_id=model_id, wait_for="started",
                                             **parameters)
        return model_id

    yield start
    es.ml.stop_trained_model_deployment(model_id=model_id, allow_no_match=True)


def infer(es: Elasticsearch, deployment_id: str, *texts: str, **options: Any) -> list[dict[str, Any]]:
    response = es.ml.infer_trained_model(model_id=deployment_id, docs=[{"text_field": t} for t in texts], **options)
    return list(response["inference_results"])


def node_stats(es: Elasticsearch, echo_id: str, deployment_id: str) -> dict[str, Any]:
    stats = deployment_stats(es, echo_id, deployment_id)
    assert stats is not None
    (node,) = stats["nodes"]
    return dict(node)


def counts(es: Elasticsearch, echo_id: str, deployment_id: str) -> tuple[int, int]:
    node = node_stats(es, echo_id, deployment_id)
    return node["inference_count"], node["inference_cache_hit_count"]


def test_hits_count_as_inferences_and_clear_empties_the_cache(
    es: Elasticsearch, http: httpx.Client, echo_id: str, deploy: Deploy
) -> None:
    # Elasticsearch's YAML "Test start and stop deployment with cache" and "Test clear deployment cache".
    deployment_id = deploy(cache_size="10kb")
    for text in ("words", "are", "words"):
        infer(es, deployment_id, text)
    assert counts(es, echo_id, deployment_id) == (3, 1)
    node = node_stats(es, echo_id, deployment_id)
    assert node["inference_cache_hit_count_last_minute"] == 1
    assert node["average_inference_time_ms_excluding_cache_hits"] > 0
    (worker,) = workers(http, deployment_id)
    assert (worker["cache_hits"], worker["cache_misses"]) == (1, 2)
    assert 0 < worker["cache_bytes"] <= 10 * 1024

    assert es.ml.clear_trained_model_deployment_cache(model_id=deployment_id).body == {"cleared": True}
    (worker,) = workers(http, deployment_id)
    assert worker["cache_bytes"] == 0
    infer(es, deployment_id, "words")
    assert counts(es, echo_id, deployment_id) == (4, 1)


def test_cache_size_zero_disables_the_cache(es: Elasticsearch, http: httpx.Client, echo_id: str, deploy: Deploy) -> None:
    deployment_id = deploy(cache_size="0")
    for _ in range(3):
        infer(es, deployment_id, "words")
    assert counts(es, echo_id, deployment_id) == (3, 0)
    (worker,) = workers(http, deployment_id)
    assert (worker["cache_bytes"], worker["cache_hits"], worker["cache_misses"]) == (0, 0, 0)


def test_a_different_inference_config_update_is_a_miss(es: Elasticsearch, echo_id: str, deploy: Deploy) -> None:
    deployment_id = deploy(cache_size="10kb")
    renamed = {"pass_through": {"results_field": "vector"}}
    (plain,) = infer(es, deployment_id, "words")
    (first,) = infer(es, deployment_id, "words", inference_config=renamed)
    assert first == {"vector": plain["predicted_value"]}  # not the cached result under the stored options
    assert counts(es, echo_id, deployment_id) == (2, 0)
    (again,) = infer(es, deployment_id, "words", inference_config=renamed)
    assert again == first
    assert counts(es, echo_id, deployment_id) == (3, 1)


def test_a_hit_answers_exactly_what_was_computed(es: Elasticsearch, echo_id: str, deploy: Deploy) -> None:
    deployment_id = deploy()  # the default cache: as large as the model
    computed = infer(es, deployment_id, "hello world", "words are")
    mixed = infer(es, deployment_id, "words are", "a new one", "hello world")
    assert computed == [{"predicted_value": echo_rows(text)} for text in ("hello world", "words are")]
    assert mixed == [computed[1], {"predicted_value": echo_rows("a new one")}, computed[0]]
    assert counts(es, echo_id, deployment_id) == (5, 2)
    only_hits = infer(es, deployment_id, "hello world", "words are")
    assert only_hits == computed
    assert counts(es, echo_id, deployment_id) == (7, 4)
