"""The errors inferd raises, each carrying Elasticsearch's error `type` and HTTP status.

Only `api/errors.py` turns them into HTTP responses; everything below the API raises these.

    InferdError                      500 status_exception (the base)
    ├── BadRequest                   400 status_exception
    │   ├── IllegalArgument          400 illegal_argument_exception
    │   ├── ValidationFailed         400 action_request_validation_exception ("Validation Failed: 1: ...;")
    │   │   └── SettingsInvalid      400 validation_exception (the same text, from a transport action)
    │   ├── ParseError               400 x_content_parse_exception
    │   ├── ElasticsearchParseError  400 parse_exception (an ingest processor's configuration)
    │   ├── BodyUnreadable           400 parse_exception (missing body)
    │   ├── MediaTypeHeaderInvalid   400 media_type_header_exception
    │   └── ResourceAlreadyExists    400 resource_already_exists_exception
    ├── ResourceNotFound             404 resource_not_found_exception
    ├── NotFound                     404 status_exception (e.g. an unknown model alias)
    ├── MethodNotAllowed             405 illegal_argument_exception
    ├── MediaTypeNotSupported        406 media_type_header_exception
    ├── RequestTimeout               408 status_exception (waiting for a deployment or an inference)
    ├── StatusConflict               409 status_exception
    ├── TooManyRequests              429 status_exception
    ├── QueueFull                    429 es_rejected_execution_exception (a deployment's queue)
    ├── CircuitBreaking              429 circuit_breaking_exception (request bodies in flight)
    ├── RequestTooLarge              413 content_too_long_exception
    ├── SecurityException            401 or 403 security_exception (credentials missing or refused; not allowed)
    ├── StoreBusy                    503 status_exception (the data dir is held by another server)
    ├── WorkerDied                   500 status_exception (the worker process running a request exited)
    └── InferenceFailed              the status and type a worker reported for one request
"""

from __future__ import annotations

from collections.abc import Sequence


class InferdError(Exception):
    """An error with the Elasticsearch `type` and status it is answered with."""

    status: int = 500
    error_type: str = "status_exception"

    def __init__(self, reason: str, *, caused_by: InferdError | None = None,
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.caused_by = caused_by
        self.metadata = metadata or {}
        """Extra fields Elasticsearch renders beside `reason` (a processor's type and tag, a property's name)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.error_type}: {self.reason!r})"


class BadRequest(InferdError):
    status = 400
    error_type = "status_exception"


class IllegalArgument(BadRequest):
    error_type = "illegal_argument_exception"


class ValidationFailed(BadRequest):
    """Elasticsearch's ActionRequestValidationException: every failed check, numbered."""

    error_type = "action_request_validation_exception"

    def __init__(self, messages: Sequence[str]) -> None:
        self.messages = list(messages)
        numbered = "".join(f"{i}: {message};" for i, message in enumerate(self.messages, 1))
        super().__init__(f"Validation Failed: {numbered}")


class SettingsInvalid(ValidationFailed):
    error_type = "validation_exception"


class ParseError(BadRequest):
    error_type = "x_content_parse_exception"


class BodyUnreadable(BadRequest):
    error_type = "parse_exception"


class MediaTypeHeaderInvalid(BadRequest):
    error_type = "media_type_header_exception"


class ElasticsearchParseError(BadRequest):
    """Elasticsearch's ElasticsearchParseException (a processor's configuration), with its metadata."""

    error_type = "parse_exception"


class ResourceAlreadyExists(BadRequest):
    error_type = "resource_already_exists_exception"


class ResourceNotFound(InferdError):
    status = 404
    error_type = "resource_not_found_exception"


class MediaTypeNotSupported(InferdError):
    status = 406
    error_type = "media_type_header_exception"


class RequestTimeout(InferdError):
    status = 408


class NotFound(InferdError):
    status = 404


class MethodNotAllowed(InferdError):
    status = 405
    error_type = "illegal_argument_exception"


class StatusConflict(InferdError):
    status = 409
    error_type = "status_exception"


class TooManyRequests(InferdError):
    status = 429


class QueueFull(InferdError):
    status = 429
    error_type = "es_rejected_execution_exception"


class CircuitBreaking(InferdError):
    status = 429
    error_type = "circuit_breaking_exception"


class RequestTooLarge(InferdError):
    status = 413
    error_type = "content_too_long_exception"


class SecurityException(InferdError):
    """Elasticsearch's ElasticsearchSecurityException: 401 with `WWW-Authenticate` headers, or 403.

    `headers` are rendered both as HTTP headers and under `header` in the body, `metadata` as extra fields
    (e.g. `additional_unsuccessful_credentials`), as Elasticsearch renders an exception's headers and metadata.
    """

    error_type = "security_exception"

    def __init__(self, reason: str, *, status: int, headers: dict[str, list[str]] | None = None,
                 metadata: dict[str, str] | None = None) -> None:
        super().__init__(reason, metadata=metadata)
        self.status = status
        self.headers = headers or {}


class StoreBusy(InferdError):
    status = 503
    error_type = "status_exception"


class WorkerDied(InferdError):
    """The worker process exited while it held the request; the reason carries the end of its log."""


class InferenceFailed(InferdError):
    """One request the worker refused (bad input, 400) or could not run (500), as the worker reported it."""

    def __init__(self, reason: str, *, status: int, error_type: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error_type = error_type
