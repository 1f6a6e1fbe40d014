"""`inferd serve`: run the HTTP server on uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [default: 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [default: 9200].")] = None,
    data_dir: Annotated[Path | None, typer.Option(help="Where the store lives [default: ./data].")] = None,
    processors: Annotated[int | None, typer.Option(help="Processors for deployments [default: this machine's].")] = None,
    ml_memory: Annotated[str | None, typer.Option(help="Memory for deployments, e.g. 8gb [default: this machine's].")] = None,
    nodes: Annotated[int | None, typer.Option(help="Split the machine into this many virtual nodes [default: 1].")] = None,
    adaptive_interval: Annotated[float | None, typer.Option(
        help="Seconds between the adaptive allocations scaler's load readings [default: 10].")] = None,
    scale_up_cooldown: Annotated[float | None, typer.Option(
        help="Seconds a scaled-up deployment keeps its allocations before it may scale down [default: 300].")] = None,
    scale_to_zero_after: Annotated[float | None, typer.Option(
        help="Seconds without requests before an adaptive deployment scales to zero (>= 60) [default: 86400].")] = None,
    no_security: Annotated[bool, typer.Option(
        "--no-security", help="Serve without authentication: local development only, refused unless --host is "
        "loopback.")] = False,
    tls_cert: Annotated[Path | None, typer.Option(help="PEM certificate to serve HTTPS with (needs --tls-key).")] = None,
    tls_key: Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    access_log: Annotated[bool, typer.Option(
        "--access-log", help="Log every HTTP request (at info level); off by default, as in Elasticsearch, since it "
        "costs each request a log line.")] = False,
) -> None:
    """Start the inferd server (options override INFERD_* environment variables)."""
    import uvicorn
    from pydantic import ValidationError

    from inferd.api.app import create_app
    from inferd.api.http_protocol import bounded_http_protocol
    from inferd.settings import Settings

    overrides: dict[str, Any] = {
        "host": host, "port": port, "data_dir": data_dir, "processors": processors, "ml_memory": ml_memory, "nodes": nodes,
        "adaptive_allocations_interval_s": adaptive_interval, "scale_up_cooldown_s": scale_up_cooldown,
        "scale_to_zero_after_s": scale_to_zero_after, "tls_cert": tls_cert, "tls_key": tls_key,
        "security_enabled": False if no_security else None,
    }
    try:
        settings = Settings(**{name: value for name, value in overrides.items() if value is not None})
    except ValidationError as error:
        for problem in error.errors():
            typer.echo(f"inferd serve: {problem['msg'].removeprefix('Value error, ')}", err=True)
        raise typer.Exit(2) from None
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        access_log=access_log,
        timeout_graceful_shutdown=30,
        http=bounded_http_protocol(settings.max_url_bytes, settings.max_header_bytes),
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
    )
