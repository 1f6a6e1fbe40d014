"""What a route's worker runs: a build of a model with the resources its workers were started with.

A route carries the revision it serves for its whole life. Changing any part of it (the build, threads,
queue, cache, priority, batch limit, device, precision) needs new workers, so a rollout adds routes of the new revision and
retires the old ones; only the number of allocations changes inside a running worker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from inferd.nlp.tasks import apply_update
from inferd.runtime.device import CPU, DeviceRequest, Precision
from inferd.runtime.protocol import LoadModel


class Priority(StrEnum):
    NORMAL = "normal"
    LOW = "low"


@dataclass(frozen=True)
class WorkerResources:
    """The settings a running worker cannot change: a new value needs a new worker."""

    threads_per_allocation: int
    queue_capacity: int
    cache_size: str
    """The inference cache's bound as the user gave it, or the model's size (`123b`) when they gave none."""
    priority: Priority
    max_batch_documents: int
    device: DeviceRequest = CPU
    """What the deployment asked for; each route runs on one device of its node that answers it (`Route.device`)."""
    precision: Precision = Precision.FLOAT32


@dataclass(frozen=True)
class Revision:
    model_id: str
    build_number: int
    task_type: str
    task_options: Mapping[str, Any]
    """The build's stored inference config for its task; each request's update is applied over it."""
    input_field: str
    model_bytes: int
    per_deployment_memory_bytes: int
    per_allocation_memory_bytes: int
    resources: WorkerResources
    load: LoadModel
    """What its workers are told to load (each route sets its own allocations)."""

    def options_for(self, update: Mapping[str, Any] | None) -> dict[str, Any]:
        """The task options of one request: the stored ones with the request's update applied (NlpError if bad)."""
        return apply_update(self.model_id, self.task_type, self.task_options, update)
