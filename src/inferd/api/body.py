"""Reading request bodies: JSON media types (including `compatible-with=8|9`), parse errors, bounded JSON.

A body is then checked against its typed model by `control/request_body.py`'s `parse_body`.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from inferd.api.limits import RequestLimits, check_json_shape, request_limits
from inferd.errors import InferdError, MediaTypeHeaderInvalid, MediaTypeNotSupported, ParseError

JSON_MEDIA_TYPES = frozenset({"application/json", "application/vnd.elasticsearch+json"})
COMPATIBLE_VERSIONS = ("9", "8")


def _compatible_version(header: str, value: str | None) -> None:
    """Elasticsearch 9 serves `compatible-with` 9 and 8 only; anything else is refused naming the header."""
    for parameter in (value or "").split(";")[1:]:
        name, _, version = parameter.partition("=")
        version = version.strip()
        if name.strip().lower() == "compatible-with" and version not in COMPATIBLE_VERSIONS:
            cause = InferdError(
                f"{header} version must be either version {' or '.join(COMPATIBLE_VERSIONS)}, but found {version}. "
                f"{header}={value}"
            )
            raise MediaTypeHeaderInvalid("Invalid media-type value on headers [Accept, Content-Type]", caused_by=cause)


async def check_accept_header(request: Request) -> None:
    """Every route: a `compatible-with` Accept header must name a version this server speaks."""
    _compatible_version("Accept", request.headers.get("accept"))


def check_content_type(request: Request) -> None:
    content_type = request.headers.get("content-type")
    if content_type is None:
        raise MediaTypeNotSupported("Content-Type header is missing")
    if content_type.split(";")[0].strip().lower() not in JSON_MEDIA_TYPES:
        raise MediaTypeNotSupported(f"Content-Type header [{content_type}] is not supported")
    _compatible_version("Content-Type", content_type)


INLINE_PARSE_BYTES = 64 * 1024
"""Bodies up to this size are parsed on the event loop (well under a millisecond)."""


async def read_json(request: Request) -> Any | None:
    """The parsed body, or None when there is none."""
    raw = await request.body()
    if raw:
        check_content_type(request)
    if not raw.strip():
        return None
    limits = request_limits(request)
    if len(raw) <= INLINE_PARSE_BYTES:  # a thread hand-off costs more than parsing a small body
        return parse_json(raw, limits)
    return await run_in_threadpool(parse_json, raw, limits)  # a large body must not stall the event loop


def _refuse_constant(name: str) -> None:
    raise ParseError(f"[{name}] is not a number JSON allows")


DEFAULT_LIMITS = RequestLimits()


def parse_json(raw: bytes, limits: RequestLimits = DEFAULT_LIMITS) -> Any:
    """Strict JSON: no NaN or Infinity, bounded nesting and number of values."""
    check_json_shape(raw, limits)
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise ParseError("[1:1] Invalid UTF-8 in the request body") from None
    except json.JSONDecodeError as error:
        raise ParseError(f"[{error.lineno}:{error.colno}] {error.msg}") from None
    except RecursionError:
        raise ParseError("the request body is nested too deeply") from None


JsonBody = Annotated[Any, Depends(read_json)]
