"""`?pretty` and `?filter_path` on every JSON response, errors included."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inferd.api.filter_path import apply_filter_path


def render_json(document: Any, pretty: bool) -> bytes:
    """Compact JSON, or Elasticsearch's pretty form (two-space indent, `" : "` between key and value)."""
    if pretty:
        return (json.dumps(document, indent=2, separators=(",", " : "), ensure_ascii=False) + "\n").encode()
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


class ResponseFormatMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True))
        pretty = query.get("pretty") in ("", "true")
        filter_path = query.get("filter_path")
        if not pretty and not filter_path:
            await self.app(scope, receive, send)
            return

        start: Message | None = None
        chunks: list[bytes] = []

        async def buffering_send(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            headers = [(name, value) for name, value in start.get("headers", []) if name.lower() != b"content-length"]
            content_type = next((value for name, value in headers if name.lower() == b"content-type"), b"")
            body = b"".join(chunks)
            if content_type.startswith(b"application/json") and body:
                document = json.loads(body)
                if filter_path:
                    document = apply_filter_path(document, filter_path)
                body = render_json(document, pretty)
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, buffering_send)
