"""Fixtures of the importer tests: the test models, traced once per run, and a fake Elasticsearch to upload to."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import torch

from tests.support.models import VOCABULARY, TestModel, make_test_model


@pytest.fixture(scope="package", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """The models are tiny: a second intra-op thread only adds synchronisation, which on a busy
    two-core machine costs more than the work (a 32-wide linear layer went from 0.04 ms to 16 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def away_from_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command reads a local server's admin key from `./data` by default: a `data` dir left in the checkout (by
    a demo run) must not give the tests credentials they did not ask for."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def model_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], TestModel]:
    """Build (once per run, freshly traced) the test model of a kind."""
    directory = tmp_path_factory.mktemp("importer-models")
    built: dict[str, TestModel] = {}

    def get(kind: str) -> TestModel:
        if kind not in built:
            built[kind] = make_test_model(kind, directory)
        return built[kind]

    return get


@pytest.fixture(scope="session")
def tokenizer() -> Any:
    """The tokenizer of every tiny test model (they share `VOCABULARY`)."""
    transformers = pytest.importorskip("transformers")
    return transformers.BertTokenizer(vocab={token: i for i, token in enumerate(VOCABULARY)}, do_lower_case=True)


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    authorization: str | None
    query: str = ""


@dataclass
class FakeElasticsearch:
    """Answers the trained-model routes the importer calls, and records every request in order."""

    url: str = ""
    existing: set[str] = field(default_factory=set)
    stop_status: int = 200
    requests: list[Recorded] = field(default_factory=list)

    def calls(self) -> list[str]:
        return [f"{request.method} {request.path}" for request in self.requests]


@pytest.fixture
def fake_es() -> Iterator[FakeElasticsearch]:
    state = FakeElasticsearch()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            state.requests.append(
                Recorded(self.command, path, json.loads(raw) if raw else None, self.headers.get("Authorization"), query)
            )
            model_id = path.split("/")[3] if path.startswith("/_ml/trained_models/") else ""
            status, body = 200, {"acknowledged": True}
            if self.command == "GET":
                if model_id in state.existing:
                    body = {"count": 1, "trained_model_configs": [{"model_id": model_id}]}
                else:
                    status = 404
                    reason = f"No known trained model with model_id [{model_id}]"
                    body = {"error": {"type": "resource_not_found_exception", "reason": reason}, "status": 404}
            elif path.endswith("/deployment/_stop") and state.stop_status != 200:
                status = state.stop_status
                body = {"error": {"type": "status_exception", "reason": "no deployment"}, "status": status}
            elif self.command == "DELETE":
                state.existing.discard(model_id)
            elif self.command == "PUT" and path.count("/") == 3:
                state.existing.add(model_id)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Elastic-Product", "Elasticsearch")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
