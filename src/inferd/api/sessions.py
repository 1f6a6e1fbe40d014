"""The console's session over HTTP: the cookie that carries its id, and the CSRF token state changes need.

The cookie is `HttpOnly` (no script can read it), `SameSite=Strict` (no other site's page makes the browser send
it), `Path=/` (the console calls the same REST routes as every other client), `Secure` over HTTPS, and expires
with the session. A request the cookie authenticates that may change something (any method but GET, HEAD and
OPTIONS) must also carry the session's CSRF token in `X-CSRF-Token`: the console got it from the sign-in answer,
which another site's script cannot read. A request with an `Authorization` header is authenticated by that
header alone, as before; the cookie is then ignored.
"""

from __future__ import annotations

import hmac

from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import Scope

from inferd.control.security import ConsoleSession
from inferd.errors import SecurityException

SESSION_COOKIE = "inferd_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONSOLE_SESSION = "inferd.console_session"
"""The ASGI scope key the authentication middleware stores the console session under."""


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def session_cookie(scope: Scope) -> str | None:
    """The session id the browser sent, if any."""
    header = _header(scope, b"cookie")
    if header is None:
        return None
    return cookie_parser(header.decode("latin-1")).get(SESSION_COOKIE) or None


def is_background(scope: Scope) -> bool:
    """A request the console made by itself, not the user: its live feed (an EventSource, `Accept:
    text/event-stream`) or a reload the feed prompted (`X-Inferd-Background`). It does not keep a session from
    going idle."""
    accept = _header(scope, b"accept") or b""
    return b"text/event-stream" in accept or _header(scope, b"x-inferd-background") is not None


def from_script(scope: Scope) -> bool:
    """A request a page's script made (fetch, EventSource), not a navigation: the console's own calls send
    `X-Requested-With`, and browsers mark script requests `Sec-Fetch-Dest: empty` (over HTTPS and on loopback)."""
    return _header(scope, b"x-requested-with") is not None or _header(scope, b"sec-fetch-dest") == b"empty" or (
        session_cookie(scope) is not None)


def without_basic_challenge(error: SecurityException) -> SecurityException:
    """The 401 for a script's request: a `Basic` challenge would make the browser open its own password dialog
    over the console's sign-in form, so only the `ApiKey` challenge stays."""
    challenges = [value for value in error.headers.get("WWW-Authenticate", []) if not value.startswith("Basic")]
    headers = {**error.headers, "WWW-Authenticate": challenges}
    return SecurityException(error.reason, status=error.status, headers=headers, metadata=error.metadata)


def csrf_refusal(scope: Scope, session: ConsoleSession) -> SecurityException | None:
    """Why a cookie-authenticated request may not go on, or None."""
    if scope["method"] in SAFE_METHODS:
        return None
    sent = _header(scope, CSRF_HEADER.lower().encode())
    if sent is not None and hmac.compare_digest(sent, session.csrf_token.encode()):
        return None
    return SecurityException(
        f"missing or wrong CSRF token for a console session: a request that may change something must send the "
        f"session's token in the [{CSRF_HEADER}] header", status=403)


def _secure(scope: Scope) -> bool:
    return bool(scope.get("scheme") == "https")


def set_session_cookie(response: Response, scope: Scope, session_id: str, max_age_s: int) -> None:
    response.set_cookie(SESSION_COOKIE, session_id, max_age=max_age_s, path="/", secure=_secure(scope),
                        httponly=True, samesite="strict")


def clear_session_cookie(response: Response, scope: Scope) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=_secure(scope), httponly=True, samesite="strict")
