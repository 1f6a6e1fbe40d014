"""The web console: its page and assets (anonymous: they hold no data), its session, and its live feed.

Everything the console shows or changes goes through the same REST routes as any client, with the session
cookie instead of an `Authorization` header (`api/sessions.py`), so every privilege is the route's own. The
session answer says, for every route, whether this caller may call it and, if not, Elasticsearch's reason:
the console disables what the caller may not do and shows why.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from functools import cache
from hashlib import sha256
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from inferd.api.errors import api_routes
from inferd.api.http_protocol import SERVER_STOPPING
from inferd.api.privileges import Privilege, action_denied, caller, require_privilege, route_requirement
from inferd.api.schemas.security import render_authenticate
from inferd.api.sessions import (
    CONSOLE_SESSION,
    CSRF_HEADER,
    SESSION_COOKIE,
    clear_session_cookie,
    set_session_cookie,
)
from inferd.api.state import State
from inferd.console import PAGE, STATIC_DIR
from inferd.control.security import ConsoleSession, Principal, SessionRefused
from inferd.errors import BadRequest, ResourceNotFound, SecurityException

PREFIX = "/_inferd/console"
PAGE_PATH = f"{PREFIX}/"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
Caller = Annotated[Principal | None, Depends(caller)]

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""No inline script or style, no eval (Alpine's CSP build), nothing from another origin, never framed."""
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
ASSET_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
               ".md": "text/plain", "": "text/plain"}
"""What the console serves, by suffix (`LICENSE` files have none); anything else is not found."""
ANONYMOUS = [Depends(require_privilege(Privilege.ANONYMOUS))]
STATIC_ROOT, PAGE_FILE = STATIC_DIR.resolve(), PAGE.resolve()


@router.get("", dependencies=ANONYMOUS)
async def console_root() -> RedirectResponse:
    return RedirectResponse(PAGE_PATH, status_code=307)


@router.get("/", dependencies=ANONYMOUS)
async def console_page(request: Request) -> Response:
    """The one page: it signs in, then draws every screen from the REST API."""
    return _file_response(request, PAGE_FILE, "text/html; charset=utf-8")


@router.get("/assets/{name:path}", dependencies=ANONYMOUS)
async def console_asset(name: str, request: Request) -> Response:
    path = (STATIC_ROOT / name).resolve()
    content_type = ASSET_TYPES.get(path.suffix)
    if content_type is None or not path.is_relative_to(STATIC_ROOT) or path == PAGE_FILE or not path.is_file():
        raise ResourceNotFound(f"no console asset [{name}]")
    charset = "; charset=utf-8" if content_type.startswith("text/") else ""
    return _file_response(request, path, content_type + charset)


@cache
def _read(path: Path) -> tuple[bytes, str]:
    """A packaged file and its entity tag: the files do not change while the server runs."""
    body = path.read_bytes()
    return body, f'"{sha256(body).hexdigest()[:32]}"'


def _file_response(request: Request, path: Path, content_type: str) -> Response:
    body, etag = _read(path)
    headers = {**PAGE_HEADERS, "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=content_type, headers=headers)


# --- the session ---------------------------------------------------------------------------------

SESSION = [Depends(require_privilege(Privilege.AUTHENTICATED, "cluster:admin/inferd/console/session"))]


def _privileges(request: Request, principal: Principal | None) -> dict[str, dict[str, Any]]:
    """For every route: may this caller call it, and if not, why (Elasticsearch's 403 reason)."""
    answer: dict[str, dict[str, Any]] = {}
    for route in api_routes(request.app):
        requirement = route_requirement(route)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            allowed = (principal is None or requirement.privilege in (Privilege.ANONYMOUS, Privilege.AUTHENTICATED)
                       or not requirement.granted_by.isdisjoint(principal.privileges))
            entry: dict[str, Any] = {"allowed": allowed}
            if not allowed:
                assert principal is not None and requirement.action is not None
                entry["reason"] = action_denied(principal, requirement.action).reason
            answer[f"{method} {route.path}"] = entry
    return answer


def _describe(request: Request, state: State, principal: Principal | None,
              session: ConsoleSession | None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "security_enabled": principal is not None,
        "user": None if principal is None else render_authenticate(principal),
        "session": None,
        "privileges": _privileges(request, principal),
        "csrf_header": CSRF_HEADER,
    }
    if session is not None:
        answer["session"] = {
            "csrf_token": session.csrf_token,
            "created": session.created_ms,
            "expires": session.expires_ms,
            "idle_timeout_ms": state.sessions.idle_timeout_ms,
        }
    return answer


NO_STORE = {"Cache-Control": "no-store"}


@router.post("/session", dependencies=SESSION)
async def sign_in(request: Request, response: Response, state: State, principal: Caller) -> dict[str, Any]:
    """Open a session for the credentials in the `Authorization` header (verified by the authentication
    middleware, as for any request): the answer sets the session cookie and carries the CSRF token."""
    if request.scope.get(CONSOLE_SESSION) is not None:
        raise BadRequest("sign in with an API key or a user name and password in the [Authorization] header, not "
                         "with a session")
    response.headers.update(NO_STORE)
    if principal is None:  # security is off: there is nobody to sign in
        return _describe(request, state, None, None)
    try:
        session_id, session = await run_in_threadpool(state.sessions.open, principal)
    except SessionRefused as refused:
        raise SecurityException(str(refused), status=401) from None
    max_age_s = max(1, (session.expires_ms - state.clock.now_ms()) // 1000)
    set_session_cookie(response, request.scope, session_id, max_age_s)
    return _describe(request, state, principal, session)


@router.get("/session", dependencies=SESSION)
async def get_session(request: Request, response: Response, state: State, principal: Caller) -> dict[str, Any]:
    """Who the console runs as, what it may do, and (with a session) its CSRF token: a reloaded page signs
    in again from here without asking."""
    response.headers.update(NO_STORE)
    return _describe(request, state, principal, request.scope.get(CONSOLE_SESSION))


@router.delete("/session", dependencies=SESSION)
async def sign_out(request: Request, response: Response, state: State) -> dict[str, bool]:
    """End the session the cookie names (with its CSRF token, like any change) and drop the cookie."""
    session_id = request.cookies.get(SESSION_COOKIE) if request.scope.get(CONSOLE_SESSION) else None
    clear_session_cookie(response, request.scope)
    return {"signed_out": session_id is not None and state.sessions.close(session_id)}


# --- the live feed -------------------------------------------------------------------------------

LIVE = [Depends(require_privilege(Privilege.MONITOR_ML, "cluster:monitor/inferd/console/live"))]
RETRY_MS = 3000


@router.get("/live", dependencies=LIVE)
async def live(request: Request, state: State,
               samples: Annotated[int | None, Query(ge=1, le=3600)] = None) -> StreamingResponse:
    """Server-Sent Events: a sample of every deployment each second (`api/schemas/live.py`), until the client
    leaves, its session ends, the server stops, or `samples` have been sent."""
    session: ConsoleSession | None = request.scope.get(CONSOLE_SESSION)

    async def events() -> AsyncIterator[bytes]:
        yield f"retry: {RETRY_MS}\n\n".encode()
        sent = 0
        async with aclosing(state.live.samples()) as feed:
            async for sample in feed:
                if request.scope.get(SERVER_STOPPING):
                    return
                if session is not None and not state.sessions.alive(session):
                    yield b"event: signed_out\ndata: {}\n\n"
                    return
                yield b"event: sample\ndata: " + json.dumps(sample).encode() + b"\n\n"
                sent += 1
                if samples is not None and sent >= samples:
                    return

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
