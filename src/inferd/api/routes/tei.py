"""Hugging Face text-embeddings-inference's API, as its clients (and Elasticsearch's `hugging_face` inference
service) call it: `POST /embed`, `/rerank`, `/embed_sparse`, `GET /info`. TEI serves one model; inferd serves the
one named by `?model=` (a deployment id or a model id or alias), or else the only deployment of a model of the
route's task. Credentials as OpenAI's routes; errors are TEI's `{"error", "error_type"}`."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends

from inferd.api.body import JsonBody
from inferd.api.dialects import TeiError
from inferd.api.inference import INFER_ACTION
from inferd.api.privileges import Privilege, require_privilege
from inferd.api.routes.root import ELASTICSEARCH_VERSION
from inferd.api.schemas.embedding_apis import EmbedBody, RerankBody, parse_tei
from inferd.api.state import State
from inferd.control.task_inference import embed, expand, score, task_of
from inferd.errors import InferdError
from inferd.nlp.tasks.text_expansion import sanitized_vocabulary
from inferd.runtime.revision import Revision

router = APIRouter()

INFER = [Depends(require_privilege(Privilege.MONITOR_ML, INFER_ACTION))]
INFO = [Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/xpack/ml/inference/get"))]
TIMEOUT_S = 60.0
EMBEDDING, SPARSE, RERANK = ("text_embedding",), ("text_expansion",), ("text_similarity",)
ANY_TASK = EMBEDDING + SPARSE + RERANK


async def _model(state: State, model: str | None, tasks: tuple[str, ...]) -> tuple[str, Revision]:
    """The deployment the request names, or the only one serving one of `tasks`."""
    if model is None:
        serving = [view.deployment_id for view in state.deployments.views()
                   if state.deployments.get(view.deployment_id).task_type in tasks]
        if len(serving) != 1:
            raise TeiError(f"{len(serving)} deployments serve [{', '.join(tasks)}]: name one with ?model=<deployment "
                           "id>", status=422, error_type="Validation")
        model = serving[0]
    try:
        return model, await task_of(state.deployments, model, tasks)
    except InferdError as error:
        raise TeiError(error.reason, status=424 if error.status >= 500 else 422, error_type="Validation") from None


def _check_lengths(state: State, revision: Revision, texts: list[str], truncate: bool | None) -> None:
    """TEI refuses an input longer than the model unless asked to truncate it."""
    if truncate:
        return
    limit = state.token_counter.max_length(revision)
    for count in state.token_counter.counts(revision, texts):
        if count > limit:
            raise TeiError(f"Input validation error: `inputs` must have less than {limit} tokens. Given: {count}",
                           status=413, error_type="Validation")


def _normalized(vector: list[float]) -> list[float]:
    array = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(array))
    return (array / norm).tolist() if norm else list(vector)


@router.post("/embed", dependencies=INFER)
async def tei_embed(body: JsonBody, state: State, model: str | None = None) -> list[list[float]]:
    request: EmbedBody = parse_tei(EmbedBody, body)
    texts = [request.inputs] if isinstance(request.inputs, str) else request.inputs
    name, revision = await _model(state, model, EMBEDDING)
    _check_lengths(state, revision, texts, request.truncate)
    vectors = await embed(state.deployments, name, texts, TIMEOUT_S, f"{TIMEOUT_S:g}s")
    return [_normalized(vector) for vector in vectors] if request.normalize else vectors


@router.post("/embed_sparse", dependencies=INFER)
async def tei_embed_sparse(body: JsonBody, state: State, model: str | None = None) -> list[list[dict[str, Any]]]:
    """Each text's non-zero weights as `{index: token id, value}`."""
    request: EmbedBody = parse_tei(EmbedBody, body)
    texts = [request.inputs] if isinstance(request.inputs, str) else request.inputs
    name, revision = await _model(state, model, SPARSE)
    _check_lengths(state, revision, texts, request.truncate)
    vocabulary = revision.load.vocabulary
    ids = {token: index for index, token in enumerate(vocabulary)}
    ids.update({token: index for index, token in sanitized_vocabulary(vocabulary).items()})
    expansions = await expand(state.deployments, name, texts, TIMEOUT_S, f"{TIMEOUT_S:g}s")
    return [sorted(({"index": ids[token], "value": weight} for token, weight in expansion.weights.items()),
                   key=lambda entry: entry["index"]) for expansion in expansions]


@router.post("/rerank", dependencies=INFER)
async def tei_rerank(body: JsonBody, state: State, model: str | None = None) -> list[dict[str, Any]]:
    """Each text's score against the query (a probability unless `raw_scores`), best first."""
    request: RerankBody = parse_tei(RerankBody, body)
    name, revision = await _model(state, model, RERANK)
    _check_lengths(state, revision, [request.query + " " + text for text in request.texts], request.truncate)
    scores = await score(state.deployments, name, request.query, request.texts, TIMEOUT_S, f"{TIMEOUT_S:g}s")
    if not request.raw_scores:
        scores = [1.0 / (1.0 + math.exp(-value)) for value in scores]
    ranked = sorted(range(len(scores)), key=lambda index: -scores[index])[:request.top_n]
    return [{"index": index, "score": scores[index], **({"text": request.texts[index]} if request.return_text else {})}
            for index in ranked]


@router.get("/info", dependencies=INFO)
async def tei_info(state: State, model: str | None = None) -> dict[str, Any]:
    name, revision = await _model(state, model, ANY_TASK)
    model_types: dict[str, dict[str, Any]] = {
        "text_embedding": {"embedding": {"pooling": "mean"}},
        "text_expansion": {"embedding": {"pooling": "splade"}},
        "text_similarity": {"reranker": {"id2label": {"0": "LABEL_0"}, "label2id": {"LABEL_0": 0}}},
    }
    model_type = model_types[revision.task_type]
    return {"model_id": name, "model_sha": None, "model_dtype": "float32", "model_type": model_type,
            "max_concurrent_requests": revision.resources.queue_capacity,
            "max_input_length": state.token_counter.max_length(revision),
            "max_batch_tokens": state.settings.max_batch_tokens, "max_batch_requests": None,
            "max_client_batch_size": state.settings.max_infer_documents, "auto_truncate": False,
            "tokenization_workers": 1, "version": ELASTICSEARCH_VERSION["number"], "sha": None,
            "docker_label": None}
