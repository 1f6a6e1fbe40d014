"""`POST /_ml/trained_models/{model_id}/_infer` and the deprecated `.../deployment/_infer`: the one inference path.

Every such request, whatever its query string, is answered by `InferenceMiddleware`, the innermost middleware,
without FastAPI's routing, dependency and exception layers: at one connection those cost more of a request's
server time than inferd's own work (py-spy of bench/latency.py: routing and `solve_dependencies` about 60% of
the request's event-loop time). It takes Elasticsearch's steps in Elasticsearch's order: the Accept header, the
privilege, the query parameters, the bounded JSON body, the documents' bounds, the inference, and the answer,
already encoded (FastAPI's generic encoder walked every float), with a deprecation warning on the old path.
Errors are rendered as the app renders every error; the authentication, body-limit and response-format
middleware sit outside it, as around every route.

The two paths are declared to FastAPI too (`router`), for what reads the route table: the OpenAPI description,
the privilege table, and the answers about which methods a path allows. Their handlers are never reached.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from inferd.api.body import check_accept_header, read_json
from inferd.api.deprecation import warn
from inferd.api.errors import error_response, unexpected_error_response
from inferd.api.limits import RequestLimits, check_infer_documents, request_limits
from inferd.api.params import COMMON_PARAMETERS, unknown_parameters
from inferd.api.privileges import Privilege, require_privilege
from inferd.api.responses import FastJSONResponse
from inferd.errors import IllegalArgument, InferdError, ParseError, ValidationFailed
from inferd.units import parse_time_value

INFER_ACTION = "cluster:monitor/xpack/ml/inference/infer"
INFER_REQUIREMENT = require_privilege(Privilege.MONITOR_ML, INFER_ACTION)
INFER_PATH = re.compile(r"/_ml/trained_models/([^/]+)/(deployment/)?_infer")
PARAMETERS = frozenset({"timeout"}) | COMMON_PARAMETERS
DEFAULT_TIMEOUT = "10s"
DEPRECATED = (
    "[POST /_ml/trained_models/{model_id}/deployment/_infer] is deprecated! "
    "Use [POST /_ml/trained_models/{model_id}/_infer] instead."
)


class InferenceMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = INFER_PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        response: Response
        try:
            response = await infer(request, match.group(1), deprecated=match.group(2) is not None)
        except InferdError as error:
            response = error_response(request, error)
        except Exception as error:  # noqa: BLE001 - as the app's handler of last resort answers
            response = unexpected_error_response(request, error)
        await response(scope, receive, send)


async def infer(request: Request, model_id: str, *, deprecated: bool) -> FastJSONResponse:
    await check_accept_header(request)
    await INFER_REQUIREMENT(request)
    timeout = _timeout_parameter(request)
    body = await read_json(request)
    answer = await infer_documents(model_id, body, request.app.state.inferd.deployments, timeout,
                                   request_limits(request))
    if deprecated:
        warn(answer, DEPRECATED)
    return answer


def _timeout_parameter(request: Request) -> str | None:
    """The one parameter of the route (besides those every route takes); others are refused as Elasticsearch does."""
    pairs = parse_qsl(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    unknown = [name for name, _ in pairs if name not in PARAMETERS]
    if unknown:
        raise unknown_parameters(request.url.path, unknown, PARAMETERS)
    timeouts = [value for name, value in pairs if name == "timeout"]
    return timeouts[-1] if timeouts else None


async def infer_documents(
    model_id: str, body: Any, deployments: Any, timeout: str | None, limits: RequestLimits
) -> FastJSONResponse:
    timeout_text = timeout if timeout is not None else DEFAULT_TIMEOUT
    try:
        timeout_s = parse_time_value(timeout_text, "timeout")
    except ValueError as error:
        raise IllegalArgument(str(error)) from None
    if body is None:
        raise ValidationFailed(["[docs] must not be empty"])
    if not isinstance(body, dict):
        raise ParseError("[infer_trained_model] Expected START_OBJECT")
    for name in body:
        if name not in ("docs", "inference_config"):
            raise ParseError(f"[infer_trained_model] unknown field [{name}]")
    documents = body.get("docs")
    if not isinstance(documents, list) or not documents:
        raise ValidationFailed(["[docs] must not be empty"])
    update = body.get("inference_config")
    if update is not None and not isinstance(update, dict):
        raise ParseError("[infer_trained_model] failed to parse field [inference_config]")
    check_infer_documents(documents, limits, update)
    results = await deployments.infer(model_id, documents, update, max(timeout_s, 0.0), timeout_text)
    return FastJSONResponse({"inference_results": results})


router = APIRouter()


async def _answered_by_middleware(model_id: str, timeout: str | None = None) -> None:
    """The route's declaration: its path and query parameters, for the route table."""
    raise AssertionError("InferenceMiddleware answers every _infer request before FastAPI routes it")


router.add_api_route("/_ml/trained_models/{model_id}/_infer", _answered_by_middleware, methods=["POST"],
                     dependencies=[Depends(INFER_REQUIREMENT)], name="infer_trained_model",
                     summary="Infer with a deployed model (answered by the inference middleware).")
router.add_api_route("/_ml/trained_models/{model_id}/deployment/_infer", _answered_by_middleware, methods=["POST"],
                     dependencies=[Depends(INFER_REQUIREMENT)], name="infer_trained_model_deployment",
                     summary="Deprecated: infer with a deployed model (answered by the inference middleware).",
                     deprecated=True)
