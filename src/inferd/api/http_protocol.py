"""uvicorn's httptools protocol with Elasticsearch's bounds on the request head.

httptools (llhttp) accepts a request line and headers of any length, and buffers a header until it ends, so a
client could hold a connection open sending one endless header. This protocol counts the bytes of each request
head as they arrive and answers as Elasticsearch (Netty) does: 400 `too_long_http_line_exception` for a request
line longer than `max_url_bytes` (http.max_initial_line_length), 400 `too_long_http_header_exception` for a head
longer than `max_header_bytes` (http.max_header_size) beyond it; then it closes the connection.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle

from inferd.api.errors import error_body
from inferd.errors import BadRequest


SERVER_STOPPING = "inferd.server_stopping"
"""Set in the scope of a request still running when the server begins to stop: a response that streams until the
client leaves (the console's live feed) ends itself instead of holding the shutdown for its grace period."""


class TooLongHttpLine(BadRequest):
    error_type = "too_long_http_line_exception"


class TooLongHttpHeader(BadRequest):
    error_type = "too_long_http_header_exception"


class _HeadRefused(Exception):
    """Raised in a parser callback to stop parsing; httptools re-raises it wrapped from `feed_data`."""


class _HeadJoinsBody:
    """A response cycle's transport that holds the status line and headers until the first body write.

    uvicorn writes a response's head and its body apart; with TCP_NODELAY they leave as two segments, and a
    client wakes for the head, parses it, and sleeps again until the body arrives: a wake and two system
    calls more per answer, which a low-load `_infer` feels. Joined, they leave together. A `100 Continue`
    (written before the response starts) passes at once, so does the head of a HEAD request (uvicorn writes
    no body for it), and closing writes a head still held.
    """

    def __init__(self, transport: asyncio.Transport, cycle: RequestResponseCycle) -> None:
        self._transport = transport
        self._cycle = cycle
        self._head: bytes | None = None
        self._head_written = False

    def write(self, data: bytes) -> None:
        if not self._head_written and self._cycle.response_started:
            self._head_written = True
            if self._cycle.scope["method"] != "HEAD":
                self._head = data
                return
        if self._head is not None:
            data, self._head = self._head + data, None
        self._transport.write(data)

    def close(self) -> None:
        if self._head is not None:
            self._transport.write(self._head)
            self._head = None
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    max_url_bytes = 4096
    max_header_bytes = 16384

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0  # raw bytes received while the head is incomplete: bounds a header that never ends
        self._header_bytes = 0  # the complete headers' bytes
        self._in_head = True
        self._refusal: BadRequest | None = None

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # answered and closing
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._refusal is None and self._in_head and self._head_bytes > self.max_url_bytes + self.max_header_bytes:
            self._refusal = self._header_refusal()
            self.send_400_response("")

    def _header_refusal(self) -> BadRequest:
        return TooLongHttpHeader(f"HTTP header is larger than {self.max_header_bytes} bytes.")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url_bytes:
            self._refusal = TooLongHttpLine(f"An HTTP line is larger than {self.max_url_bytes} bytes.")
            raise _HeadRefused

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._header_bytes += len(name) + len(value) + 4  # "name: value\r\n"
        if self._header_bytes > self.max_header_bytes:
            self._refusal = self._header_refusal()
            raise _HeadRefused

    def on_headers_complete(self) -> None:
        self._in_head = False
        previous = self.cycle
        super().on_headers_complete()
        if self.cycle is not previous:  # a new request's cycle (none is made for an upgrade)
            self.cycle.transport = _HeadJoinsBody(self.transport, self.cycle)  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def shutdown(self) -> None:
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.scope[SERVER_STOPPING] = True  # type: ignore[literal-required]
        elif self.transport.get_extra_info("sslcontext") is not None and not self.transport.get_write_buffer_size():
            # An idle TLS connection with nothing left to send. Closing it sends TLS's close_notify and waits for the
            # client's, which a pooled idle connection never sends (nobody reads it): asyncio waits out its
            # 30 s SSL shutdown timeout, and every stop with a client connected took the whole grace period.
            self.transport.abort()
            return
        super().shutdown()

    def send_400_response(self, msg: str) -> None:
        if self._refusal is None:
            super().send_400_response(msg)
            return
        self.logger.warning("refused a request head: %s", self._refusal.reason)
        body = json.dumps(error_body(self._refusal)).encode()
        head = (
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nx-elastic-product: Elasticsearch\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head + body)
        self.transport.close()


def bounded_http_protocol(max_url_bytes: int, max_header_bytes: int) -> type[BoundedHttpToolsProtocol]:
    """The protocol class to hand uvicorn (`http=`), with the server's limits."""
    return type(
        "BoundedHttpToolsProtocol",
        (BoundedHttpToolsProtocol,),
        {"max_url_bytes": max_url_bytes, "max_header_bytes": max_header_bytes},
    )
