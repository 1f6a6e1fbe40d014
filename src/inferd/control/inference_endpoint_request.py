"""Reading `_inference` requests for the `elasticsearch` (and deprecated `elser`) service, with Elasticsearch's checks.

Elasticsearch reads an endpoint's settings as maps and collects its problems into one validation exception
(`ElasticsearchInternalServiceSettings.fromRequestMap`, `ServiceUtils`, `ChunkingSettingsBuilder`); the parsers
below check by hand in that order, with those messages, then through the typed bodies, whose JSON schemas are the
OpenAPI description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import StrictBool, StrictInt, StrictStr

from inferd.control.deployment_request import AdaptiveAllocations, AdaptiveAllocationsBody, parse_adaptive
from inferd.control.request_body import MODEL_ID, Checked, Schema, StrictBody, parse_body
from inferd.errors import BadRequest, ParseError, SettingsInvalid, ValidationFailed
from inferd.nlp.chunkers import ChunkingSettings, SentenceChunking, WordChunking

SERVICE_SETTINGS = "service_settings"
TASK_SETTINGS = "task_settings"
CHUNKING_SETTINGS = "chunking_settings"
SENTENCE_CHUNK_SIZES = (20, 300)
WORD_CHUNK_SIZES = (10, 300)


class EndpointTaskType(StrEnum):
    TEXT_EMBEDDING = "text_embedding"
    SPARSE_EMBEDDING = "sparse_embedding"
    RERANK = "rerank"

    @property
    def model_task(self) -> str:
        """The trained model task that serves it."""
        return {"text_embedding": "text_embedding", "sparse_embedding": "text_expansion",
                "rerank": "text_similarity"}[self.value]


class Service(StrEnum):
    ELASTICSEARCH = "elasticsearch"
    ELSER = "elser"
    """Deprecated: the elasticsearch service with ELSER, sparse embeddings only."""

    @property
    def task_types(self) -> tuple[EndpointTaskType, ...]:
        if self is Service.ELSER:
            return (EndpointTaskType.SPARSE_EMBEDDING,)
        return tuple(EndpointTaskType)


ALL_TASK_TYPES = ("text_embedding", "sparse_embedding", "rerank", "completion", "chat_completion", "any")
"""Elasticsearch's task types (the path may name any; the services here serve the first three)."""


# --- the typed bodies (the OpenAPI description) --------------------------------------------------------------


class ServiceSettingsBody(StrictBody):
    """The deployment the endpoint serves through: one it starts (`model_id`, allocations, threads), or one that
    runs already (`deployment_id`)."""

    model_id: Annotated[StrictStr | None, Checked(**MODEL_ID)] = None
    deployment_id: Annotated[StrictStr | None, Checked(**MODEL_ID)] = None
    num_allocations: Annotated[StrictInt | None, Checked(minimum=1)] = None
    num_threads: Annotated[StrictInt | None, Checked(minimum=1, maximum=32)] = None
    adaptive_allocations: AdaptiveAllocationsBody | None = None

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        """Attach to a running deployment (`deployment_id`), or start one: `model_id`, `num_threads`, and
        `num_allocations` or `adaptive_allocations`."""
        given = {name: {"not": {"type": "null"}} for name in ("deployment_id", "model_id", "num_threads",
                                                               "num_allocations", "adaptive_allocations")}
        schema["anyOf"] = [
            {"required": ["deployment_id"], "properties": {"deployment_id": given["deployment_id"]}},
            {"required": ["model_id", "num_threads"],
             "properties": {"model_id": given["model_id"], "num_threads": given["num_threads"]},
             "anyOf": [{"required": [name], "properties": {name: given[name]}}
                       for name in ("num_allocations", "adaptive_allocations")]},
        ]


class TaskSettingsBody(StrictBody):
    """`rerank`'s options: whether each result repeats its text, and how many results to keep."""

    return_documents: StrictBool | None = None
    top_n: Annotated[StrictInt | None, Checked(minimum=1)] = None


class ChunkingSettingsBody(StrictBody):
    """How long inputs are cut: whole sentences up to `max_chunk_size` words (repeating the one before with
    `sentence_overlap: 1`), or `max_chunk_size` words overlapping by `overlap`."""

    strategy: Annotated[Literal["sentence", "word"] | None, Checked(required=True)] = None
    max_chunk_size: Annotated[StrictInt | None, Checked(required=True, minimum=WORD_CHUNK_SIZES[0],
                                                        maximum=WORD_CHUNK_SIZES[1])] = None
    sentence_overlap: Annotated[StrictInt | None, Checked(minimum=0, maximum=1)] = None
    overlap: Annotated[StrictInt | None, Checked(minimum=1, maximum=150)] = None

    @classmethod
    def describe_rules(cls, schema: Schema) -> None:
        """`sentence_overlap` is the sentence strategy's, `overlap` (required) the word strategy's. (That `overlap`
        is at most half `max_chunk_size` compares two fields, which no schema states.)"""
        schema["anyOf"] = [
            {"not": {"required": ["overlap"]}, "properties": {
                "strategy": {"const": "sentence"}, "max_chunk_size": {"minimum": SENTENCE_CHUNK_SIZES[0]}}},
            {"required": ["overlap"], "not": {"required": ["sentence_overlap"]},
             "properties": {"strategy": {"const": "word"}, "overlap": {"type": "integer"}}},
        ]


class PutEndpointBody(StrictBody):
    """An inference endpoint of the `elasticsearch` service (or the deprecated `elser`)."""

    service: Annotated[Literal["elasticsearch", "elser"] | None, Checked(required=True)] = None
    service_settings: Annotated[ServiceSettingsBody | None, Checked(required=True)] = None
    task_settings: TaskSettingsBody | None = None
    chunking_settings: ChunkingSettingsBody | None = None


class UpdateServiceSettingsBody(StrictBody):
    """The service settings `_update` may change: the deployment's allocations."""

    num_allocations: Annotated[StrictInt | None, Checked(minimum=1)] = None
    adaptive_allocations: AdaptiveAllocationsBody | None = None


class UpdateEndpointBody(StrictBody):
    """What `_update` may change: the deployment's allocations, adaptive allocations, the task settings."""

    service_settings: UpdateServiceSettingsBody | None = None
    task_settings: TaskSettingsBody | None = None


class InferEndpointBody(StrictBody):
    """Texts to infer (`query` ranks them, for `rerank`), with task settings for this request only."""

    input: Annotated[StrictStr | list[StrictStr] | None, Checked(required=True, minItems=1)] = None
    query: StrictStr | None = None
    input_type: Literal["ingest", "search", "classification", "clustering", "internal_ingest",
                        "internal_search"] | None = None
    task_settings: TaskSettingsBody | None = None
    timeout: StrictStr | None = None


# --- what a request means ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceSettings:
    model_id: str | None
    deployment_id: str | None
    num_allocations: int | None
    num_threads: int | None
    adaptive_allocations: AdaptiveAllocations | None


@dataclass(frozen=True)
class TaskSettings:
    return_documents: bool | None = None
    top_n: int | None = None

    def merged(self, override: TaskSettings | None) -> TaskSettings:
        if override is None:
            return self
        return TaskSettings(self.return_documents if override.return_documents is None else override.return_documents,
                            self.top_n if override.top_n is None else override.top_n)

    def render(self) -> dict[str, Any]:
        return {name: value for name, value in (("return_documents", self.return_documents), ("top_n", self.top_n))
                if value is not None}


@dataclass(frozen=True)
class EndpointRequest:
    service: Service
    service_settings: ServiceSettings
    task_settings: TaskSettings
    chunking: ChunkingSettings | None


@dataclass(frozen=True)
class InferRequest:
    inputs: list[str]
    query: str | None
    task_settings: TaskSettings | None


def parse_task_type(text: str) -> EndpointTaskType:
    """A task type from the path, or Elasticsearch's 400."""
    if text not in ALL_TASK_TYPES:
        raise BadRequest(f"Unknown task_type [{text}]")
    try:
        return EndpointTaskType(text)
    except ValueError:
        raise BadRequest(f"The [elasticsearch] service does not support task type [{text}]") from None


def _java(value: Any) -> str:
    """A value as Java's `toString` prints it in Elasticsearch's messages (a map as `{k=v}`, a boolean lower-case)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key}={_java(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java(item) for item in value) + "]"
    return str(value)


def _positive_integer(settings: dict[str, Any], name: str, scope: str, problems: list[str], *,
                      required: bool) -> int | None:
    value = settings.pop(name, None)
    if value is None:
        if required:
            problems.append(f"[{scope}] does not contain the required setting [{name}]")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(f"field [{name}] is not of the expected type. The value [{_java(value)}] cannot be "
                        "converted to a [Integer]")
        return None
    if value <= 0:
        problems.append(f"[{scope}] Invalid value [{value}]. [{name}] must be a positive integer")
        return None
    return value


def _optional_string(settings: dict[str, Any], name: str, scope: str, problems: list[str]) -> str | None:
    value = settings.pop(name, None)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"field [{name}] is not of the expected type. The value [{_java(value)}] cannot be "
                        "converted to a [String]")
        return None
    if not value:
        problems.append(f"[{scope}] Invalid value empty string. [{name}] must be a non-empty string")
        return None
    return value


def _object(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ParseError(f"[{name}] must be an object")
    return dict(value)


def parse_service_settings(given: Mapping[str, Any], service: Service, *, for_update: bool = False,
                           ) -> ServiceSettings:
    settings = dict(given)
    problems: list[str] = []
    attaching = settings.get("deployment_id") is not None  # the deployment has its allocations and threads
    allocations = _positive_integer(settings, "num_allocations", SERVICE_SETTINGS, problems, required=False)
    threads = _positive_integer(settings, "num_threads", SERVICE_SETTINGS, problems,
                                required=not (for_update or attaching))
    model_id = _optional_string(settings, "model_id", SERVICE_SETTINGS, problems)
    deployment_id = _optional_string(settings, "deployment_id", SERVICE_SETTINGS, problems)
    adaptive_given = settings.pop("adaptive_allocations", None)
    adaptive = parse_adaptive(adaptive_given, SERVICE_SETTINGS)
    if adaptive is not None:
        problems += adaptive.problems()
    if not (for_update or attaching) and allocations is None and adaptive is None:
        problems.append(f"[{SERVICE_SETTINGS}] does not contain one of the required settings "
                        "[num_allocations, adaptive_allocations]")
    if not for_update and model_id is None and deployment_id is None:
        problems.append(f"[{SERVICE_SETTINGS}] does not contain the required setting [model_id]")
    if problems:
        raise SettingsInvalid(problems)
    if settings:
        raise BadRequest(f"Model configuration contains settings [{_java(settings)}] unknown to the [{service}] service")
    return ServiceSettings(model_id, deployment_id, allocations, threads, adaptive)


def parse_task_settings(given: Mapping[str, Any], task_type: EndpointTaskType, service: Service) -> TaskSettings:
    settings = dict(given)
    if task_type is not EndpointTaskType.RERANK:
        if settings:
            raise BadRequest(f"Model configuration contains settings [{_java(settings)}] unknown to the [{service}] "
                             "service")
        return TaskSettings()
    problems: list[str] = []
    documents = settings.pop("return_documents", None)
    if documents is not None and not isinstance(documents, bool):
        problems.append(f"field [return_documents] is not of the expected type. The value [{_java(documents)}] "
                        "cannot be converted to a [Boolean]")
        documents = None
    top_n = _positive_integer(settings, "top_n", TASK_SETTINGS, problems, required=False)
    if problems:
        raise SettingsInvalid(problems)
    if settings:
        raise BadRequest(f"Model configuration contains settings [{_java(settings)}] unknown to the [{service}] service")
    return TaskSettings(documents, top_n)


def _chunk_size(settings: dict[str, Any], bounds: tuple[int, int], problems: list[str]) -> int | None:
    size = _positive_integer(settings, "max_chunk_size", CHUNKING_SETTINGS, problems, required=True)
    if size is None:
        return None
    low, high = bounds
    if size < low:
        problems.append(f"[{CHUNKING_SETTINGS}] Invalid value [{float(size)}]. [max_chunk_size] must be a greater "
                        f"than or equal to [{float(low)}]")
        return None
    if size > high:
        problems.append(f"[{CHUNKING_SETTINGS}] Invalid value [{float(size)}]. [max_chunk_size] must be a less than "
                        f"or equal to [{float(high)}]")
        return None
    return size


def parse_chunking_settings(given: Mapping[str, Any] | None) -> ChunkingSettings | None:
    """`ChunkingSettingsBuilder.fromMap`: none given, none (the endpoint answers whole inputs); else the strategy's."""
    if given is None:
        return None
    if not isinstance(given, Mapping):
        raise ParseError(f"[{CHUNKING_SETTINGS}] must be an object")
    settings = dict(given)
    if not settings:
        return SentenceChunking()
    if "strategy" not in settings:
        raise BadRequest("Can't generate Chunker without ChunkingStrategy provided")
    strategy = str(settings.pop("strategy")).lower()
    problems: list[str] = []
    if strategy == "sentence":
        invalid = [name for name in settings if name not in ("max_chunk_size", "sentence_overlap")]
        if invalid:
            problems.append(f"Sentence based chunking settings can not have the following settings: [{', '.join(invalid)}]")
        size = _chunk_size(settings, SENTENCE_CHUNK_SIZES, problems)
        overlap = settings.pop("sentence_overlap", None)
        if overlap is not None and (isinstance(overlap, bool) or not isinstance(overlap, int)):
            problems.append(f"field [sentence_overlap] is not of the expected type. The value [{_java(overlap)}] cannot "
                            "be converted to a [Integer]")
        elif overlap is not None and overlap not in (0, 1):
            problems.append(f"sentence_overlap[{overlap}] must be either 0 or 1")
        if problems:
            raise SettingsInvalid(problems)
        assert size is not None
        return SentenceChunking(size, 1 if overlap is None else overlap)
    if strategy == "word":
        invalid = [name for name in settings if name not in ("max_chunk_size", "overlap")]
        if invalid:
            problems.append(f"Word based chunking settings can not have the following settings: [{', '.join(invalid)}]")
        size = _chunk_size(settings, WORD_CHUNK_SIZES, problems)
        overlap = None
        if size is not None:
            overlap = _nonnegative_overlap(settings, size, problems)
        if problems:
            raise SettingsInvalid(problems)
        assert size is not None and overlap is not None
        return WordChunking(size, overlap)
    raise BadRequest(f"Invalid chunkingStrategy {strategy}")


def _nonnegative_overlap(settings: dict[str, Any], size: int, problems: list[str]) -> int | None:
    overlap = _positive_integer(settings, "overlap", CHUNKING_SETTINGS, problems, required=True)
    if overlap is not None and overlap > size // 2:
        problems.append(f"[{CHUNKING_SETTINGS}] Invalid value [{float(overlap)}]. [overlap] must be a less than or "
                        f"equal to [{float(size // 2)}]")
    return overlap


def parse_put_request(task_type: EndpointTaskType, body: Any) -> EndpointRequest:
    """`PUT _inference/{task_type}/{inference_id}`'s body."""
    if body is None:
        raise BadRequest("request body is required")
    if not isinstance(body, Mapping):
        raise ParseError("[inference_put] Expected START_OBJECT")
    service_name = body.get("service")
    if service_name is None:
        raise ValidationFailed(["Missing required field [service]"])
    try:
        service = Service(service_name)
    except ValueError:
        raise BadRequest(f"Unknown service [{service_name}] for model [{task_type}]") from None
    if task_type not in service.task_types:
        raise BadRequest(f"The [{service}] service does not support task type [{task_type}]")
    unknown = {name: value for name, value in body.items()
               if name not in ("service", SERVICE_SETTINGS, TASK_SETTINGS, CHUNKING_SETTINGS)}
    if unknown:
        raise BadRequest(f"Model configuration contains settings [{_java(unknown)}] unknown to the [{service}] service")
    if body.get(SERVICE_SETTINGS) is None:
        raise BadRequest(f"Missing required field [{SERVICE_SETTINGS}]")
    service_settings = parse_service_settings(_object(body, SERVICE_SETTINGS), service)
    task_settings = parse_task_settings(_object(body, TASK_SETTINGS), task_type, service)
    chunking = parse_chunking_settings(body.get(CHUNKING_SETTINGS))
    parse_body(PutEndpointBody, dict(body), "inference_put")
    return EndpointRequest(service, service_settings, task_settings, chunking)


@dataclass(frozen=True)
class UpdateRequest:
    num_allocations: int | None
    adaptive_allocations: AdaptiveAllocations | None
    task_settings: TaskSettings | None


def parse_update_request(task_type: EndpointTaskType, service: Service, body: Any) -> UpdateRequest:
    """`PUT _inference/{id}/_update`'s body: allocations, adaptive allocations and task settings."""
    if not isinstance(body, Mapping):
        raise ParseError("[inference_update] Expected START_OBJECT")
    unknown = [name for name in body if name not in (SERVICE_SETTINGS, TASK_SETTINGS)]
    if unknown:
        raise ParseError(f"[inference_update] unknown field [{unknown[0]}]")
    given = _object(body, SERVICE_SETTINGS)
    not_updatable = sorted(set(given) - {"num_allocations", "adaptive_allocations"})
    if not_updatable:
        raise SettingsInvalid([f"[{SERVICE_SETTINGS}] does not allow the setting [{name}]" for name in not_updatable])
    settings = parse_service_settings(given, service, for_update=True)
    task_settings = parse_task_settings(_object(body, TASK_SETTINGS), task_type, service) if body.get(
        TASK_SETTINGS) is not None else None
    parse_body(UpdateEndpointBody, dict(body), "inference_update")
    return UpdateRequest(settings.num_allocations, settings.adaptive_allocations, task_settings)


def parse_infer_request(task_type: EndpointTaskType, body: Any) -> InferRequest:
    """`POST _inference/{task_type}/{id}`'s body, checked as Elasticsearch's `InferenceAction.Request` is."""
    if body is None:
        raise BadRequest("request body is required")
    request = parse_body(InferEndpointBody, body, "inference_action")
    inputs = [request.input] if isinstance(request.input, str) else list(request.input or [])
    problems = []
    if not inputs:
        problems.append("Field [input] cannot be empty")
    if task_type is EndpointTaskType.RERANK and request.query is None:
        problems.append("Field [query] cannot be null for task type [rerank]")
    elif task_type is EndpointTaskType.RERANK and not request.query:
        problems.append("Field [query] cannot be empty for task type [rerank]")
    if problems:
        raise ValidationFailed(problems)
    task_settings = None
    if request.task_settings is not None:
        task_settings = parse_task_settings(request.task_settings.model_dump(exclude_none=True), task_type,
                                            Service.ELASTICSEARCH)
    return InferRequest(inputs, request.query, task_settings)
