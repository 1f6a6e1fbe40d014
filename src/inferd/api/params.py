"""Query parameters the Elasticsearch way: `?flag` means true, strict booleans, unknown names refused."""

from __future__ import annotations

from typing import Annotated

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BeforeValidator

from inferd.suggestions import did_you_mean
from inferd.errors import IllegalArgument

# Accepted on every route (elasticsearch-py sends them for every API).
COMMON_PARAMETERS = frozenset({"pretty", "human", "error_trace", "filter_path"})


def parse_es_bool(value: object) -> object:
    """Elasticsearch's Booleans.parseBoolean: only `true`/`false`, and a bare `?flag` is true."""
    if isinstance(value, bool):
        return value
    if value in ("", "true"):
        return True
    if value == "false":
        return False
    raise ValueError(f"Failed to parse value [{value}] as only [true] or [false] are allowed.")


EsBool = Annotated[bool, BeforeValidator(parse_es_bool)]


def is_true(request: Request, name: str) -> bool:
    """For the common flags that middleware reads straight from the query string."""
    value = request.query_params.get(name)
    return value is not None and parse_es_bool(value) is True


def _query_parameters(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_parameters(sub)
    return names


def _route_parameters(route: APIRoute) -> frozenset[str]:
    cached: frozenset[str] | None = getattr(route, "_inferd_parameters", None)
    if cached is None:
        cached = frozenset(_query_parameters(route.dependant)) | COMMON_PARAMETERS
        route._inferd_parameters = cached  # type: ignore[attr-defined]
    return cached


async def reject_unknown_parameters(request: Request) -> None:
    """Refuse query parameters the route does not declare, naming them as Elasticsearch does."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known = _route_parameters(route)
    unknown = [name for name in request.query_params if name not in known]
    if unknown:
        raise unknown_parameters(request.url.path, unknown, known)


def unknown_parameters(path: str, unknown: list[str], known: frozenset[str]) -> IllegalArgument:
    """Elasticsearch's refusal of query parameters a route does not take, with a suggestion for each."""
    described = []
    for name in sorted(set(unknown)):
        hint = did_you_mean(name, known - COMMON_PARAMETERS)
        described.append(f"[{name}]" + (f" -> {hint}" if hint else ""))
    plural = "s" if len(described) > 1 else ""
    return IllegalArgument(f"request [{path}] contains unrecognized parameter{plural}: {', '.join(described)}")
