"""The CLI's one way to reach a server: a client that never retries a refusal, inferd's own routes, failures.

Elasticsearch's routes go through elasticsearch-py's typed methods; inferd's `/_inferd/...` routes, which it
does not know, go through `call`. Both fail with the same exceptions, which `failures_reported` turns into
the CLI's exit codes: 1 with the server's reason on stderr, or `EXIT_TIMEOUT` when the server says a wait
timed out (408).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import typer
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from rich.console import Console
from rich.markup import escape

from inferd.cli.credentials import connect, report_failure

EXIT_TIMEOUT = 3
"""A wait ran out of time (the change goes on in the server): neither success (0), failure (1) nor usage (2)."""


def client(url: str, api_key: str | None, data_dir: Path, ca_certs: Path | None,
           request_timeout_s: float | None = 120.0) -> Elasticsearch:
    """`credentials.connect`, without the client's retries on 429 and 50x (a refused change is reported once);
    `request_timeout_s` None waits as long as the server takes."""
    return connect(url, api_key, data_dir, ca_certs).options(retry_on_status=(), request_timeout=request_timeout_s)


def inferd_path(*segments: str | int) -> str:
    """`/_inferd/a/b/...`, each segment quoted (ids are the caller's text)."""
    return "/_inferd/" + "/".join(quote(str(segment), safe="") for segment in segments)


def call(es: Elasticsearch, method: str, path: str, *, params: dict[str, Any] | None = None,
         body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One request to an inferd route; the answer's JSON body. Raises `ApiError`/`TransportError` as the typed
    methods do."""
    headers = {"accept": "application/json"}
    if body is not None:
        headers["content-type"] = "application/json"
    response = es.perform_request(method, path, params=params, body=body, headers=headers)
    return response.body  # type: ignore[no-any-return]


@contextmanager
def failures_reported() -> Iterator[None]:
    """Turn a server's refusal or an unreachable server into the CLI's message and exit code."""
    try:
        yield
    except ApiError as error:
        if error.meta.status == 408:
            Console(stderr=True, highlight=False).print(
                f"[yellow]timed out:[/] {escape(reason(error))}; the server goes on with it")
            raise typer.Exit(EXIT_TIMEOUT) from None
        report_failure(error)
    except TransportError as error:
        report_failure(error)


def reason(error: ApiError) -> str:
    """The server's `error.reason` (Elasticsearch's error shape), else the client's message."""
    body: Any = error.body
    found = body.get("error", {}).get("reason") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    return str(found or error.message)
