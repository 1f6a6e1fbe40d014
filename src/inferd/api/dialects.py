"""The error shapes of the APIs inferd speaks besides Elasticsearch's: OpenAI's (`/v1/...`) and Hugging Face
text-embeddings-inference's (`/embed`, `/rerank`, `/embed_sparse`, `/info`). A path's dialect decides how every
failure on it is rendered (authentication, body limits, routing and the routes' own errors alike), and that
`Authorization: Bearer <encoded API key>` is accepted there, as those APIs' clients send it."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from fastapi.responses import JSONResponse

from inferd.errors import InferdError

OPENAI_PREFIX = "/v1/"
TEI_PATHS = frozenset({"/embed", "/rerank", "/embed_sparse", "/info"})


class Dialect(StrEnum):
    ELASTICSEARCH = "elasticsearch"
    OPENAI = "openai"
    TEI = "tei"


def dialect_of(path: str) -> Dialect:
    if path.startswith(OPENAI_PREFIX) or path == OPENAI_PREFIX.rstrip("/"):
        return Dialect.OPENAI
    if path in TEI_PATHS:
        return Dialect.TEI
    return Dialect.ELASTICSEARCH


class OpenAIError(InferdError):
    """A refusal in OpenAI's words: its `type`, the request `param` at fault, its `code`."""

    def __init__(self, message: str, *, status: int = 400, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code
        self.kind = kind


class TeiError(InferdError):
    """A refusal in TEI's words: its `error_type` (Validation, Tokenizer, Backend, Overloaded, Unhealthy, Empty)."""

    def __init__(self, message: str, *, status: int, error_type: str) -> None:
        super().__init__(message)
        self.status = status
        self.tei_type = error_type


_OPENAI_TYPES = {401: ("invalid_request_error", "invalid_api_key"), 403: ("invalid_request_error", "permission_denied"),
                 404: ("invalid_request_error", "model_not_found"), 429: ("requests", "rate_limit_exceeded")}
_TEI_TYPES = {413: "Validation", 422: "Tokenizer", 424: "Backend", 429: "Overloaded", 503: "Unhealthy"}


def openai_body(error: InferdError) -> dict[str, Any]:
    if isinstance(error, OpenAIError):
        return {"error": {"message": error.reason, "type": error.kind, "param": error.param, "code": error.code}}
    kind, code = _OPENAI_TYPES.get(error.status, ("invalid_request_error" if error.status < 500 else "server_error",
                                                 None))
    return {"error": {"message": error.reason, "type": kind, "param": None, "code": code}}


def tei_status(error: InferdError) -> int:
    """TEI answers a request it cannot take with 422 (axum's and its validation's), not 400."""
    if isinstance(error, TeiError) or error.status != 400:
        return error.status
    return 422


def tei_body(error: InferdError) -> dict[str, Any]:
    if isinstance(error, TeiError):
        return {"error": error.reason, "error_type": error.tei_type}
    status = tei_status(error)
    return {"error": error.reason, "error_type": _TEI_TYPES.get(status, "Validation" if status < 500 else "Backend")}


def dialect_response(dialect: Dialect, error: InferdError, headers: dict[str, str] | None = None) -> JSONResponse:
    if dialect is Dialect.OPENAI:
        return JSONResponse(openai_body(error), error.status, headers)
    return JSONResponse(tei_body(error), tei_status(error), headers)
