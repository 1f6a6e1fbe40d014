"""Authenticate every request before routing, except the anonymous routes (health and readiness).

Pure ASGI, like the other middleware: a request without valid credentials is answered 401 before the
router runs and before its body is read (Elasticsearch validates credentials on the headers). Authorization
is the routes' own dependency (`api/privileges.py`), which finds the caller in the scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from inferd.api.authentication import Authenticator
from inferd.api.dialects import Dialect, dialect_of
from inferd.api.errors import security_error_response
from inferd.api.privileges import PRINCIPAL
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
    def __init__(self, app: ASGIApp, slot: AuthenticatorSlot, anonymous_paths: frozenset[str]) -> None:
        self.app = app
        self.slot = slot
        self.anonymous_paths = anonymous_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.anonymous_paths:
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
            scope[PRINCIPAL] = await authenticator.authenticate(
                header, lambda: request_uri(scope), bearer_api_key=dialect_of(scope["path"]) is not Dialect.ELASTICSEARCH)
        except SecurityException as error:
            await security_error_response(error, scope["path"])(scope, receive, send)
            return
        await self.app(scope, receive, send)
