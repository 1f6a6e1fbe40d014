"""The OpenAPI description and its Swagger page, behind the same privilege as the rest of inferd's reads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from inferd.api.privileges import Privilege, require_privilege

router = APIRouter(prefix="/_inferd", include_in_schema=False)
OPENAPI_PATH = "/_inferd/openapi.json"


@router.get("/openapi.json", dependencies=[Depends(require_privilege(Privilege.MONITOR_ML,
                                                                      "cluster:monitor/inferd/openapi/get"))])
async def get_openapi(request: Request) -> dict[str, Any]:
    return request.app.openapi()  # type: ignore[no-any-return]


@router.get("/docs", dependencies=[Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/inferd/docs/get"))])
async def get_docs() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=OPENAPI_PATH, title="inferd")
