"""Bound request bodies: each one (413, before and while it arrives) and all of them together (429).

The second bound is Elasticsearch's in-flight requests breaker: many large uploads at once must not add
up to more memory than the server may spend on bodies.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inferd.api.errors import error_body
from inferd.units import human_bytes
from inferd.errors import CircuitBreaking, RequestTooLarge


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"Request body is too large; the limit is [{limit}] bytes (max_content_length_bytes)")


def _breaker_tripped(would_be: int, limit: int) -> CircuitBreaking:
    return CircuitBreaking(
        f"[in_flight_requests] Data too large, data for [<http_request>] would be [{would_be}/{human_bytes(would_be)}], "
        f"which is larger than the limit of [{limit}/{human_bytes(limit)}]"
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, max_in_flight_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_in_flight_bytes = max_in_flight_bytes
        self.in_flight_bytes = 0  # bodies received by requests still running; touched only on the event loop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                size = len(message.get("body", b""))
                if received + size > self.max_bytes:
                    raise _too_large(self.max_bytes)  # rendered by the API's error handler
                if self.in_flight_bytes + size > self.max_in_flight_bytes:
                    raise _breaker_tripped(self.in_flight_bytes + size, self.max_in_flight_bytes)
                received += size
                self.in_flight_bytes += size
            return message

        try:
            await self.app(scope, counting_receive, send)
        finally:
            self.in_flight_bytes -= received

    async def _refuse(self, send: Send) -> None:
        error = _too_large(self.max_bytes)
        body = json.dumps(error_body(error)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": error.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
