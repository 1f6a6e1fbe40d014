"""`inferd serve`: run the HTTP server on uvicorn."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from inferd.settings import Settings


def _setting(name: str, *, absent: str | None = None, flag: str | None = None) -> Any:
    """The option for setting `name`: the setting's description as help and its default as the shown default
    (`absent` says what no value means), so `--help` and `src/inferd/settings.py` cannot disagree. The option's own
    default stays None (the setting's environment variable or default applies), so the default is written into the
    help, escaped from rich's markup, which would otherwise eat it."""
    field = Settings.model_fields[name]
    shown = absent if field.default is None else str(field.default)
    return typer.Option(*([flag] if flag else []), help=f"{field.description} {escape(f'[default: {shown}]')}",
                        show_default=False)


def serve(
    host: Annotated[str | None, _setting("host")] = None,
    port: Annotated[int | None, _setting("port")] = None,
    data_dir: Annotated[Path | None, _setting("data_dir")] = None,
    processors: Annotated[int | None, _setting("processors", absent="this machine's")] = None,
    ml_memory: Annotated[str | None, _setting("ml_memory", absent="this machine's")] = None,
    nodes: Annotated[int | None, _setting("nodes")] = None,
    cluster: Annotated[str | None, _setting("cluster")] = None,
    ray_address: Annotated[str | None, _setting("ray_address", absent="auto")] = None,
    worker_orphan_timeout: Annotated[float | None, _setting(
        "worker_orphan_timeout_s", flag="--worker-orphan-timeout")] = None,
    adaptive_interval: Annotated[float | None, _setting(
        "adaptive_allocations_interval_s", flag="--adaptive-interval")] = None,
    scale_up_cooldown: Annotated[float | None, _setting("scale_up_cooldown_s", flag="--scale-up-cooldown")] = None,
    scale_to_zero_after: Annotated[float | None, _setting(
        "scale_to_zero_after_s", flag="--scale-to-zero-after")] = None,
    no_security: Annotated[bool, typer.Option(
        "--no-security", help="Serve without authentication: local development only, refused unless --host is "
        "loopback.")] = False,
    tls_cert: Annotated[Path | None, _setting("tls_cert", absent="none: plain HTTP")] = None,
    tls_key: Annotated[Path | None, _setting("tls_key", absent="none: plain HTTP")] = None,
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

    overrides: dict[str, Any] = {
        "host": host, "port": port, "data_dir": data_dir, "processors": processors, "ml_memory": ml_memory, "nodes": nodes,
        "cluster": cluster, "ray_address": ray_address, "worker_orphan_timeout_s": worker_orphan_timeout,
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
