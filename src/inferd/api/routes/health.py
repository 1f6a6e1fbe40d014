"""Liveness and readiness for orchestrators and load balancers; anonymous by design."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from inferd.api.privileges import Privilege, require_privilege
from inferd.api.state import State

router = APIRouter(prefix="/_inferd")
ANONYMOUS = [Depends(require_privilege(Privilege.ANONYMOUS))]


# Both are `async` so they answer from the event loop even when every worker thread is busy.
@router.get("/health", dependencies=ANONYMOUS)
async def health() -> dict[str, str]:
    """The process answers HTTP."""
    return {"status": "ok"}


@router.get("/ready", dependencies=ANONYMOUS)
async def ready(state: State) -> JSONResponse:
    """True once the store is open and every deployment that should run is serving."""
    return JSONResponse({"ready": state.ready}, status_code=200 if state.ready else 503)
