"""Nodes as the control plane sees them: an id, the processors, memory and GPUs a node offers for inference, and
what names it to people; and the changes of membership a backend reports on its own."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from inferd.runtime.device import GpuDevice


@dataclass(frozen=True)
class Node:
    node_id: str
    processors: int
    memory_bytes: int
    name: str | None = None
    """What people call the node (a Ray node's name); the id when None."""
    address: str | None = None
    """Where the node is reached (a Ray node's raylet address, `host:port`); None for this machine's virtual nodes."""
    gpus: tuple[GpuDevice, ...] = ()
    """Its CUDA devices, each with its own memory (a GPU deployment's estimate is charged there, not to the host)."""

    @property
    def display_name(self) -> str:
        return self.name or self.node_id


class NodeEvent(StrEnum):
    JOINED = "joined"
    LEFT = "left"
    CHANGED = "changed"
    """Still there, with other processors or memory."""


@dataclass(frozen=True)
class NodeChange:
    """A change of membership the backend noticed itself (a machine joined, died or was stopped)."""

    node_id: str
    event: NodeEvent

