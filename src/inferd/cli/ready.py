"""`inferd ready`: whether the server answers ready, for a container's HEALTHCHECK, systemd and scripts.

Without `--url` it asks the server this machine's `INFERD_*` settings describe (their host's loopback side,
their port, https when they set a certificate), so a container or unit that sets those needs nothing more.
"""

from __future__ import annotations

import ssl
import time
from typing import Annotated

import httpx
import typer

from inferd.cli.credentials import CaCertsOption
from inferd.settings import Settings
from inferd.units import parse_time_value


def _local_url() -> str:
    settings = Settings()
    scheme = "https" if settings.tls_cert else "http"
    return f"{scheme}://127.0.0.1:{settings.port}"


def ready(
    url: Annotated[str | None, typer.Option(
        "--url", help="The server to ask.", show_default="this machine's server, from INFERD_PORT and INFERD_TLS_*")
    ] = None,
    wait: Annotated[str, typer.Option(help="Keep asking this long (e.g. 60s) before giving up.")] = "0s",
    ca_certs: CaCertsOption = None,
) -> None:
    """Exit 0 when GET /_inferd/ready answers 200 (the store is open and every stored deployment serves), else 1."""
    target = url or _local_url()
    # The readiness route is anonymous and this sends no credentials, so the local probe of an https server skips
    # verifying a certificate that names the public host, not 127.0.0.1.
    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca_certs)) if ca_certs else url is not None
    deadline = time.monotonic() + parse_time_value(wait, "wait")
    while True:
        try:
            status = httpx.get(f"{target}/_inferd/ready", timeout=5, verify=verify).status_code
            outcome = "ready" if status == 200 else f"not ready ({status})"
        except httpx.HTTPError as error:
            status, outcome = None, f"unreachable ({error})"
        if status == 200 or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    typer.echo(f"{target}: {outcome}", err=status != 200)
    raise typer.Exit(0 if status == 200 else 1)
