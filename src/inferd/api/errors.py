"""Renders every failure in Elasticsearch's error shape; the only place errors become HTTP responses."""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from inferd.api.dialects import Dialect, dialect_of, dialect_response
from inferd.errors import IllegalArgument, InferdError, MethodNotAllowed, SecurityException

logger = logging.getLogger(__name__)


def _cause(error: InferdError) -> dict[str, Any]:
    cause: dict[str, Any] = {"type": error.error_type, "reason": error.reason}
    if error.caused_by is not None:
        cause["caused_by"] = _cause(error.caused_by)
    return cause


def _extras(error: InferdError) -> dict[str, Any]:
    """An exception's metadata (and a security exception's headers), rendered as Elasticsearch renders them on every
    cause."""
    extras: dict[str, Any] = dict(error.metadata)
    if isinstance(error, SecurityException) and error.headers:
        extras["header"] = {name: values[0] if len(values) == 1 else values for name, values in error.headers.items()}
    return extras


def error_body(error: InferdError, stack_trace: str | None = None) -> dict[str, Any]:
    """Elasticsearch's shape: the root cause is the top-level error, its causes nest under `caused_by`."""
    body = {**_cause(error), **_extras(error)}
    body = {"root_cause": [{"type": error.error_type, "reason": error.reason, **_extras(error)}], **body}
    if stack_trace is not None:
        body["stack_trace"] = stack_trace
    return {"error": body, "status": error.status}


def error_response(request: Request, error: InferdError, headers: dict[str, str] | None = None) -> JSONResponse:
    if isinstance(error, SecurityException):
        return security_error_response(error, request.url.path)
    dialect = dialect_of(request.url.path)
    if dialect is not Dialect.ELASTICSEARCH:
        return dialect_response(dialect, error, headers)
    trace = None
    if request.query_params.get("error_trace") in ("", "true"):
        trace = "".join(traceback.format_exception(error))
    all_headers = {"X-Elastic-Product": "Elasticsearch", **(headers or {})}
    return JSONResponse(error_body(error, trace), error.status, all_headers)


def security_error_response(error: SecurityException, path: str = "") -> JSONResponse:
    """401/403 with the exception's headers as HTTP headers too (`WWW-Authenticate` once per challenge); in the
    path's own dialect on the OpenAI and TEI routes."""
    dialect = dialect_of(path)
    if dialect is Dialect.ELASTICSEARCH:
        response = JSONResponse(error_body(error), error.status, {"X-Elastic-Product": "Elasticsearch"})
    else:
        response = dialect_response(dialect, error)
    for name, values in error.headers.items():
        response.raw_headers.extend((name.lower().encode("latin-1"), value.encode("latin-1")) for value in values)
    return response


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route, flattened (FastAPI wraps included routers)."""
    routes: list[APIRoute] = app.state.api_routes
    return routes


# Elasticsearch lists allowed methods in the order of its RestRequest.Method enum.
METHOD_ORDER = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE", "CONNECT")


def _allowed_methods(app: FastAPI, request: Request) -> list[str]:
    methods: set[str] = set()
    for route in api_routes(app):
        match, _ = route.matches({**request.scope, "method": "__none__"})
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return [method for method in METHOD_ORDER if method in methods]


def _validation_reason(error: RequestValidationError) -> str:
    """Describe FastAPI's parameter errors the way Elasticsearch's parameter parsing does."""
    first = error.errors()[0]
    location, name = first["loc"][0], first["loc"][-1]
    value = first.get("input")
    cause = first.get("ctx", {}).get("error")
    if isinstance(cause, ValueError):
        return str(cause)
    if first["type"].startswith("int"):
        return f"Failed to parse int parameter [{name}] with value [{value}]"
    return f"Failed to parse {location} parameter [{name}] with value [{value}]: {first['msg']}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(InferdError)
    async def _inferd_error(request: Request, error: InferdError) -> JSONResponse:
        return error_response(request, error)

    @app.exception_handler(RequestValidationError)
    async def _parameter_error(request: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(request, IllegalArgument(_validation_reason(error)))

    @app.exception_handler(StarletteHTTPException)
    async def _routing_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        uri, method = request.url.path, request.method
        if request.url.query:
            uri = f"{uri}?{request.url.query}"
        if error.status_code == 405:
            allowed = _allowed_methods(app, request)
            reason = f"Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{', '.join(allowed)}]"
            return error_response(request, MethodNotAllowed(reason), {"Allow": ",".join(allowed)})
        if error.status_code == 404:
            return error_response(request, IllegalArgument(f"no handler found for uri [{uri}] and method [{method}]"))
        failure = InferdError(str(error.detail))
        failure.status = error.status_code
        return error_response(request, failure, dict(error.headers or {}))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        return unexpected_error_response(request, error)


def unexpected_error_response(request: Request, error: Exception) -> JSONResponse:
    """A bug answers 500 in Elasticsearch's shape, named after the exception, and is logged with its trace."""
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    failure = InferdError(f"{type(error).__name__}: {error}")
    failure.error_type = _snake_case(type(error).__name__)
    return error_response(request, failure)
