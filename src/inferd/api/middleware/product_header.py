"""`X-Elastic-Product: Elasticsearch` on every response: elasticsearch-py refuses servers without it."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PRODUCT_HEADER = (b"x-elastic-product", b"Elasticsearch")


class ProductHeaderMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if all(name.lower() != PRODUCT_HEADER[0] for name, _ in headers):
                    headers.append(PRODUCT_HEADER)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
