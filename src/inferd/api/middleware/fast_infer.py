"""The `_infer` hot path without FastAPI's routing, exception and dependency layers.

At one connection those layers cost more of an `_infer` request's server time than inferd's own work
(py-spy of bench/latency.py: routing and `solve_dependencies` about 60% of the request's event-loop
time). For the plain form of `POST /_ml/trained_models/{model_id}/_infer` (no query parameter but
`timeout`), this middleware runs the route's own steps with the route's own functions, in its order:
the Accept header, the privilege, the bounded JSON body, `infer_documents`; errors are answered by the
app's own rendering. It sits inside the authentication, body-limit and response-format middleware, so
those apply as to every route. Any other request, or a form it does not recognise, goes to FastAPI.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from inferd.api.body import check_accept_header, read_json
from inferd.api.errors import error_response, unexpected_error_response
from inferd.api.limits import request_limits
from inferd.api.routes.deployments import INFER_REQUIREMENT, infer_documents
from inferd.errors import InferdError

INFER_PATH = re.compile(r"/_ml/trained_models/([^/]+)/_infer")


def plain_timeout(query_string: bytes) -> tuple[bool, str | None]:
    """(True, the timeout or None) when the query holds nothing but at most one `timeout`; (False, None) else."""
    if not query_string:
        return True, None
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    if len(pairs) == 1 and pairs[0][0] == "timeout":
        return True, pairs[0][1]
    return False, None


class FastInferMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = INFER_PATH.fullmatch(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        plain, timeout = plain_timeout(scope.get("query_string", b"")) if match else (False, None)
        if match is None or not plain:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            await check_accept_header(request)
            await INFER_REQUIREMENT(request)
            body = await read_json(request)
            deployments = request.app.state.inferd.deployments
            response = await infer_documents(match.group(1), body, deployments, timeout, request_limits(request))
        except InferdError as error:
            response = error_response(request, error)
        except Exception as error:  # noqa: BLE001 - as the app's handler of last resort answers
            response = unexpected_error_response(request, error)
        await response(scope, receive, send)
