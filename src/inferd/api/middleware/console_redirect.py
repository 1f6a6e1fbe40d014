"""`GET /` from a browser goes to the web console; every other client keeps Elasticsearch's root answer.

A browser's navigation asks for `text/html`; elasticsearch-py and eland ask for JSON, curl for anything, and get
the cluster information as before. The redirect carries nothing and needs no credentials (the console's page
signs in by itself).
"""

from __future__ import annotations

from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def wants_html(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"accept":
            return b"text/html" in value
    return False


class ConsoleRedirectMiddleware:
    def __init__(self, app: ASGIApp, page: str) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/" and scope["method"] == "GET" and wants_html(scope):
            await RedirectResponse(self.page, status_code=302)(scope, receive, send)
            return
        await self.app(scope, receive, send)
