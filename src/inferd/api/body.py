"""Reading request bodies: JSON media types (including `compatible-with=8|9`), parse errors, strict schemas."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from inferd.api.limits import RequestLimits, check_json_shape, request_limits
from inferd.api.suggestions import did_you_mean
from inferd.errors import (
    BodyUnreadable,
    IllegalArgument,
    InferdError,
    MediaTypeHeaderInvalid,
    MediaTypeNotSupported,
    ParseError,
)

Model = TypeVar("Model", bound=BaseModel)

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


def parse_body(model: type[Model], data: Any | None, parser: str) -> Model:
    """Validate `data` against a strict schema, answering as Elasticsearch's ObjectParser named `parser` does."""
    if data is None:
        raise BodyUnreadable("request body is required")
    if not isinstance(data, dict):
        raise ParseError(f"[{parser}] Expected START_OBJECT but found [{type(data).__name__}]")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise describe_validation_error(error, model, parser) from None


def describe_validation_error(error: ValidationError, model: type[BaseModel], parser: str) -> InferdError:
    first = error.errors()[0]
    path = [str(part) for part in first["loc"] if not isinstance(part, int)]
    field = path[-1] if path else parser
    owner = path[-2] if len(path) > 1 else parser
    kind = first["type"]
    cause: InferdError
    if kind == "extra_forbidden":
        hint = did_you_mean(field, model.model_fields) if len(path) == 1 else ""
        cause = ParseError(f"[{owner}] unknown field [{field}]" + (f" {hint}" if hint else ""))
    elif kind == "missing":
        cause = ParseError(f"[{owner}] Required [{field}]")
    elif kind == "value_error":
        cause = IllegalArgument(str(first["ctx"]["error"]))
    else:
        cause = ParseError(f"[{owner}] failed to parse field [{field}]: {first['msg']}")
    if not path or (len(path) == 1 and kind in ("extra_forbidden", "missing")):
        return cause
    # Errors in a field's value are wrapped by the top-level parser, as Elasticsearch's ObjectParser does.
    return ParseError(f"[{parser}] failed to parse field [{path[0]}]", caused_by=cause)
