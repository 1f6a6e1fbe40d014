"""Rendering models as Elasticsearch's TrainedModelConfig and TrainedModelStats."""

from __future__ import annotations

from typing import Any

from inferd.api.human import human_time
from inferd.units import human_bytes
from inferd.control.memory import estimate_memory_bytes
from inferd.store import ModelRecord

CONFIG_VERSION = "12.0.0"
LOCATION = {"index": {"name": ".ml-inference-native-000002"}}
GENERATED_FIELDS = ("created_by", "version", "create_time", "create_time_string", "estimated_operations",
                    "license_level", "model_size_bytes", "location", "inferd")


def model_size_bytes(model: ModelRecord) -> int:
    announced = model.build.config.get("model_size_bytes", 0)
    return model.build.total_definition_length or announced


def render_model_config(
    model: ModelRecord, *, human: bool = False, definition_status: bool = False, exclude_generated: bool = False
) -> dict[str, Any]:
    config = model.build.config
    metadata = dict(config.get("metadata", {}))
    if model.aliases:
        metadata["model_aliases"] = list(model.aliases)
    rendered: dict[str, Any] = {
        "model_id": model.model_id,
        "model_type": config["model_type"],
        "created_by": "api_user",
        "version": CONFIG_VERSION,
        "create_time": model.create_time_ms,
        "model_size_bytes": model_size_bytes(model),
        "estimated_operations": 0,
        "license_level": "platinum",
    }
    if human:
        rendered["create_time_string"] = human_time(model.create_time_ms)
    for name in ("description", "tags"):
        if name in config:
            rendered[name] = config[name]
    if metadata:
        rendered["metadata"] = metadata
    rendered["input"] = config["input"]
    rendered["inference_config"] = config["inference_config"]
    rendered["location"] = LOCATION
    for name in ("platform_architecture", "prefix_strings", "default_field_map"):
        if name in config:
            rendered[name] = config[name]
    if definition_status:
        rendered["fully_defined"] = model.build.fully_defined
    # inferd's own facts, under its own key so no Elasticsearch field changes meaning.
    rendered["inferd"] = {"build": model.build.build_number, "definition_sha256": model.build.definition_sha256}
    if exclude_generated:
        for name in GENERATED_FIELDS:
            rendered.pop(name, None)
    return rendered


EMPTY_INGEST = {"total": {"count": 0, "time_in_millis": 0, "current": 0, "failed": 0}, "pipelines": {}}


def render_model_stats(model: ModelRecord, now_ms: int, *, human: bool = False,
                       ingest: tuple[int, dict[str, Any]] = (0, EMPTY_INGEST)) -> dict[str, Any]:
    """`ingest`: the model's `pipeline_count` and ingest stats (`IngestPipelines.model_ingest`)."""
    size = model_size_bytes(model)
    metadata = model.build.config.get("metadata", {})
    required = estimate_memory_bytes(
        size, metadata.get("per_deployment_memory_bytes", 0), metadata.get("per_allocation_memory_bytes", 0)
    )
    size_stats: dict[str, Any] = {"model_size_bytes": size, "required_native_memory_bytes": required}
    if human:
        size_stats = {"model_size": human_bytes(size), **size_stats}
        size_stats["required_native_memory"] = human_bytes(required)
    return {
        "model_id": model.model_id,
        "model_size_stats": size_stats,
        "pipeline_count": ingest[0],
        "ingest": ingest[1],
        "inference_stats": {
            "failure_count": 0,
            "inference_count": 0,
            "cache_miss_count": 0,
            "missing_all_fields_count": 0,
            "timestamp": now_ms,
        },
    }
