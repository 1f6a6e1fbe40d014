"""The reads operators and Kibana make: `_cat/ml/trained_models`, `_ml/memory/_stats` and `_ml/info`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from inferd.api.cat import Column, Kind, render_table
from inferd.api.params import EsBool
from inferd.api.privileges import Privilege, require_privilege
from inferd.api.routes.root import ELASTICSEARCH_VERSION
from inferd.api.schemas.trained_model import model_size_bytes
from inferd.api.state import Deployments, Pipelines, Registry, State
from inferd.control.memory import estimate_memory_bytes
from inferd.units import human_bytes

router = APIRouter()

MODELS = [Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/xpack/ml/inference/get"))]
MEMORY = [Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/xpack/ml/memory/stats/get"))]
INFO = [Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/xpack/ml/info/get"))]

TRAINED_MODEL_COLUMNS = (
    Column("id", ("id",), True, "the trained model id"),
    Column("created_by", ("c", "createdBy"), False, "who created the model"),
    Column("heap_size", ("hs", "modelHeapSize"), True, "the estimated heap size to keep the model in memory",
           Kind.BYTES),
    Column("operations", ("o", "modelOperations"), True, "the estimated number of operations to use the model"),
    Column("license", ("l",), False, "The license level of the model"),
    Column("create_time", ("ct",), True, "The time the model was created"),
    Column("version", ("v",), False, "The version of Elasticsearch when the model was created"),
    Column("description", ("d",), False, "The model description"),
    Column("ingest.pipelines", ("ip", "ingestPipelines"), True, "The number of pipelines referencing the model"),
    Column("ingest.count", ("ic", "ingestCount"), False, "The total number of docs processed by the model"),
    Column("ingest.time", ("it", "ingestTime"), False, "The total time spent processing docs with this model",
           Kind.TIME_MS),
    Column("ingest.current", ("icurr", "ingestCurrent"), False, "The total documents currently being handled by the "
           "model"),
    Column("ingest.failed", ("if", "ingestFailed"), False, "The total count of failed ingest attempts with this model"),
    Column("data_frame.id", ("dfid", "dataFrameAnalytics"), True, "The data frame analytics config id that created "
           "the model (if still available)"),
    Column("data_frame.create_time", ("dft", "dataFrameAnalyticsTime"), False, "The time the data frame analytics "
           "config was created"),
    Column("data_frame.source_index", ("dfsi", "dataFrameAnalyticsSrcIndex"), False, "The source index used to train "
           "in the data frame analysis"),
    Column("data_frame.analysis", ("dfa", "dataFrameAnalyticsAnalysis"), False, "The analysis used by the data frame "
           "to build the model"),
    Column("type", ("t",), True, "The model type"),
)


def _iso(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@router.get("/_cat/ml/trained_models", dependencies=MODELS)
@router.get("/_cat/ml/trained_models/{model_id}", dependencies=MODELS)
async def cat_trained_models(models: Registry, deployments: Deployments, pipelines: Pipelines,
                             model_id: str | None = None, allow_no_match: EsBool = True, v: EsBool = False,
                             h: str | None = None, s: str | None = None, format: str | None = None,
                             bytes: str | None = None, time: str | None = None, help: EsBool = False,
                             start: int = Query(0, alias="from"), size: int = 100) -> Response:
    found = await run_in_threadpool(models.find_models, model_id, allow_no_match=allow_no_match)
    rows = []
    for model in found[start:start + size]:
        names = {model.model_id, *model.aliases, *(view.deployment_id for view in deployments.views_of_model(
            model.model_id))}
        count, ingest = pipelines.model_ingest(names)
        total = ingest["total"]
        config = model.build.config
        metadata = config.get("metadata", {})
        rows.append({
            "id": model.model_id, "created_by": "api_user",
            "heap_size": estimate_memory_bytes(model_size_bytes(model), metadata.get("per_deployment_memory_bytes", 0),
                                               metadata.get("per_allocation_memory_bytes", 0)),
            "operations": 0, "license": "PLATINUM", "create_time": _iso(model.create_time_ms), "version": "12.0.0",
            "description": config.get("description"), "ingest.pipelines": count, "ingest.count": total["count"],
            "ingest.time": total["time_in_millis"], "ingest.current": total["current"],
            "ingest.failed": total["failed"], "data_frame.id": "__none__", "data_frame.create_time": None,
            "data_frame.source_index": None, "data_frame.analysis": None, "type": config.get("model_type", "pytorch"),
        })
    return render_table(TRAINED_MODEL_COLUMNS, rows, header=h, verbose=v, sort=s, output_format=format,
                        byte_unit=bytes, time_unit=time, show_help=help)


def _sized(name: str, value: int, human: bool) -> dict[str, Any]:
    return ({name: human_bytes(value)} if human else {}) | {f"{name}_in_bytes": value}


@router.get("/_ml/memory/_stats", dependencies=MEMORY)
@router.get("/_ml/memory/{node_id}/_stats", dependencies=MEMORY)
async def ml_memory_stats(deployments: Deployments, state: State, node_id: str | None = None,
                          human: EsBool = False, master_timeout: str | None = None,
                          timeout: str | None = None) -> dict[str, Any]:
    """Each node's memory for inference and what the deployments on it take (Elasticsearch's `MlMemoryAction`):
    a node's memory is what inferd offers deployments there; `native_inference` the models' estimates."""
    used: dict[str, int] = {}
    for view in deployments.views():
        deployment = deployments.get(view.deployment_id)
        revision = deployment.serving
        for route in view.routes:
            used[route.node_id] = used.get(route.node_id, 0) + estimate_memory_bytes(
                revision.model_bytes, revision.per_deployment_memory_bytes, revision.per_allocation_memory_bytes,
                route.allocations)
    nodes = {}
    for node, available in deployments.all_nodes():
        if node_id not in (None, "_all", "*") and node_id not in node.node_id.split(","):
            continue
        if not available:
            continue
        ml = (_sized("max", node.memory_bytes, human) | _sized("native_code_overhead", 0, human)
              | _sized("anomaly_detectors", 0, human) | _sized("data_frame_analytics", 0, human)
              | _sized("native_inference", used.get(node.node_id, 0), human))
        nodes[node.node_id] = {
            "name": node.node_id, "ephemeral_id": node.node_id, "transport_address": f"{state.settings.host}:0",
            "attributes": {"ml.machine_memory": str(node.memory_bytes), "ml.allocated_processors": str(node.processors)},
            "roles": ["ml"],
            "mem": _sized("total", node.memory_bytes, human) | _sized("adjusted_total", node.memory_bytes, human)
            | {"ml": ml},
            "jvm": _sized("heap_max", 0, human) | _sized("java_inference_max", 0, human)
            | _sized("java_inference", 0, human),
        }
    return {"_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0}, "cluster_name": "inferd",
            "nodes": nodes}


@router.get("/_ml/info", dependencies=INFO)
async def ml_info(deployments: Deployments) -> dict[str, Any]:
    """Defaults and limits (Elasticsearch's `MlInfoAction`): the processor counts and the largest model memory are
    inferd's nodes'."""
    nodes = [node for node, available in deployments.all_nodes() if available]
    largest = max((node.memory_bytes for node in nodes), default=0)
    total = sum(node.memory_bytes for node in nodes)
    return {
        "defaults": {
            "anomaly_detectors": {"categorization_analyzer": {"char_filter": ["first_line_with_letters"],
                                                              "tokenizer": "ml_standard", "filter": []},
                                  "model_memory_limit": "1gb", "categorization_examples_limit": 4,
                                  "model_snapshot_retention_days": 10, "daily_model_snapshot_retention_after_days": 1},
            "datafeeds": {"scroll_size": 1000},
        },
        "upgrade_mode": False,
        "native_code": {"version": ELASTICSEARCH_VERSION["number"], "build_hash": ELASTICSEARCH_VERSION["build_hash"]},
        "limits": {
            "max_single_ml_node_processors": max((node.processors for node in nodes), default=0),
            "total_ml_processors": sum(node.processors for node in nodes),
            "max_model_memory_limit": f"{largest // 1024**2}mb",
            "effective_max_model_memory_limit": f"{largest // 1024**2}mb",
            "total_ml_memory": f"{total // 1024**2}mb",
        },
    }
