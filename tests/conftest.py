"""Fixtures shared by the whole suite: one real server process per run, and the clients that reach it."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.support.models import TestModel, make_test_model
from tests.support.server import ServerProcess, client_for, http_for


SHARED_SERVER_ENV = {"INFERD_PROCESSORS": "64", "INFERD_ML_MEMORY": "256gb"}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The shared inferd server; tests keep to their own model ids so they can share it."""
    # Many tests deploy side by side: the shared server advertises more processors than the machine has.
    process = ServerProcess(tmp_path_factory.mktemp("shared") / "data", extra_env=SHARED_SERVER_ENV).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def es(server: ServerProcess) -> Elasticsearch:
    return client_for(server.url)


@pytest.fixture(scope="session")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with http_for(server.url) as client:
        yield client


@pytest.fixture
def model_id(request: pytest.FixtureRequest) -> str:
    """A model id unique to the test, valid under Elasticsearch's id rules."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:36].strip("-")
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:8]
    return f"t-{name}-{digest}"


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def echo_model(models_dir: Path) -> TestModel:
    """The small pass-through test model, padded so that 64 KiB chunks make several parts."""
    return make_test_model("echo", models_dir, extra_bytes=300_000)


@pytest.fixture(scope="session")
def slow_model(models_dir: Path) -> TestModel:
    """Echoes its inputs after a loop as long as the documents say `slow`: tests control inference time."""
    return make_test_model("slow", models_dir)
