"""Starting the real `inferd serve` as a process on a free loopback port, and the clients that talk to it.

Every test reaches a server through `client_for`/`http_for`, so credentials are added here once: each server
started here registers its data dir, and the clients send the admin API key the server wrote there.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from elasticsearch import Elasticsearch


PR_SET_PDEATHSIG = 1


def _ends_with_the_test_run() -> None:
    """Runs in the server's process before exec: it gets SIGTERM when the test process dies, so a killed or
    interrupted test run leaves no server (and, through the server's shutdown, no worker) behind."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


ADMIN_KEY_FILE = "admin-api-key"
_ADMIN_KEYS: dict[str, Path] = {}
"""Server URL -> the data dir whose admin API key authenticates to it (registered when a server starts)."""


def register_server(url: str, data_dir: Path) -> None:
    """Let `client_for`/`http_for` authenticate to a server started outside `ServerProcess` (e.g. `inferd demo`)."""
    _ADMIN_KEYS[url.rstrip("/")] = data_dir


def admin_key_for(url: str) -> str | None:
    data_dir = _ADMIN_KEYS.get(url.rstrip("/"))
    if data_dir is None:
        return None
    try:
        return (data_dir / ADMIN_KEY_FILE).read_text().strip()
    except FileNotFoundError:
        return None  # a --no-security server that was never started with security


def client_for(url: str, **options: object) -> Elasticsearch:
    """The official client as a user would configure it, with retries off so every failure is seen; it sends the
    server's admin API key unless the test passes its own credentials."""
    if not {"api_key", "basic_auth", "bearer_auth"} & options.keys():
        options["api_key"] = admin_key_for(url)
    return Elasticsearch(url, max_retries=0, retry_on_status=(), request_timeout=120, **options)  # type: ignore[arg-type]


def http_for(url: str, *, authenticated: bool = True) -> httpx.Client:
    """A raw HTTP client for what elasticsearch-py cannot send (bad JSON, odd headers, unknown routes); it sends
    the server's admin API key unless told not to."""
    key = admin_key_for(url) if authenticated else None
    headers = {"Authorization": f"ApiKey {key}"} if key else {}
    return httpx.Client(base_url=url, timeout=120, headers=headers)


def auth_headers(url: str) -> dict[str, str]:
    """The `Authorization` header for a one-off `httpx` call."""
    key = admin_key_for(url)
    return {"Authorization": f"ApiKey {key}"} if key else {}


@dataclass
class ServerProcess:
    """One `inferd serve` process; restartable on the same data dir."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    """More `inferd serve` options, e.g. `["--adaptive-interval", "1"]`."""
    scheme: str = "http"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-server.log"

    @property
    def admin_key(self) -> str:
        """The superuser API key the server wrote at its first start."""
        return (self.data_dir / ADMIN_KEY_FILE).read_text().strip()

    def start(self, timeout_s: float = 60) -> ServerProcess:
        self.launch()
        self.wait_ready(timeout_s)
        return self

    def launch(self) -> None:
        """Start the process, without waiting for it to be ready."""
        register_server(self.url, self.data_dir)
        env = {**os.environ, **self.extra_env}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "inferd", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
             "--log-level", "warning", *self.extra_args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=_ends_with_the_test_run,
        )
        log.close()

    def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"inferd exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/_inferd/ready", timeout=1, verify=False).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"inferd not ready after {timeout_s}s:\n{self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, as after a crash or the OOM killer."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> ServerProcess:
        self.kill()
        return self.start()
