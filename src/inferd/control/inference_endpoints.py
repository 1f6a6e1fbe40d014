"""Elasticsearch's inference endpoints (`_inference`) of the `elasticsearch` service, served by deployments.

An endpoint is a name, a task type and the deployment that serves it: one it started (`deployment_id =
inference_id`, from `service_settings.model_id`, stopped when the endpoint is deleted) or one that runs already
(`service_settings.deployment_id`, left running). Endpoints are stored, so a restarted server serves them again
(their deployments are restored as every deployment is). Long inputs are cut by the endpoint's
`chunking_settings` where Elasticsearch gives one result per chunk (`semantic_text`; here the ingest `inference`
processor naming an endpoint), and `POST _inference` answers one result per input, as Elasticsearch does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from inferd.clock import Clock
from inferd.control.deployment_request import UpdateRequest as DeploymentUpdate
from inferd.control.deployment_request import parse_adaptive, parse_start_request
from inferd.control.deployments import DeploymentManager
from inferd.control.history import SYSTEM_ACTOR
from inferd.control.ids import id_problems
from inferd.control.inference_endpoint_request import (
    EndpointRequest,
    EndpointTaskType,
    Service,
    ServiceSettings,
    TaskSettings,
    parse_chunking_settings,
    parse_infer_request,
    parse_put_request,
    parse_update_request,
)
from inferd.control.registry import ModelRegistry
from inferd.control.task_inference import embed, expand, score
from inferd.errors import BadRequest, ResourceAlreadyExists, ResourceNotFound, StatusConflict, ValidationFailed
from inferd.nlp.chunkers import ChunkingSettings, chunk_text
from inferd.store import EndpointRecord, EndpointStore
from inferd.units import parse_time_value

DEFAULT_TIMEOUT = "30s"


@dataclass(frozen=True)
class InferenceEndpoint:
    inference_id: str
    task_type: EndpointTaskType
    service: Service
    service_settings: ServiceSettings
    task_settings: TaskSettings
    chunking: ChunkingSettings | None
    deployment_id: str
    started_deployment: bool
    create_time_ms: int

    def record(self) -> EndpointRecord:
        settings = self.service_settings
        service_settings: dict[str, Any] = {"model_id": settings.model_id, "num_threads": settings.num_threads,
                                            "num_allocations": settings.num_allocations}
        if settings.deployment_id is not None:
            service_settings["deployment_id"] = settings.deployment_id
        if settings.adaptive_allocations is not None:
            service_settings["adaptive_allocations"] = settings.adaptive_allocations.render()
        config = {"service_settings": service_settings, "task_settings": self.task_settings.render(),
                  "chunking_settings": None if self.chunking is None else self.chunking.as_dict()}
        return EndpointRecord(self.inference_id, str(self.task_type), str(self.service), config, self.deployment_id,
                              self.started_deployment, self.create_time_ms)

    @classmethod
    def from_record(cls, record: EndpointRecord) -> InferenceEndpoint:
        stored = dict(record.config["service_settings"])
        adaptive = stored.pop("adaptive_allocations", None)
        settings = ServiceSettings(stored.get("model_id"), stored.get("deployment_id"), stored.get("num_allocations"),
                                   stored.get("num_threads"), None)
        if adaptive is not None:
            settings = replace(settings, adaptive_allocations=parse_adaptive(adaptive, "service_settings"))
        task = record.config.get("task_settings") or {}
        return cls(record.inference_id, EndpointTaskType(record.task_type), Service(record.service), settings,
                   TaskSettings(task.get("return_documents"), task.get("top_n")),
                   parse_chunking_settings(record.config.get("chunking_settings")), record.deployment_id,
                   record.started_deployment, record.create_time_ms)


def _timeout(text: str | None) -> tuple[float, str]:
    text = text or DEFAULT_TIMEOUT
    try:
        return parse_time_value(text, "timeout"), text
    except ValueError as error:
        raise BadRequest(str(error)) from None


def _not_found(inference_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"Inference endpoint not found [{inference_id}]")


class InferenceEndpoints:
    def __init__(self, store: EndpointStore, deployments: DeploymentManager, registry: ModelRegistry,
                 clock: Clock) -> None:
        self._store = store
        self._deployments = deployments
        self._registry = registry
        self._clock = clock
        self._endpoints: dict[str, InferenceEndpoint] = {}
        self._lock = asyncio.Lock()
        """Serialises changes to endpoints (inference never takes it)."""

    async def load(self) -> None:
        """Read the stored endpoints (at start-up; their deployments are restored by the deployment manager)."""
        records = await asyncio.to_thread(self._store.list)
        self._endpoints = {record.inference_id: InferenceEndpoint.from_record(record) for record in records}

    # --- reading -------------------------------------------------------------------------------

    def find(self, task_type: EndpointTaskType | None, inference_id: str | None) -> list[InferenceEndpoint]:
        """`GET _inference[/{task_type}][/{id}]`: one endpoint (404 if unknown), or all (of the task type)."""
        if inference_id is not None and inference_id not in ("_all", "*"):
            return [self.get(task_type, inference_id)]
        return [endpoint for _, endpoint in sorted(self._endpoints.items())
                if task_type is None or endpoint.task_type is task_type]

    def get(self, task_type: EndpointTaskType | None, inference_id: str) -> InferenceEndpoint:
        endpoint = self._endpoints.get(inference_id)
        if endpoint is None:
            raise _not_found(inference_id)
        if task_type is not None and task_type is not endpoint.task_type:
            raise BadRequest(f"Requested task type [{task_type}] does not match the inference endpoint's task type "
                             f"[{endpoint.task_type}]")
        return endpoint

    def has(self, inference_id: str) -> bool:
        return inference_id in self._endpoints

    def render(self, endpoint: InferenceEndpoint) -> dict[str, Any]:
        """Elasticsearch's `ModelConfigurations`: the allocations read from the deployment while it runs."""
        settings = endpoint.service_settings
        allocations = settings.num_allocations
        threads = settings.num_threads
        model_id = settings.model_id
        if self._deployments.has(endpoint.deployment_id):
            view = self._deployments.view(endpoint.deployment_id)
            allocations, threads = view.settings.number_of_allocations, view.settings.threads_per_allocation
            model_id = view.model_id
        service_settings: dict[str, Any] = {}
        if allocations is not None:
            service_settings["num_allocations"] = allocations
        service_settings |= {"num_threads": threads, "model_id": model_id}
        if settings.adaptive_allocations is not None:
            service_settings["adaptive_allocations"] = settings.adaptive_allocations.render()
        if not endpoint.started_deployment:
            service_settings["deployment_id"] = endpoint.deployment_id
        rendered: dict[str, Any] = {"inference_id": endpoint.inference_id, "task_type": str(endpoint.task_type),
                                    "service": str(endpoint.service), "service_settings": service_settings}
        if endpoint.task_type is EndpointTaskType.RERANK:
            rendered["task_settings"] = {"return_documents": True, **endpoint.task_settings.render()}
        if endpoint.chunking is not None:
            rendered["chunking_settings"] = endpoint.chunking.as_dict()
        return rendered

    # --- changes -------------------------------------------------------------------------------

    async def put(self, task_type: EndpointTaskType, inference_id: str, body: Any, timeout: str | None,
                  actor: str = SYSTEM_ACTOR) -> InferenceEndpoint:
        request = parse_put_request(task_type, body)
        _, timeout_text = _timeout(timeout)
        async with self._lock:
            problems = id_problems("inference_id", inference_id)
            if problems:
                raise ValidationFailed(problems)
            if inference_id in self._endpoints:
                raise ResourceAlreadyExists(f"Inference endpoint [{inference_id}] already exists")
            if await asyncio.to_thread(self._registry.has_model, inference_id):
                raise BadRequest(f"Inference endpoint IDs must be unique. Requested inference endpoint ID "
                                 f"[{inference_id}] matches existing trained model ID(s) but must not.")
            endpoint = await self._serve(task_type, inference_id, request, timeout_text, actor)
            try:
                await asyncio.to_thread(self._store.save, endpoint.record())
            except BaseException:
                if endpoint.started_deployment:
                    await self._deployments.stop(endpoint.deployment_id, allow_no_match=True, actor=actor)
                raise
            self._endpoints[inference_id] = endpoint
            return endpoint

    async def _serve(self, task_type: EndpointTaskType, inference_id: str, request: EndpointRequest,
                     timeout_text: str, actor: str) -> InferenceEndpoint:
        """Attach to the deployment the settings name, or start one named after the endpoint."""
        settings = request.service_settings
        chunking = request.chunking
        if chunking is None and task_type is not EndpointTaskType.RERANK:
            chunking = parse_chunking_settings({})
        now_ms = self._clock.now_ms()
        if settings.deployment_id is not None:
            if not self._deployments.has(settings.deployment_id):
                raise ResourceNotFound(f"No known model deployment with id [{settings.deployment_id}]")
            view = self._deployments.view(settings.deployment_id)
            self._check_task(task_type, view.model_id, self._deployments.get(settings.deployment_id).task_type)
            attached = replace(settings, model_id=view.model_id,
                               num_allocations=view.settings.number_of_allocations,
                               num_threads=view.settings.threads_per_allocation)
            return InferenceEndpoint(inference_id, task_type, request.service, attached, request.task_settings,
                                     chunking, settings.deployment_id, False, now_ms)
        assert settings.model_id is not None
        model = (await asyncio.to_thread(self._registry.find_models, settings.model_id, allow_no_match=False))[0]
        (model_task, _), = model.build.config["inference_config"].items()
        self._check_task(task_type, settings.model_id, model_task)
        query = {"deployment_id": inference_id, "threads_per_allocation": str(settings.num_threads),
                 "wait_for": "started", "timeout": timeout_text}
        if settings.num_allocations is not None:
            query["number_of_allocations"] = str(settings.num_allocations)
        body = None
        if settings.adaptive_allocations is not None:
            body = {"adaptive_allocations": settings.adaptive_allocations.stored()}
        await self._deployments.start(parse_start_request(settings.model_id, query, body), actor)
        return InferenceEndpoint(inference_id, task_type, request.service, settings, request.task_settings, chunking,
                                 inference_id, True, now_ms)

    @staticmethod
    def _check_task(task_type: EndpointTaskType, model_id: str, model_task: str) -> None:
        if model_task != task_type.model_task:
            raise BadRequest(f"Trained model [{model_id}] is configured for task [{model_task}], which cannot serve "
                             f"task type [{task_type}]; that needs a [{task_type.model_task}] model")

    async def update(self, task_type: EndpointTaskType | None, inference_id: str, body: Any,
                     actor: str = SYSTEM_ACTOR) -> InferenceEndpoint:
        """`_update`: the deployment's allocations or adaptive allocations (through `_update` of the deployment),
        and the task settings."""
        async with self._lock:
            endpoint = self.get(task_type, inference_id)
            request = parse_update_request(endpoint.task_type, endpoint.service, body)
            settings = endpoint.service_settings
            if request.num_allocations is not None or request.adaptive_allocations is not None:
                await self._deployments.update(endpoint.deployment_id, DeploymentUpdate(
                    request.num_allocations, request.adaptive_allocations), actor)
                settings = replace(settings, num_allocations=request.num_allocations or settings.num_allocations,
                                   adaptive_allocations=request.adaptive_allocations or settings.adaptive_allocations)
            updated = replace(endpoint, service_settings=settings,
                              task_settings=endpoint.task_settings.merged(request.task_settings))
            await asyncio.to_thread(self._store.save, updated.record())
            self._endpoints[inference_id] = updated
            return updated

    async def delete(self, task_type: EndpointTaskType | None, inference_id: str, *, force: bool, dry_run: bool,
                     pipelines_using: Callable[[str], Sequence[str]], actor: str = SYSTEM_ACTOR) -> list[str]:
        """Forget the endpoint and stop the deployment it started; refused (409) while pipelines use it unless
        `force`. Returns the pipelines that use it (`dry_run`: and changes nothing)."""
        async with self._lock:
            endpoint = self.get(task_type, inference_id)
            pipelines = sorted(pipelines_using(inference_id))
            if dry_run:
                return pipelines
            if pipelines and not force:
                raise StatusConflict(f"Inference endpoint {inference_id} is referenced by pipelines: {pipelines}. "
                                     "Ensure that no pipelines are using this inference endpoint, or use force to "
                                     "ignore this warning and delete the inference endpoint.")
            await asyncio.to_thread(self._store.delete, inference_id)
            del self._endpoints[inference_id]
            if endpoint.started_deployment:
                await self._deployments.stop(endpoint.deployment_id, allow_no_match=True, actor=actor)
            return pipelines

    # --- inference -----------------------------------------------------------------------------

    async def infer(self, task_type: EndpointTaskType | None, inference_id: str, body: Any,
                    timeout: str | None) -> dict[str, Any]:
        """`POST _inference[/{task_type}]/{id}`: one result per input, in Elasticsearch's shape."""
        endpoint = self.get(task_type, inference_id)
        request = parse_infer_request(endpoint.task_type, body)
        timeout_s, timeout_text = _timeout(timeout)
        deployment = endpoint.deployment_id
        if endpoint.task_type is EndpointTaskType.TEXT_EMBEDDING:
            vectors = await embed(self._deployments, deployment, request.inputs, timeout_s, timeout_text)
            return {"text_embedding": [{"embedding": vector} for vector in vectors]}
        if endpoint.task_type is EndpointTaskType.SPARSE_EMBEDDING:
            expansions = await expand(self._deployments, deployment, request.inputs, timeout_s, timeout_text)
            return {"sparse_embedding": [{"is_truncated": expansion.truncated, "embedding": expansion.weights}
                                         for expansion in expansions]}
        assert request.query is not None
        scores = await score(self._deployments, deployment, request.query, request.inputs, timeout_s, timeout_text)
        settings = endpoint.task_settings.merged(request.task_settings)
        ranked = sorted(range(len(scores)), key=lambda index: -scores[index])[:settings.top_n]
        with_text = settings.return_documents is not False
        return {"rerank": [{"index": index, "relevance_score": scores[index],
                            **({"text": request.inputs[index]} if with_text else {})} for index in ranked]}

    async def chunked(self, inference_id: str, text: str, timeout_s: float, timeout_text: str,
                      ) -> list[dict[str, Any]]:
        """The text cut by the endpoint's chunking settings, each chunk with its embedding (Elasticsearch's
        chunked results: `[{"text", "embeddings"}]`); one chunk, the whole text, without chunking settings."""
        endpoint = self.get(None, inference_id)
        if endpoint.task_type is EndpointTaskType.RERANK:
            raise BadRequest(f"Inference endpoint [{inference_id}] of task type [rerank] has no chunked results")
        spans = chunk_text(text, endpoint.chunking) if endpoint.chunking is not None else [(0, len(text))]
        chunks = [text[start:end] for start, end in spans]
        if endpoint.task_type is EndpointTaskType.TEXT_EMBEDDING:
            vectors: list[Any] = await embed(self._deployments, endpoint.deployment_id, chunks, timeout_s, timeout_text)
        else:
            vectors = [expansion.weights for expansion in await expand(
                self._deployments, endpoint.deployment_id, chunks, timeout_s, timeout_text)]
        return [{"text": chunk, "embeddings": vector} for chunk, vector in zip(chunks, vectors, strict=True)]
