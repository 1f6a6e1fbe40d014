"""Elasticsearch's wider ML surface and the embedding APIs other tools speak, against one real server with real
models: `_inference` endpoints, ingest pipelines and `_simulate`, `_cat/ml/trained_models`, `_ml/memory/_stats`,
`_ml/info` (elasticsearch-py 9), OpenAI's `/v1/embeddings` (the `openai` client, and the requests Elasticsearch's
`openai` service sends), TEI's `/embed`, `/rerank`, `/embed_sparse`, `/info` (the requests Elasticsearch's
`hugging_face` service sends), and a restart that keeps endpoints and pipelines serving."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest
from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError

from tests.support.models import TestModel, make_minilm_model, make_test_model, upload_test_model
from tests.support.server import ServerProcess, client_for, http_for

MINILM, EXPANSION, SIMILARITY = "surface-minilm", "surface-expansion", "surface-similarity"
TEXTS = ["the cat sat on the mat", "a dog runs in the park"]


@pytest.fixture(scope="module")
def surface(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("surface") / "data",
                           extra_env={"INFERD_PROCESSORS": "16", "INFERD_ML_MEMORY": "64gb"}).start()
    es = client_for(server.url)
    models: dict[str, TestModel] = {MINILM: make_minilm_model(models_dir),
                                    EXPANSION: make_test_model("text_expansion", models_dir),
                                    SIMILARITY: make_test_model("text_similarity", models_dir)}
    for model_id, model in models.items():
        upload_test_model(es, model_id, model)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def client(surface: ServerProcess) -> Elasticsearch:
    return client_for(surface.url)


def endpoint(task_type: str, model_id: str, **extra: Any) -> dict[str, Any]:
    return {"service": "elasticsearch",
            "service_settings": {"model_id": model_id, "num_allocations": 1, "num_threads": 1}, **extra}


def infer_vector(es: Elasticsearch, deployment: str, text: str) -> list[float]:
    answer = es.ml.infer_trained_model(model_id=deployment, docs=[{"text_field": text}])
    return answer["inference_results"][0]["predicted_value"]  # type: ignore[no-any-return]


def test_inference_endpoints_serve_as_elasticsearch_answers(client: Elasticsearch) -> None:
    created = client.inference.put(task_type="text_embedding", inference_id="minilm-ep",
                                   inference_config=endpoint("text_embedding", MINILM))
    assert created.body == {
        "inference_id": "minilm-ep", "task_type": "text_embedding", "service": "elasticsearch",
        "service_settings": {"num_allocations": 1, "num_threads": 1, "model_id": MINILM},
        "chunking_settings": {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}}
    answer = client.inference.inference(inference_id="minilm-ep", input=TEXTS)
    vectors = [item["embedding"] for item in answer["text_embedding"]]
    assert len(vectors) == 2 and len(vectors[0]) == 384
    assert vectors[0] == infer_vector(client, "minilm-ep", TEXTS[0])  # the deployment named after the endpoint
    assert client.ml.get_trained_models_stats(model_id=MINILM)["trained_model_stats"][0]["deployment_stats"][
        "deployment_id"] == "minilm-ep"

    client.inference.put(task_type="sparse_embedding", inference_id="expansion-ep",
                         inference_config=endpoint("sparse_embedding", EXPANSION))
    sparse = client.inference.inference(task_type="sparse_embedding", inference_id="expansion-ep", input="the cat")
    (result,) = sparse["sparse_embedding"]
    assert result["is_truncated"] is False and result["embedding"]
    assert all(weight > 0 for weight in result["embedding"].values())
    assert list(result["embedding"].values()) == sorted(result["embedding"].values(), reverse=True)

    client.inference.put(task_type="rerank", inference_id="similarity-ep",
                         inference_config=endpoint("rerank", SIMILARITY, task_settings={"return_documents": True}))
    ranked = client.inference.inference(inference_id="similarity-ep", query="the cat", input=TEXTS)["rerank"]
    assert sorted(item["index"] for item in ranked) == [0, 1]
    assert ranked[0]["relevance_score"] >= ranked[1]["relevance_score"]
    assert {item["text"] for item in ranked} == set(TEXTS)
    scores = client.ml.infer_trained_model(model_id="similarity-ep", docs=[{"text_field": text} for text in TEXTS],
                                           inference_config={"text_similarity": {"text": "the cat"}})
    assert sorted(r["predicted_value"] for r in scores["inference_results"]) == sorted(
        item["relevance_score"] for item in ranked)

    listed = client.inference.get()["endpoints"]
    assert [e["inference_id"] for e in listed] == ["expansion-ep", "minilm-ep", "similarity-ep"]
    assert client.inference.get(task_type="rerank", inference_id="similarity-ep")["endpoints"][0][
        "task_settings"] == {"return_documents": True}


def test_attached_endpoints_leave_their_deployment_running(client: Elasticsearch) -> None:
    client.ml.start_trained_model_deployment(model_id=EXPANSION, deployment_id="expansion-own", wait_for="started")
    created = client.inference.put(task_type="sparse_embedding", inference_id="attached-ep", inference_config={
        "service": "elasticsearch", "service_settings": {"deployment_id": "expansion-own", "num_threads": 1}})
    assert created["service_settings"]["deployment_id"] == "expansion-own"
    assert client.inference.delete(inference_id="attached-ep") == {"acknowledged": True, "pipelines": []}
    stats = client.ml.get_trained_models_stats(model_id=EXPANSION)["trained_model_stats"]
    assert "expansion-own" in {entry.get("deployment_stats", {}).get("deployment_id") for entry in stats}
    client.ml.stop_trained_model_deployment(model_id="expansion-own")


def test_inference_endpoint_refusals(client: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as missing:
        client.inference.put(task_type="text_embedding", inference_id="bad-ep", inference_config={
            "service": "elasticsearch", "service_settings": {"model_id": MINILM, "num_allocations": 1}})
    assert missing.value.body["error"]["type"] == "validation_exception"
    assert "[service_settings] does not contain the required setting [num_threads]" in missing.value.body["error"][
        "reason"]
    with pytest.raises(BadRequestError) as mismatch:
        client.inference.put(task_type="rerank", inference_id="bad-ep", inference_config=endpoint("rerank", MINILM))
    assert "text_similarity" in mismatch.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as chunking:
        client.inference.put(task_type="text_embedding", inference_id="bad-ep", inference_config=endpoint(
            "text_embedding", MINILM, chunking_settings={"strategy": "word", "max_chunk_size": 5, "overlap": 1}))
    assert "[chunking_settings] Invalid value [5.0]. [max_chunk_size] must be a greater than or equal to [10.0]" in \
        chunking.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as no_query:
        client.perform_request("POST", "/_inference/rerank/similarity-ep", body={"input": ["x"]},
                               headers={"content-type": "application/json", "accept": "application/json"})
    assert "Field [query] cannot be null for task type [rerank]" in no_query.value.body["error"]["reason"]
    with pytest.raises(NotFoundError):
        client.inference.get(inference_id="no-such-ep")


PIPELINE = {
    "description": "embed the body, tidy the title",
    "processors": [
        {"lowercase": {"field": "title", "ignore_missing": True}},
        {"inference": {"model_id": MINILM, "tag": "embed", "input_output": [
            {"input_field": "body", "output_field": "body_vector"}]}},
        {"set": {"field": "kind", "value": "long", "if": "ctx.length != null && ctx.length > 10"}},
        {"rename": {"field": "old", "target_field": "new", "ignore_missing": True}},
        {"remove": {"field": "scratch", "ignore_missing": True}},
    ],
}


def test_ingest_pipelines_enrich_with_the_inference_processor(client: Elasticsearch) -> None:
    client.ingest.put_pipeline(id="surface-embed", **PIPELINE)
    assert client.ingest.get_pipeline(id="surface-embed")["surface-embed"] == PIPELINE
    docs = [{"_index": "books", "_id": "1", "_source": {"title": "The CAT", "body": TEXTS[0], "length": 30,
                                                         "old": 1, "scratch": True}},
            {"_source": {"title": "Dog", "body": TEXTS[1], "length": 3}}]
    answer = client.ingest.simulate(id="surface-embed", docs=docs)["docs"]
    first, second = (item["doc"]["_source"] for item in answer)
    assert answer[0]["doc"]["_index"] == "books" and answer[0]["doc"]["_id"] == "1"
    assert first["title"] == "the cat" and first["kind"] == "long" and first["new"] == 1 and "scratch" not in first
    assert "kind" not in second
    assert first["body_vector"] == infer_vector(client, "minilm-ep", TEXTS[0])
    assert "timestamp" in answer[0]["doc"]["_ingest"]

    verbose = client.ingest.simulate(id="surface-embed", docs=docs[1:], verbose=True)["docs"][0]["processor_results"]
    assert [(r["processor_type"], r["status"]) for r in verbose] == [
        ("lowercase", "success"), ("inference", "success"), ("set", "skipped"), ("rename", "success"),
        ("remove", "success")]
    assert verbose[1]["tag"] == "embed" and verbose[2]["if"] == {
        "condition": "ctx.length != null && ctx.length > 10", "result": False}

    failing = client.ingest.simulate(pipeline={"processors": [
        {"rename": {"field": "missing", "target_field": "x", "on_failure": [
            {"set": {"field": "why", "value": "{{_ingest.on_failure_message}}"}}]}},
        {"inference": {"model_id": MINILM, "input_output": {"input_field": "nope"}}}]}, docs=docs[:1])["docs"][0]
    assert failing["error"]["type"] == "illegal_argument_exception"
    assert "Input field [nope] does not exist" in failing["error"]["reason"]

    stats = client.ml.get_trained_models_stats(model_id=MINILM)["trained_model_stats"][0]
    assert stats["pipeline_count"] == 1 and list(stats["ingest"]["pipelines"]) == ["surface-embed"]


def test_pipeline_refusals(client: Elasticsearch) -> None:
    with pytest.raises(BadRequestError) as script:
        client.ingest.put_pipeline(id="bad", processors=[{"script": {"source": "ctx.x = 1"}}])
    assert script.value.body["error"]["type"] == "parse_exception"
    assert "inferd runs no scripts" in script.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as condition:
        client.ingest.put_pipeline(id="bad", processors=[{"set": {"field": "a", "value": 1,
                                                                  "if": "ctx.tags.size() > 0"}}])
    assert "[if] condition [ctx.tags.size() > 0] is not supported" in condition.value.body["error"]["reason"]
    with pytest.raises(BadRequestError) as required:
        client.ingest.put_pipeline(id="bad", processors=[{"set": {"value": 1}}])
    assert required.value.body["error"]["reason"] == "[field] required property is missing"
    assert required.value.body["error"]["processor_type"] == "set"
    with pytest.raises(NotFoundError):
        client.ingest.get_pipeline(id="no-such-pipeline")
    with pytest.raises(NotFoundError):
        client.ingest.delete_pipeline(id="no-such-pipeline")


def test_cat_memory_and_info(client: Elasticsearch, surface: ServerProcess) -> None:
    rows = client.cat.ml_trained_models(format="json", h="id,ingest.pipelines,type,heap_size", bytes="b")
    by_id = {row["id"]: row for row in rows.body}
    assert by_id[MINILM]["type"] == "pytorch" and int(by_id[MINILM]["heap_size"]) > 240 * 1024 * 1024
    text = client.cat.ml_trained_models(v=True, s="id:desc", h="id").body
    assert text.split() == ["id", SIMILARITY, MINILM, EXPANSION]

    memory = client.ml.get_memory_stats(human=True)
    (node,) = memory["nodes"].values()
    assert memory["_nodes"] == {"total": 1, "successful": 1, "failed": 0}
    assert node["mem"]["ml"]["max_in_bytes"] == 64 * 1024**3
    assert node["mem"]["ml"]["native_inference_in_bytes"] >= 3 * 240 * 1024**2  # three deployments at least
    assert node["mem"]["ml"]["max"] == "64gb"

    info = client.ml.info()
    assert info["limits"]["total_ml_processors"] == 16 and info["limits"]["max_model_memory_limit"] == "65536mb"
    assert info["upgrade_mode"] is False and info["defaults"]["anomaly_detectors"]["model_memory_limit"] == "1gb"


def test_openai_client_embeddings_equal_infer(client: Elasticsearch, surface: ServerProcess, models_dir: Path) -> None:
    import transformers

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(make_minilm_model(models_dir).hf_dir))
    tokens = sum(len(tokenizer(text)["input_ids"]) for text in TEXTS)
    with openai.OpenAI(base_url=f"{surface.url}/v1", api_key=surface.admin_key, max_retries=0) as ai:
        check_openai_client(ai, client, surface, tokens)


def check_openai_client(ai: openai.OpenAI, client: Elasticsearch, surface: ServerProcess, tokens: int) -> None:
    answer = ai.embeddings.create(model="minilm-ep", input=TEXTS)
    assert [item.index for item in answer.data] == [0, 1]
    assert answer.data[0].embedding == pytest.approx(infer_vector(client, "minilm-ep", TEXTS[0]), abs=1e-7)
    assert answer.usage.prompt_tokens == answer.usage.total_tokens == tokens  # MiniLM's own, [CLS] and [SEP] too
    packed = ai.embeddings.create(model="minilm-ep", input=TEXTS[0], encoding_format="base64")
    decoded = np.frombuffer(base64.b64decode(packed.data[0].embedding), dtype="<f4")  # type: ignore[arg-type]
    assert decoded.tolist() == pytest.approx(answer.data[0].embedding, abs=1e-6)
    assert [model.id for model in ai.models.list()] == ["minilm-ep"]

    with pytest.raises(openai.NotFoundError) as missing:
        ai.embeddings.create(model="no-such-model", input="x")
    assert missing.value.body["code"] == "model_not_found"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError) as tokens:
        ai.embeddings.create(model="minilm-ep", input=[[1, 2, 3]])
    assert tokens.value.body["param"] == "input"  # type: ignore[index]
    with pytest.raises(openai.BadRequestError):
        ai.embeddings.create(model="minilm-ep", input="x", dimensions=128)
    with openai.OpenAI(base_url=f"{surface.url}/v1", api_key="not-a-key", max_retries=0) as stranger, \
            pytest.raises(openai.AuthenticationError) as refused:
        stranger.embeddings.create(model="minilm-ep", input="x")
    assert refused.value.body["code"] == "invalid_api_key"  # type: ignore[index]


def test_the_requests_elasticsearch_services_send(client: Elasticsearch, surface: ServerProcess) -> None:
    """As Elasticsearch's `openai` service (with `url`) and `hugging_face` service send them: Bearer keys."""
    bearer = {"Authorization": f"Bearer {surface.admin_key}", "Content-Type": "application/json"}
    with http_for(surface.url, authenticated=False) as http:
        openai_shaped = http.post("/v1/embeddings", headers=bearer,
                                  json={"input": [TEXTS[1]], "model": "minilm-ep", "user": "es"})
        assert openai_shaped.status_code == 200, openai_shaped.text
        expected = infer_vector(client, "minilm-ep", TEXTS[1])
        assert openai_shaped.json()["data"][0]["embedding"] == expected
        hugging_face = http.post("/embed", headers=bearer, json={"inputs": [TEXTS[1]]})  # the one embedding model
        assert hugging_face.status_code == 200, hugging_face.text
        assert hugging_face.json()[0] == pytest.approx(expected, abs=1e-6)  # MiniLM's vectors are normalised
        reranked = http.post("/rerank", headers=bearer, json={"query": "the cat", "texts": TEXTS, "return_text": True})
        assert reranked.status_code == 200, reranked.text
        assert {item["text"] for item in reranked.json()} == set(TEXTS)
        assert all(0 < item["score"] < 1 for item in reranked.json())
        sparse = http.post("/embed_sparse", headers=bearer, json={"inputs": "the cat"})
        assert sparse.status_code == 200 and all(set(entry) == {"index", "value"} for entry in sparse.json()[0])
        info = http.get("/info", headers=bearer, params={"model": "minilm-ep"}).json()
        assert info["model_id"] == "minilm-ep" and info["max_input_length"] == 512
        ambiguous = http.get("/info", headers=bearer)  # three deployments: which one?
        refused = http.post("/embed", json={"inputs": "x"})
        too_long = http.post("/embed", headers=bearer, params={"model": "minilm-ep"},
                             json={"inputs": "word " * 600, "truncate": False})
        es_route = http.get("/_ml/info", headers=bearer)
    assert ambiguous.status_code == 422 and set(ambiguous.json()) == {"error", "error_type"}
    assert refused.status_code == 401 and set(refused.json()) == {"error", "error_type"}
    assert too_long.status_code == 413 and too_long.json()["error_type"] == "Validation"
    assert es_route.status_code == 401  # Bearer API keys are for the OpenAI and TEI routes only


def test_restart_keeps_endpoints_and_pipelines(client: Elasticsearch, surface: ServerProcess) -> None:
    before = client.inference.inference(inference_id="minilm-ep", input=TEXTS[0])["text_embedding"][0]["embedding"]
    surface.restart()
    again = client_for(surface.url)
    assert [e["inference_id"] for e in again.inference.get()["endpoints"]] == [
        "expansion-ep", "minilm-ep", "similarity-ep"]
    after = again.inference.inference(inference_id="minilm-ep", input=TEXTS[0])["text_embedding"][0]["embedding"]
    assert after == pytest.approx(before, abs=1e-6)  # a new worker: the same model, the float noise of its threads
    assert again.ingest.get_pipeline(id="surface-embed")["surface-embed"] == PIPELINE
    simulated = again.ingest.simulate(id="surface-embed", docs=[{"_source": {"body": TEXTS[0]}}])
    assert simulated["docs"][0]["doc"]["_source"]["body_vector"] == pytest.approx(before, abs=1e-6)


def test_deleting_an_endpoint_a_pipeline_uses(client: Elasticsearch) -> None:
    client.ingest.put_pipeline(id="surface-sparse", processors=[{"inference": {"model_id": "expansion-ep"}}])
    assert client.inference.delete(inference_id="expansion-ep", dry_run=True) == {
        "acknowledged": False, "pipelines": ["surface-sparse"]}
    with pytest.raises(ConflictError) as used:
        client.inference.delete(inference_id="expansion-ep")
    assert "is referenced by pipelines: ['surface-sparse']" in used.value.body["error"]["reason"]
    assert client.inference.delete(inference_id="expansion-ep", force=True)["acknowledged"] is True
    stats = client.ml.get_trained_models_stats(model_id=EXPANSION)["trained_model_stats"]
    assert all("deployment_stats" not in entry for entry in stats)  # the deployment it started is stopped
    client.ingest.delete_pipeline(id="surface-sparse")
