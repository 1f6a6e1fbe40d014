"""OpenAI's embeddings API, as OpenAI's clients (and Elasticsearch's `openai` inference service with a `url`) call
it: `POST /v1/embeddings`, `GET /v1/models[/{model}]`. `model` is a deployment id or a model id or alias (as
`_infer` resolves them) of a text_embedding model; credentials are `Authorization: Bearer <encoded API key>` (or
`ApiKey`), with `_infer`'s privilege. Errors are OpenAI's `{"error": {message, type, param, code}}`."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends

from inferd.api.body import JsonBody
from inferd.api.dialects import OpenAIError
from inferd.api.inference import INFER_ACTION
from inferd.api.privileges import Privilege, require_privilege
from inferd.api.schemas.embedding_apis import parse_embeddings
from inferd.api.state import State
from inferd.control.task_inference import embed, task_of
from inferd.errors import InferdError, ResourceNotFound, StatusConflict

router = APIRouter(prefix="/v1")

INFER = [Depends(require_privilege(Privilege.MONITOR_ML, INFER_ACTION))]
LIST = [Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/xpack/ml/inference/get"))]
TIMEOUT_S = 60.0


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return vector


async def _revision(state: State, model: str) -> Any:
    try:
        return await task_of(state.deployments, model, ("text_embedding",))
    except (ResourceNotFound, StatusConflict) as error:
        raise OpenAIError(f"The model `{model}` does not exist or you do not have access to it. ({error.reason})",
                          status=404, param="model", code="model_not_found") from None
    except InferdError as error:
        raise OpenAIError(error.reason, param="model") from None


@router.post("/embeddings", dependencies=INFER)
async def create_embeddings(body: JsonBody, state: State) -> dict[str, Any]:
    request = parse_embeddings(body)
    texts = [request.input] if isinstance(request.input, str) else request.input
    revision = await _revision(state, request.model)
    tokens = state.token_counter.counts(revision, texts)
    vectors = await embed(state.deployments, request.model, texts, TIMEOUT_S, f"{TIMEOUT_S:g}s")
    if request.dimensions is not None and vectors and request.dimensions != len(vectors[0]):
        raise OpenAIError(f"This model does not support specifying dimensions: its embeddings have "
                          f"[{len(vectors[0])}] dimensions.", param="dimensions")
    return {
        "object": "list",
        "data": [{"object": "embedding", "index": index, "embedding": _encoded(vector, request.encoding_format)}
                 for index, vector in enumerate(vectors)],
        "model": request.model,
        "usage": {"prompt_tokens": sum(tokens), "total_tokens": sum(tokens)},
    }


def _model_entry(deployment_id: str, created_ms: int) -> dict[str, Any]:
    return {"id": deployment_id, "object": "model", "created": created_ms // 1000, "owned_by": "inferd"}


@router.get("/models", dependencies=LIST)
async def list_models(state: State) -> dict[str, Any]:
    """The deployments of text_embedding models: what `model` may name."""
    views = [view for view in state.deployments.views()
             if state.deployments.get(view.deployment_id).task_type == "text_embedding"]
    return {"object": "list", "data": [_model_entry(view.deployment_id, view.start_time_ms) for view in views]}


@router.get("/models/{model}", dependencies=LIST)
async def retrieve_model(model: str, state: State) -> dict[str, Any]:
    await _revision(state, model)
    created_ms = state.deployments.view(model).start_time_ms if state.deployments.has(model) else 0
    return _model_entry(model, created_ms)
