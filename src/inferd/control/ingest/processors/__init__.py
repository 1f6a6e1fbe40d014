"""The processors inferd runs, by type, and building one from its configuration with Elasticsearch's checks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from inferd.control.ingest.conditions import parse_condition
from inferd.control.ingest.processors.base import Common, Config, Inference, Processor
from inferd.control.ingest.processors.inference import InferenceProcessor
from inferd.control.ingest.processors.lowercase import LowercaseProcessor
from inferd.control.ingest.processors.remove import RemoveProcessor
from inferd.control.ingest.processors.rename import RenameProcessor
from inferd.control.ingest.processors.script import ScriptProcessor
from inferd.control.ingest.processors.set import SetProcessor
from inferd.errors import ElasticsearchParseError

FACTORIES: Mapping[str, Callable[[Common, Config], Processor]] = {
    "inference": InferenceProcessor.create,
    "lowercase": LowercaseProcessor.create,
    "remove": RemoveProcessor.create,
    "rename": RenameProcessor.create,
    "script": ScriptProcessor.create,
    "set": SetProcessor.create,
}


def build_processors(definitions: Any, owner: str) -> list[Processor]:
    """A pipeline's (or an `on_failure`'s) list of `{type: {options}}`."""
    if not isinstance(definitions, list):
        raise ElasticsearchParseError(f"[{owner}] property isn't a list, but of type [{type(definitions).__name__}]",
                                      metadata={"property_name": owner})
    return [build_processor(definition) for definition in definitions]


def build_processor(definition: Any) -> Processor:
    if not isinstance(definition, dict) or len(definition) != 1:
        raise ElasticsearchParseError("a processor is an object with exactly one key, its type")
    (processor_type, options), = definition.items()
    factory = FACTORIES.get(processor_type)
    if factory is None:
        raise ElasticsearchParseError(f"No processor type exists with name [{processor_type}]",
                                      metadata={"processor_type": processor_type})
    if not isinstance(options, dict):
        raise ElasticsearchParseError(f"[{processor_type}] options must be an object",
                                      metadata={"processor_type": processor_type})
    tag = options.get("tag")
    config = Config(processor_type, tag if isinstance(tag, str) else None, options)
    config.string("tag")
    common = Common(processor_type, tag if isinstance(tag, str) else None, config.string("description"))
    condition = config.value("if")
    if condition is not None:
        if not isinstance(condition, str):
            raise config.error("if", "[if] a condition is a string of Painless (or an object: a stored script, "
                                     "which inferd does not run)")
        common.condition, common.condition_text = parse_condition(condition), condition
    common.ignore_failure = config.boolean("ignore_failure", False)
    on_failure = config.value("on_failure")
    if on_failure is not None:
        common.on_failure = build_processors(on_failure, "on_failure")
        if not common.on_failure:
            raise config.error("on_failure", "processors list cannot be empty")
    processor = factory(common, config)
    config.finish()
    return processor


__all__ = ["FACTORIES", "Inference", "InferenceProcessor", "Processor", "build_processor", "build_processors"]
