"""Elasticsearch's ingest pipeline API: put, get, delete and `_simulate` (with `verbose`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from inferd.api.body import JsonBody
from inferd.api.errors import error_body
from inferd.api.params import EsBool
from inferd.api.privileges import Privilege, require_privilege
from inferd.api.responses import FastJSONResponse
from inferd.api.schemas.ingest import PipelineBody, SimulateBody
from inferd.api.state import Pipelines, State
from inferd.control.ingest import DeploymentInference, IngestDocument, Outcome, Pipeline, Trace, check_documents
from inferd.control.ingest.service import SIMULATED_PIPELINE, ingest_timestamp
from inferd.control.request_body import parse_body
from inferd.errors import BadRequest, InferdError, ParseError

router = APIRouter(prefix="/_ingest/pipeline")

PUT = [Depends(require_privilege(Privilege.MANAGE_INGEST_PIPELINES, "cluster:admin/ingest/pipeline/put"))]
DELETE = [Depends(require_privilege(Privilege.MANAGE_INGEST_PIPELINES, "cluster:admin/ingest/pipeline/delete"))]
GET = [Depends(require_privilege(Privilege.READ_PIPELINE, "cluster:admin/ingest/pipeline/get"))]
SIMULATE_ACTION = "cluster:admin/ingest/pipeline/simulate"
SIMULATE = [Depends(require_privilege(Privilege.READ_PIPELINE, SIMULATE_ACTION))]


def inference_of(state: State, *, wait_when_full_s: float = 0.0) -> DeploymentInference:
    """The inference processor's way to the deployments, for one request."""
    return DeploymentInference(state.deployments, state.endpoints, state.clock, wait_when_full_s=wait_when_full_s)


@router.put("/{pipeline_id}", dependencies=PUT)
async def put_pipeline(pipeline_id: str, body: JsonBody, pipelines: Pipelines, if_version: int | None = None,
                       master_timeout: str | None = None, timeout: str | None = None) -> dict[str, bool]:
    if body is None:
        raise BadRequest("request body is required")
    Pipeline.build(pipeline_id, body)  # Elasticsearch's checks and messages first, then the typed body's
    parse_body(PipelineBody, body, "pipeline")
    await pipelines.put(pipeline_id, body, if_version)
    return {"acknowledged": True}


@router.get("", dependencies=GET)
@router.get("/{pipeline_id}", dependencies=GET)
async def get_pipeline(pipelines: Pipelines, pipeline_id: str | None = None, summary: EsBool = False,
                       master_timeout: str | None = None) -> Response:
    """Elasticsearch answers `{}` with 404 when no pipeline matches."""
    found = pipelines.get(pipeline_id)
    if summary:
        found = {name: {} for name in found}
    return FastJSONResponse(found, status_code=200 if found or pipeline_id is None else 404)


@router.delete("/{pipeline_id}", dependencies=DELETE)
async def delete_pipeline(pipeline_id: str, pipelines: Pipelines, master_timeout: str | None = None,
                          timeout: str | None = None) -> dict[str, bool]:
    await pipelines.delete(pipeline_id)
    return {"acknowledged": True}


@router.post("/_simulate", dependencies=SIMULATE)
@router.post("/{pipeline_id}/_simulate", dependencies=SIMULATE)
async def simulate_pipeline(body: JsonBody, pipelines: Pipelines, state: State, pipeline_id: str | None = None,
                            verbose: EsBool = False) -> dict[str, Any]:
    """Run a stored pipeline, or the one in the body, over the body's documents, changing nothing."""
    if not isinstance(body, dict):
        raise ParseError("[simulate_pipeline] Expected START_OBJECT") if body is not None else BadRequest(
            "request body is required")
    if pipeline_id is not None:
        pipeline = pipelines.pipeline(pipeline_id)
    else:
        if "pipeline" not in body:
            raise ParseError("[pipeline] required property is missing")
        pipeline = Pipeline.build(SIMULATED_PIPELINE, body["pipeline"])
    docs = check_documents(body)
    parse_body(SimulateBody, body, "simulate_pipeline")
    timestamp = ingest_timestamp(state.clock.now_ms())
    documents = [IngestDocument(doc["_source"], {"_index": doc.get("_index", "_index"), "_id": doc.get("_id", "_id"),
                                                 "_version": str(doc.get("_version", "-3")),
                                                 "_routing": doc.get("_routing")},
                                {**({"pipeline": pipeline.pipeline_id} if verbose else {}), "timestamp": timestamp})
                 for doc in docs]
    outcomes = await pipelines.simulate(pipeline, documents, inference_of(state), verbose=verbose)
    return {"docs": [_render_outcome(outcome, verbose) for outcome in outcomes]}


def failure_body(error: Exception) -> dict[str, Any]:
    """A document's failure, in Elasticsearch's error shape (without the status)."""
    failure = error if isinstance(error, InferdError) else InferdError(f"{type(error).__name__}: {error}")
    if not isinstance(error, InferdError):
        failure.error_type = "illegal_argument_exception" if isinstance(error, ValueError) else "exception"
    return error_body(failure)["error"]  # type: ignore[no-any-return]


def _render_trace(trace: Trace) -> dict[str, Any]:
    rendered: dict[str, Any] = {"processor_type": trace.processor_type, "status": trace.status}
    if trace.tag is not None:
        rendered["tag"] = trace.tag
    if trace.description is not None:
        rendered["description"] = trace.description
    if trace.condition is not None:
        rendered["if"] = {"condition": trace.condition[0], "result": trace.condition[1]}
    if trace.error is not None:
        rendered["ignored_error" if trace.status == "error_ignored" else "error"] = failure_body(trace.error)
    if trace.document is not None:
        rendered["doc"] = trace.document
    return rendered


def _render_outcome(outcome: Outcome, verbose: bool) -> dict[str, Any]:
    if verbose:
        return {"processor_results": [_render_trace(trace) for trace in outcome.traces]}
    if outcome.failure is not None:
        return {"error": failure_body(outcome.failure)}
    return {"doc": outcome.document.render()}
