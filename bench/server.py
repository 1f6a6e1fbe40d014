"""`inferd serve` as a child process on a free loopback port, and the REST calls the benchmarks make.

    with Server(processors=4) as server:
        server.upload(traced)
        server.start_deployment(allocations=2, threads=1)
        server.infer("some text"); server.stats(); server.worker_pids()
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from model import MODEL_ID


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """One server; `processors`/`nodes`/`ml_memory` as `inferd serve` takes them, `options` any other of its options.

    Its data dir is fresh unless `data_dir` is given: a kept one spares later runs the upload (seconds
    for 90 MB), which is what the smoke tests do.
    """

    def __init__(self, *, processors: int | None = None, nodes: int | None = None, ml_memory: str = "8gb",
                 data_dir: Path | None = None, options: Sequence[str] = (), security: bool = True,
                 environment: Mapping[str, str] | None = None) -> None:
        self._options = ["--ml-memory", ml_memory, *options]
        self._environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(environment or {})}
        """Settings without a command-line option go here (`INFERD_...`)."""
        if not security:
            self._options.append("--no-security")
        if processors is not None:
            self._options += ["--processors", str(processors)]
        if nodes is not None:
            self._options += ["--nodes", str(nodes)]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.infer_url = f"{self.url}/_ml/trained_models/{MODEL_ID}/_infer"
        self._scratch = tempfile.TemporaryDirectory(prefix="inferd-bench-")
        self._data_dir = data_dir or Path(self._scratch.name) / "data"
        self._log_path = Path(self._scratch.name) / "server.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=120)
        self.authorization: str | None = None
        """The `Authorization` header every call sends (load generators too)."""

    def __enter__(self) -> Server:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "inferd", "serve", "--port", str(self.port),
                 "--data-dir", str(self._data_dir), "--log-level", "warning", *self._options],
                stdout=log, stderr=subprocess.STDOUT, env=self._environment,
            )
        try:
            self._wait_ready(timeout_s=120)
            self.authorization = self._authorization()
            if self.authorization:
                self.http.headers["Authorization"] = self.authorization
            kept = self.http.get(f"/_ml/trained_models/{MODEL_ID}").status_code == 200
            if kept and self.stats():  # a kept data dir restarts a deployment that a crashed run left behind
                self.stop_deployment()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.http.close()
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._scratch.cleanup()

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def log_tail(self, characters: int = 3000) -> str:
        return self._log_path.read_text(errors="replace")[-characters:] if self._log_path.exists() else ""

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"inferd exited with {self._process.returncode}:\n{self.log_tail()}")
            try:
                if self.http.get("/_inferd/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"inferd not ready after {timeout_s}s:\n{self.log_tail()}")

    def _authorization(self) -> str | None:
        """`ApiKey <the admin key the server wrote at its first start>`; None for a --no-security server."""
        key_file = self._data_dir / "admin-api-key"
        if "--no-security" in self._options or not key_file.exists():
            return None
        return f"ApiKey {key_file.read_text().strip()}"

    @property
    def api_key(self) -> str | None:
        return self.authorization.removeprefix("ApiKey ") if self.authorization else None

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text[:2000]}\n{self.log_tail()}")
        return response.json()  # type: ignore[no-any-return]

    # --- the model and its deployment ------------------------------------------------------------

    def upload(self, traced: Any) -> None:
        """Upload the model unless this very build is already stored (a kept data dir)."""
        from inferd.importer import connect, upload_model

        models = self.http.get(f"/_ml/trained_models/{MODEL_ID}", params={"include": "definition_status"})
        if models.status_code == 200:
            config = models.json()["trained_model_configs"][0]
            if config.get("fully_defined") and config.get("inferd", {}).get("definition_sha256") == _sha256(traced):
                return
        upload_model(connect(self.url, api_key=self.api_key), MODEL_ID, traced.definition_path, traced.config, traced.vocabulary,
                     clear_previous=True)

    def start_deployment(self, allocations: int, threads: int, *, max_batch_documents: int = 16,
                         queue_capacity: int = 10_000, device: str = "cpu", precision: str = "float32") -> dict[str, Any]:
        """Start and wait until it is started (Elasticsearch's default `wait_for`), on `device` in `precision`."""
        params = {"number_of_allocations": allocations, "threads_per_allocation": threads,
                  "queue_capacity": queue_capacity, "timeout": "120s"}
        inferd = {"max_batch_documents": max_batch_documents, "device": device, "precision": precision}
        return self._call("POST", f"/_ml/trained_models/{MODEL_ID}/deployment/_start", params=params,
                          json={"inferd": inferd})

    def start_adaptive_deployment(self, min_allocations: int, max_allocations: int, threads: int, *,
                                  max_batch_documents: int = 16, queue_capacity: int = 10_000) -> dict[str, Any]:
        """Start with adaptive allocations (it starts at `min_allocations`, or 1 for 0) and wait until it is started."""
        params = {"threads_per_allocation": threads, "queue_capacity": queue_capacity, "timeout": "120s"}
        body = {"adaptive_allocations": {"enabled": True, "min_number_of_allocations": min_allocations,
                                         "max_number_of_allocations": max_allocations},
                "inferd": {"max_batch_documents": max_batch_documents}}
        return self._call("POST", f"/_ml/trained_models/{MODEL_ID}/deployment/_start", params=params, json=body)

    def wait_fully_allocated(self, timeout_s: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while True:
            stats = self.stats()
            if stats.get("allocation_status", {}).get("state") == "fully_allocated":
                return stats
            if time.monotonic() > deadline:
                raise TimeoutError(f"not fully allocated after {timeout_s}s: {stats}")
            time.sleep(0.05)

    def update_deployment(self, allocations: int) -> dict[str, Any]:
        return self._call("POST", f"/_ml/trained_models/{MODEL_ID}/deployment/_update",
                          json={"number_of_allocations": allocations})

    def stop_deployment(self) -> None:
        self._call("POST", f"/_ml/trained_models/{MODEL_ID}/deployment/_stop")

    def infer(self, text: str, timeout: str | None = None) -> dict[str, Any]:
        """One document; `timeout` as `_infer` takes it (default 10s: it bounds a wait for a scale from zero too)."""
        params = {} if timeout is None else {"timeout": timeout}
        return self._call("POST", f"/_ml/trained_models/{MODEL_ID}/_infer", params=params,
                          json={"docs": [{"text_field": text}]})

    def infer_documents(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Several documents in one `_infer`: their results, in order."""
        body = self._call("POST", f"/_ml/trained_models/{MODEL_ID}/_infer",
                          json={"docs": [{"text_field": text} for text in texts]})
        return body["inference_results"]  # type: ignore[no-any-return]

    # --- what the server says of it --------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """`deployment_stats` of the model ({} when it has no deployment)."""
        body = self._call("GET", f"/_ml/trained_models/{MODEL_ID}/_stats")
        return body["trained_model_stats"][0].get("deployment_stats", {})  # type: ignore[no-any-return]

    def workers(self) -> list[dict[str, Any]]:
        return self._call("GET", f"/_inferd/deployments/{MODEL_ID}/workers")["workers"]  # type: ignore[no-any-return]

    def scaling_events(self) -> list[dict[str, Any]]:
        """The adaptive allocations scaler's events for the deployment, newest first."""
        return self._call("GET", f"/_inferd/deployments/{MODEL_ID}/events")["events"]  # type: ignore[no-any-return]

    def worker_pids(self) -> list[int]:
        return [worker["pid"] for worker in self.workers() if worker.get("pid") is not None]


def _sha256(traced: Any) -> str:
    with open(traced.definition_path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def cache_hits(stats: dict[str, Any]) -> int:
    return sum(node.get("inference_cache_hit_count", 0) for node in stats.get("nodes", []))


def inference_count(stats: dict[str, Any]) -> int:
    return sum(node.get("inference_count", 0) for node in stats.get("nodes", []))


def failure_count(stats: dict[str, Any]) -> int:
    return sum(stats.get(name, 0) for name in ("error_count", "rejected_execution_count", "timeout_count"))
