"""Inference by task, for the APIs that speak in texts rather than `_infer`'s documents: `_inference` endpoints, the
ingest `inference` processor's callers, OpenAI's and TEI's embeddings.

Each call is one `_infer` through `DeploymentManager.infer` (so batching, routing, retries, scale from zero and the
deployment's counters are the same), its documents built with the model's own input field, its results read back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from inferd.errors import BadRequest
from inferd.runtime.revision import Revision

RESULTS_FIELD = "predicted_value"


class Inferring(Protocol):
    """What these calls need of the deployments (`DeploymentManager`)."""

    async def infer(self, model_or_deployment_id: str, documents: Sequence[dict[str, Any]],
                    update: dict[str, Any] | None, timeout_s: float, timeout_text: str) -> list[dict[str, Any]]: ...

    async def serving_revision(self, model_or_deployment_id: str) -> Revision: ...


@dataclass(frozen=True)
class Expansion:
    weights: dict[str, float]
    truncated: bool


class TaskMismatch(BadRequest):
    """The model serves another task than the API asks of it."""


async def task_of(deployments: Inferring, identifier: str, expected: Sequence[str]) -> Revision:
    """The revision serving `identifier`, refused (400) unless its task is one of `expected`."""
    revision = await deployments.serving_revision(identifier)
    if revision.task_type not in expected:
        raise TaskMismatch(f"Trained model [{identifier}] is configured for task [{revision.task_type}] but this API "
                           f"needs [{', '.join(expected)}]")
    return revision


async def _run(deployments: Inferring, identifier: str, texts: Sequence[str], update: dict[str, Any] | None,
               timeout_s: float, timeout_text: str) -> list[dict[str, Any]]:
    revision = await deployments.serving_revision(identifier)
    documents = [{revision.input_field: text} for text in texts]
    return await deployments.infer(identifier, documents, update, timeout_s, timeout_text)


async def embed(deployments: Inferring, identifier: str, texts: Sequence[str], timeout_s: float,
                timeout_text: str) -> list[list[float]]:
    """One dense vector per text (a text_embedding model)."""
    results = await _run(deployments, identifier, texts, None, timeout_s, timeout_text)
    return [list(result[RESULTS_FIELD]) for result in results]


async def expand(deployments: Inferring, identifier: str, texts: Sequence[str], timeout_s: float,
                 timeout_text: str) -> list[Expansion]:
    """One sparse vector (token -> weight) per text (a text_expansion model)."""
    results = await _run(deployments, identifier, texts, None, timeout_s, timeout_text)
    return [Expansion(dict(result[RESULTS_FIELD]), bool(result.get("is_truncated", False))) for result in results]


async def score(deployments: Inferring, identifier: str, query: str, texts: Sequence[str], timeout_s: float,
                timeout_text: str) -> list[float]:
    """One relevance score of each text against `query` (a text_similarity model)."""
    results = await _run(deployments, identifier, texts, {"text_similarity": {"text": query}}, timeout_s, timeout_text)
    return [float(result[RESULTS_FIELD]) for result in results]
