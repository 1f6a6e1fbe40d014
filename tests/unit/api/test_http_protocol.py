"""The request head is bounded: a long request line or endless headers get Elasticsearch's 400, then a close.

And a response's head leaves with its body, in one write.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.config import Config
from uvicorn.server import ServerState

from inferd.api.http_protocol import bounded_http_protocol


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.written += data
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 9200), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


def exchange(*chunks: bytes, max_url_bytes: int = 256, max_header_bytes: int = 1024, asgi_app: Any = app
             ) -> FakeTransport:
    async def run() -> FakeTransport:
        protocol_class = bounded_http_protocol(max_url_bytes, max_header_bytes)
        config = Config(app=asgi_app, http=protocol_class, lifespan="off", log_level="critical")
        config.load()
        protocol = protocol_class(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
        transport = FakeTransport()
        protocol.connection_made(transport)
        for chunk in chunks:
            if transport.closed:
                break
            protocol.data_received(chunk)
            await asyncio.sleep(0.01)  # the app's task answers
        return transport

    return asyncio.run(run())


def status_and_body(transport: FakeTransport) -> tuple[int, bytes]:
    head, _, body = bytes(transport.written).partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_an_ordinary_request_is_answered() -> None:
    transport = exchange(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert status_and_body(transport) == (200, b"ok") and not transport.closed


def test_a_long_request_line_is_refused_and_the_connection_closed() -> None:
    transport = exchange(b"GET /_ml/trained_models?" + b"a" * 300 + b" HTTP/1.1\r\nhost: x\r\n\r\n")
    status, body = status_and_body(transport)
    error = json.loads(body)
    assert status == 400 and transport.closed
    assert error["status"] == 400
    assert error["error"]["type"] == "too_long_http_line_exception"
    assert error["error"]["reason"] == "An HTTP line is larger than 256 bytes."


def test_an_endless_header_is_refused_while_it_arrives() -> None:
    """The header never ends: the refusal comes once the head passes the limit, not when the header completes."""
    transport = exchange(b"GET / HTTP/1.1\r\nhost: x\r\nx-big: ", *([b"a" * 200] * 100))
    status, body = status_and_body(transport)
    assert status == 400 and transport.closed
    assert json.loads(body)["error"] == {
        "root_cause": [{"type": "too_long_http_header_exception", "reason": "HTTP header is larger than 1024 bytes."}],
        "type": "too_long_http_header_exception",
        "reason": "HTTP header is larger than 1024 bytes.",
    }


def test_many_small_headers_count_together() -> None:
    headers = b"".join(b"x-h%d: v\r\n" % i for i in range(300))
    transport = exchange(b"GET / HTTP/1.1\r\n" + headers + b"\r\n")
    assert status_and_body(transport)[0] == 400 and transport.closed


def test_the_limit_applies_to_each_request_of_a_connection() -> None:
    """Bodies never count against the head, and each keep-alive request starts a fresh count."""
    request = b"PUT / HTTP/1.1\r\nhost: x\r\ncontent-length: 2000\r\n\r\n" + b"b" * 2000
    transport = exchange(request, request, request)
    assert bytes(transport.written).count(b"200 OK") == 3 and not transport.closed


def test_the_head_leaves_with_the_body_in_one_write() -> None:
    """Written apart, a client would wake for the head alone and sleep again until the body arrived."""
    transport = exchange(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert len(transport.writes) == 2
    assert all(write.startswith(b"HTTP/1.1 200 OK\r\n") and write.endswith(b"\r\n\r\nok") for write in transport.writes)


def test_a_head_request_gets_its_head_though_no_body_follows() -> None:
    transport = exchange(b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n", b"GET / HTTP/1.1\r\nhost: x\r\n\r\n")
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and transport.writes[0].endswith(b"\r\n\r\n")
    assert transport.writes[1].endswith(b"\r\n\r\nok") and not transport.closed


def test_a_100_continue_is_not_held_back() -> None:
    """The client waits for it before sending the body: it must leave at once, before any response."""
    async def echo(scope: Any, receive: Any, send: Any) -> None:
        body = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(body))]})
        await send({"type": "http.response.body", "body": body})

    head = b"PUT / HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 4\r\n\r\n"
    transport = exchange(head, b"data", asgi_app=echo)
    assert transport.writes[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert transport.writes[1].startswith(b"HTTP/1.1 200 OK\r\n") and transport.writes[1].endswith(b"data")


def test_a_streamed_response_sends_each_chunk_as_it_comes() -> None:
    """Only the head waits, for the first chunk; later chunks are not held."""
    async def stream(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"one", "more_body": True})
        await send({"type": "http.response.body", "body": b"two", "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    transport = exchange(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", asgi_app=stream)
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and transport.writes[0].endswith(b"\r\n\r\n3\r\none\r\n")
    assert transport.writes[1:] == [b"3\r\ntwo\r\n", b"0\r\n\r\n"]


def test_a_response_that_fails_after_its_head_still_writes_the_head_before_closing() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        raise RuntimeError("the app failed mid-response")

    transport = exchange(b"GET / HTTP/1.1\r\nhost: x\r\n\r\n", asgi_app=broken)
    assert transport.closed and transport.writes == [transport.writes[0]]
    assert transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and transport.writes[0].endswith(b"\r\n\r\n")
