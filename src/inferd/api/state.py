"""What the running app holds, and the dependencies that hand it to routes."""

from __future__ import annotations

from dataclasses import dataclass, field

from typing import Annotated

from fastapi import Depends, Request

from inferd.clock import Clock
from inferd.control import DeploymentManager, ModelRegistry
from inferd.settings import Settings


@dataclass
class ServerState:
    settings: Settings
    clock: Clock
    cluster_uuid: str
    node_name: str
    registry: ModelRegistry
    deployments: DeploymentManager
    ready: bool = field(default=False)


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.inferd
    return state


def registry(request: Request) -> ModelRegistry:
    return server_state(request).registry


State = Annotated[ServerState, Depends(server_state)]
Registry = Annotated[ModelRegistry, Depends(registry)]


def deployments(request: Request) -> DeploymentManager:
    return server_state(request).deployments


Deployments = Annotated[DeploymentManager, Depends(deployments)]
