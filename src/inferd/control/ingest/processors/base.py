"""What every processor shares: its common options, the reading of its configuration with Elasticsearch's messages,
and running over a batch of documents (one failure per document, never one for the batch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from inferd.control.ingest.conditions import Expression, holds
from inferd.control.ingest.document import IngestDocument
from inferd.control.ingest.templates import unsupported_template
from inferd.errors import ElasticsearchParseError

COMMON_OPTIONS = ("tag", "description", "if", "ignore_failure", "on_failure")


class Inference(Protocol):
    """What the inference processor calls (`control/ingest/inference_access.py` wires it to the deployments)."""

    async def input_field(self, model_id: str) -> str:
        """The field the model reads its text from."""

    async def infer_texts(self, model_id: str, texts: Sequence[str], update: Mapping[str, Any] | None,
                          ) -> list[dict[str, Any]]:
        """One `_infer` of the texts: each text's result, in Elasticsearch's `_infer` shape."""

    def is_endpoint(self, model_id: str) -> bool:
        """Whether the id names an inference endpoint (whose results are chunked) rather than a model."""

    async def chunked(self, inference_id: str, text: str) -> list[dict[str, Any]]:
        """The text's chunks, each with its embedding, by the endpoint's chunking settings."""


class Config:
    """A processor's configuration, read property by property (Elasticsearch's `ConfigurationUtils`)."""

    def __init__(self, processor_type: str, tag: str | None, options: Mapping[str, Any]) -> None:
        self.type = processor_type
        self.tag = tag
        self.options = dict(options)

    def error(self, property_name: str | None, reason: str) -> ElasticsearchParseError:
        metadata = {"processor_type": self.type}
        if self.tag is not None:
            metadata["processor_tag"] = self.tag
        if property_name is not None:
            metadata = {"property_name": property_name, **metadata}
        return ElasticsearchParseError(reason, metadata=metadata)

    def _typed(self, name: str, value: Any, kind: type, java: str) -> Any:
        if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
            raise self.error(name, f"[{name}] property isn't a {java}, but of type [{_java_type(value)}]")
        return value

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self.options.pop(name, None)
        if value is None:
            if required:
                raise self.error(name, f"[{name}] required property is missing")
            return default
        text: str = self._typed(name, value, str, "string")
        if unsupported_template(text):
            raise self.error(name, f"[{name}] uses mustache beyond {{{{field}}}} variables, which inferd does not run")
        return text

    def required_string(self, name: str) -> str:
        value = self.string(name, required=True)
        assert value is not None
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self.options.pop(name, None)
        if value is None:
            return default
        if isinstance(value, str) and value in ("true", "false"):
            return value == "true"
        return bool(self._typed(name, value, bool, "boolean"))

    def value(self, name: str, *, required: bool = False) -> Any:
        if name not in self.options:
            if required:
                raise self.error(name, f"[{name}] required property is missing")
            return None
        return self.options.pop(name)

    def mapping(self, name: str) -> dict[str, Any] | None:
        return self._typed(name, self.options.pop(name, None), dict, "map")  # type: ignore[no-any-return]

    def finish(self) -> None:
        """Refuse what the processor does not take."""
        if self.options:
            raise self.error(None, f"processor [{self.type}] doesn't support one or more provided configuration "
                                   f"parameters [{', '.join(self.options)}]")


def _java_type(value: Any) -> str:
    return {str: "java.lang.String", int: "java.lang.Integer", float: "java.lang.Double", bool: "java.lang.Boolean",
            list: "java.util.ArrayList", dict: "java.util.HashMap"}.get(type(value), "java.lang.Object")


@dataclass
class Common:
    """The options every processor takes."""

    type: str
    tag: str | None = None
    description: str | None = None
    condition: Expression | None = None
    condition_text: str | None = None
    ignore_failure: bool = False
    on_failure: list[Processor] = field(default_factory=list)

    def applies(self, document: IngestDocument) -> bool:
        return self.condition is None or holds(self.condition, document)


class Processor:
    """A processor: `apply` one document (most processors), or override `run` for a batch (inference)."""

    def __init__(self, common: Common) -> None:
        self.common = common

    @property
    def type(self) -> str:
        return self.common.type

    def apply(self, document: IngestDocument) -> None:
        raise NotImplementedError

    async def run(self, documents: Sequence[IngestDocument], inference: Inference) -> list[Exception | None]:
        """Each document's failure, or None; documents change in place."""
        failures: list[Exception | None] = []
        for document in documents:
            try:
                self.apply(document)
                failures.append(None)
            except Exception as error:  # noqa: BLE001 - a document's failure is its own (Elasticsearch's rule)
                failures.append(error)
        return failures
