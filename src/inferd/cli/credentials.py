"""How inferd's own commands reach a server: its URL and, for a local server, its admin API key.

`--api-key` (or `INFERD_API_KEY`) wins. Otherwise, when the URL names this machine (a loopback address or
`localhost`), the key the server wrote at its first start is read from `DATA_DIR/admin-api-key`, with
`--data-dir` (or `INFERD_DATA_DIR`, default `./data`) as for `inferd serve`: the README's commands need
no typing. A remote server always needs `--api-key`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from elasticsearch import ApiError, Elasticsearch
from rich.console import Console
from rich.markup import escape

ADMIN_KEY_FILE = "admin-api-key"
DEFAULT_URL = "http://localhost:9200"

UrlOption = Annotated[str, typer.Option("--url", envvar="INFERD_URL", help="The inferd (or Elasticsearch) server.")]
ApiKeyOption = Annotated[str | None, typer.Option(
    "--api-key", envvar="INFERD_API_KEY", show_default=False,
    help="An encoded API key; default for a local server: the one in DATA_DIR/admin-api-key.")]
DataDirOption = Annotated[Path, typer.Option(
    "--data-dir", envvar="INFERD_DATA_DIR", help="The local server's data dir, where its admin API key is.")]
CaCertsOption = Annotated[Path | None, typer.Option(
    "--ca-certs", help="CA certificate(s) to verify an https server with (e.g. its self-signed certificate).",
    show_default="the system's CA certificates")]


def is_local(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_api_key(url: str, api_key: str | None, data_dir: Path) -> str | None:
    if api_key:
        return api_key
    if not is_local(url):
        return None
    try:
        return (data_dir / ADMIN_KEY_FILE).read_text().strip() or None
    except OSError:
        return None


def connect(url: str, api_key: str | None, data_dir: Path, ca_certs: Path | None = None,
            request_timeout_s: float = 120.0) -> Elasticsearch:
    """An elasticsearch-py client for the server, authenticated as `resolve_api_key` says."""
    options: dict[str, object] = {"request_timeout": request_timeout_s}
    if ca_certs is not None:
        options["ca_certs"] = str(ca_certs)
    return Elasticsearch(url, api_key=resolve_api_key(url, api_key, data_dir), **options)  # type: ignore[arg-type]


def report_failure(error: Exception) -> None:
    """Say what the server answered (or that it could not be reached) on stderr, and exit 1."""
    console = Console(stderr=True, highlight=False)
    if isinstance(error, ApiError):
        body: Any = error.body
        reason = body.get("error", {}).get("reason") if isinstance(body, dict) else None
        console.print(f"[red]error:[/] the server answered {error.meta.status}: {escape(str(reason or error.message))}")
    else:
        console.print(f"[red]error:[/] cannot reach the server: {escape(str(error))}")
    raise typer.Exit(1)
