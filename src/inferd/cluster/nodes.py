"""A node as the planner sees it: an id, and the processors and memory it offers for inference."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Node:
    node_id: str
    processors: int
    memory_bytes: int
