"""Authenticate every request before routing, except the anonymous routes (health, readiness, the console's page
and its static assets).

Pure ASGI, like the other middleware: a request without valid credentials is answered 401 before the
router runs and before its body is read (Elasticsearch validates credentials on the headers). Credentials are
the `Authorization` header; without one, the web console's session cookie, with its CSRF token on a
state-changing request (`api/sessions.py`). Authorization is the routes' own dependency (`api/privileges.py`),
which finds the caller in the scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from inferd.api.authentication import Authenticator
from inferd.api.dialects import Dialect, dialect_of
from inferd.api.errors import security_error_response
from inferd.api.privileges import PRINCIPAL
from inferd.api.sessions import (
    CONSOLE_SESSION,
    csrf_refusal,
    from_script,
    is_background,
    session_cookie,
    without_basic_challenge,
)
from inferd.errors import SecurityException


@dataclass
class AuthenticatorSlot:
    """Filled by the app's lifespan once the store is open; empty while security is off."""

    authenticator: Authenticator | None = None


def request_uri(scope: Scope) -> str:
    """What Elasticsearch calls the request's uri: the raw path and query string."""
    path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    return str((path + (b"?" + query if query else b"")).decode("latin-1"))


class AuthenticationMiddleware:
    def __init__(self, app: ASGIApp, slot: AuthenticatorSlot, anonymous_paths: frozenset[str],
                 anonymous_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.slot = slot
        self.anonymous_paths = anonymous_paths
        self.anonymous_prefixes = anonymous_prefixes
        """Paths under these are anonymous (the console's static assets). A route that is not, under one, is still
        refused: its privilege dependency finds no caller and answers 401."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.anonymous_paths or (
                self.anonymous_prefixes and scope["path"].startswith(self.anonymous_prefixes)):
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                header = value
                break
        authenticator = self.slot.authenticator
        try:
            if authenticator is None:
                raise SecurityException("security is not ready", status=503)
            session_id = session_cookie(scope) if header is None else None
            if session_id is None:
                scope[PRINCIPAL] = await authenticator.authenticate(
                    header, lambda: request_uri(scope),
                    bearer_api_key=dialect_of(scope["path"]) is not Dialect.ELASTICSEARCH)
            else:
                session = await authenticator.authenticate_session(session_id, activity=not is_background(scope))
                refusal = csrf_refusal(scope, session)
                if refusal is not None:
                    raise refusal
                scope[PRINCIPAL] = session.principal
                scope[CONSOLE_SESSION] = session
        except SecurityException as error:
            if error.status == 401 and from_script(scope):
                error = without_basic_challenge(error)
            await security_error_response(error, scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, send)
