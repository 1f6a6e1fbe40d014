"""What the running app holds, and the dependencies that hand it to routes."""

from __future__ import annotations

from dataclasses import dataclass, field

from typing import Annotated

from fastapi import Depends, Request

from inferd.api.live import LiveFeed
from inferd.clock import Clock
from inferd.control import DeploymentManager, ModelRegistry
from inferd.control.inference_endpoints import InferenceEndpoints
from inferd.control.ingest import IngestPipelines
from inferd.control.security import ApiKeys, ConsoleSessions, Users
from inferd.control.token_counts import TokenCounter
from inferd.settings import Settings


@dataclass
class ServerState:
    settings: Settings
    clock: Clock
    cluster_uuid: str
    node_name: str
    registry: ModelRegistry
    deployments: DeploymentManager
    api_keys: ApiKeys
    users: Users
    sessions: ConsoleSessions
    live: LiveFeed
    endpoints: InferenceEndpoints
    pipelines: IngestPipelines
    token_counter: TokenCounter = field(default_factory=TokenCounter)
    ready: bool = field(default=False)


# The dependencies are `async` (as are the other per-request ones): FastAPI runs a plain `def` dependency in
# its thread pool, and that hand-off cost more than all of an `_infer` request's own work.
def _state_of(request: Request) -> ServerState:
    state: ServerState = request.app.state.inferd
    return state


async def server_state(request: Request) -> ServerState:
    return _state_of(request)


async def registry(request: Request) -> ModelRegistry:
    return _state_of(request).registry


State = Annotated[ServerState, Depends(server_state)]
Registry = Annotated[ModelRegistry, Depends(registry)]


async def deployments(request: Request) -> DeploymentManager:
    return _state_of(request).deployments


Deployments = Annotated[DeploymentManager, Depends(deployments)]


async def endpoints(request: Request) -> InferenceEndpoints:
    return _state_of(request).endpoints


async def pipelines(request: Request) -> IngestPipelines:
    return _state_of(request).pipelines


Endpoints = Annotated[InferenceEndpoints, Depends(endpoints)]
Pipelines = Annotated[IngestPipelines, Depends(pipelines)]
