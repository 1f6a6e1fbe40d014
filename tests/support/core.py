"""The control plane in-process for unit tests: a `DeploymentManager` over a real `ModelRegistry` and SQLite
store, a `FakeBackend` (`workers.py`) and a `FakeClock`, wired as `api/app.py`'s lifespan wires the server's.

    models = build_core_models(directory)              echo, slow, marked echo 1 and 2, broken (TorchScript)
    core = make_core(tmp_path, WorkerKind.INPROCESS)   the manager and its parts, on one node of 4 processors
    add_model(core, "m", models.echo)                  a model whose build 1 is ready to deploy
    run(core, scenario)                                runs `scenario()` on an event loop, then shuts the manager down

A build's definition goes straight into the store with its SHA-256 (as the upload stores it once its check
passed): these tests are about deployments, and the definition check, a child process, is tested elsewhere.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inferd.cluster.nodes import Node
from inferd.control import DeploymentManager, ModelRegistry, RuntimeLimits, ScalerSettings
from inferd.control.deployment import Deployment
from inferd.control.deployment_request import StartRequest, parse_start_request
from inferd.control.inference_config import TrainedModelConfigBody
from inferd.control.restarts import RestartPolicy
from inferd.control.rollout_request import RolloutRequest, parse_rollout_request
from inferd.store import DeploymentStore, HistoryEntry, ModelStore, PartRecord, VocabularyRecord, open_store
from tests.support.build_models import broken_model, marked_echo_model
from tests.support.clock import FakeClock
from tests.support.models import TestModel, make_test_model
from tests.support.workers import REPLY_BOUND_S, FakeBackend, WorkerKind, wait_until

GIB = 1024**3
ONE_NODE = (Node("node-0", 4, 8 * GIB),)


@dataclass(frozen=True)
class CoreModels:
    """TorchScript pass_through models that answer at once: each answer checkable from its input."""

    echo: TestModel
    slow: TestModel
    marked_1: TestModel
    marked_2: TestModel
    broken: TestModel


def build_core_models(directory: Path) -> CoreModels:
    return CoreModels(
        echo=make_test_model("echo", directory),
        slow=make_test_model("slow", directory),
        marked_1=marked_echo_model(directory, 1),
        marked_2=marked_echo_model(directory, 2),
        broken=broken_model(directory),
    )


@dataclass
class Core:
    manager: DeploymentManager
    registry: ModelRegistry
    models: ModelStore
    deployments: DeploymentStore
    backend: FakeBackend
    clock: FakeClock


@contextmanager
def core_on(data_dir: Path, kind: WorkerKind, *, nodes: Sequence[Node] = ONE_NODE,
            limits: RuntimeLimits | None = None, restarts: RestartPolicy | None = None,
            scaler: ScalerSettings | None = None, clock: FakeClock | None = None) -> Iterator[Core]:
    """The manager on a store in `data_dir` (which outlives it, for a restarted manager); the store is closed
    after. The clock's sleeps wait for the test, so back-offs happen when the test moves time."""
    clock = clock or FakeClock(sleep_advances=False)
    engine = open_store(f"sqlite:///{data_dir / 'inferd.db'}")
    try:
        models = ModelStore(engine)
        deployments = DeploymentStore(engine)
        registry = ModelRegistry(models, clock, data_dir)
        backend = FakeBackend(nodes, kind, clock)
        manager = DeploymentManager(registry, deployments, backend, clock, limits or RuntimeLimits(),
                                    restarts=restarts, scaler_settings=scaler)
        yield Core(manager, registry, models, deployments, backend, clock)
    finally:
        engine.dispose()


def run(core: Core, scenario: Callable[[], Awaitable[None]]) -> None:
    """Run the scenario on a fresh event loop, bounded (a wait that never ends fails the test); the manager shuts
    down after it, passed or failed, so no worker thread outlives the test."""

    async def main() -> None:
        try:
            await asyncio.wait_for(scenario(), 2 * REPLY_BOUND_S)
        finally:
            await core.manager.shutdown()

    asyncio.run(main())


# --- models ------------------------------------------------------------------------------------------


def add_model(core: Core, model_id: str, model: TestModel) -> None:
    """Create the model (as its PUT config would) with build 1 complete and ready."""
    core.registry.put_model(model_id, TrainedModelConfigBody.model_validate(model.config))
    _fill(core.models, model_id, 1, model)


def add_build(core: Core, model_id: str, model: TestModel) -> int:
    """The model's next build, complete with `model`'s definition and vocabulary; its number."""
    build = core.registry.create_build(model_id, None, f"test build of {model.definition_path.name}")
    _fill(core.models, model_id, build.build_number, model)
    return build.build_number


def _fill(store: ModelStore, model_id: str, build_number: int, model: TestModel) -> None:
    data = model.definition_path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    store.add_part(model_id, build_number, PartRecord(0, len(data), digest), data, total_definition_length=len(data),
                   total_parts=1, definition_sha256=digest)
    vocabulary = model.vocabulary
    store.put_vocabulary(model_id, build_number, VocabularyRecord(vocabulary["vocabulary"], vocabulary.get("merges"),
                                                                  vocabulary.get("scores")))


# --- requests ----------------------------------------------------------------------------------------


def start_request(model_id: str, body: dict[str, Any] | None = None, **query: str) -> StartRequest:
    """A `_start` as the API reads it (query parameters as strings, or a body)."""
    return parse_start_request(model_id, query, body)


def rollout_request(action: str, body: dict[str, Any] | None = None, **query: str) -> RolloutRequest:
    return parse_rollout_request(action, query, body)


def documents(*texts: str) -> list[dict[str, str]]:
    return [{"text_field": text} for text in texts]


# --- waiting -----------------------------------------------------------------------------------------


async def until(deployment: Deployment, condition: Callable[[], bool], what: str) -> None:
    """Wait, woken by the deployment's changes, until the condition holds (bounded in real time)."""
    await wait_until(deployment.changes, condition, what)


async def history_until(core: Core, deployment_id: str, condition: Callable[[list[HistoryEntry]], bool],
                        what: str) -> list[HistoryEntry]:
    """The deployment's history once it satisfies the condition: an entry the server writes by itself (a worker
    that failed for good) is written in the background, on a thread."""
    for _ in range(500):
        entries = core.deployments.history(deployment_id)
        if condition(entries):
            return entries
        await asyncio.sleep(0.01)
    raise AssertionError(f"the history of [{deployment_id}] never showed {what}: {entries}")
