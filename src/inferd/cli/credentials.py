"""How inferd's own commands reach a server: its URL and, for a local server, its admin API key.

`--api-key` (or `INFERD_API_KEY`) wins. Otherwise, when the URL names this machine (a loopback address or
`localhost`), the key the server wrote at its first start is read from `DATA_DIR/admin-api-key`, with
`--data-dir` (or `INFERD_DATA_DIR`, default `./data`) as for `inferd serve`: the README's commands need
no typing. A remote server always needs `--api-key`. A command that takes a user name and password
(`inferd import -u/-p`) sends them instead of the local admin key, unless an API key is given too.
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

from inferd.importer import upload  # where clients are built (the importer's package loads no torch)

ADMIN_KEY_FILE = "admin-api-key"
DEFAULT_URL = "http://localhost:9200"

UrlOption = Annotated[str, typer.Option("--url", envvar="INFERD_URL", help="The inferd (or Elasticsearch) server.")]
ApiKeyOption = Annotated[str | None, typer.Option(
    "--api-key", envvar="INFERD_API_KEY", show_default=False,
    help="An encoded API key; default for a local server: the one in DATA_DIR/admin-api-key.")]
DataDirOption = Annotated[Path, typer.Option(
    "--data-dir", envvar="INFERD_DATA_DIR", help="The local server's data dir, where its admin API key is.")]
CaCertsOption = Annotated[Path | None, typer.Option(
    "--ca-certs", exists=True, dir_okay=False,
    help="CA certificate(s) to verify an https server with (e.g. its self-signed certificate).",
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
            request_timeout_s: float = 120.0, *, basic_auth: tuple[str, str] | None = None,
            verify_certs: bool = True) -> Elasticsearch:
    """An elasticsearch-py client for the server: `api_key` if given, else `basic_auth` if given, else the key
    `resolve_api_key` finds for a local server."""
    if basic_auth is None:
        api_key = resolve_api_key(url, api_key, data_dir)
    return upload.connect(url, api_key=api_key, basic_auth=basic_auth, ca_certs=ca_certs,
                          verify_certs=verify_certs, request_timeout_s=request_timeout_s)


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
