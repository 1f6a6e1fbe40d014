"""What the user asked a deployment for: typed here, a JSON object in the store and in the history.

The allocations (a count, or adaptive bounds) change inside the running workers; the rest are the workers'
resources, and changing any of them needs new workers (a rollout).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from inferd.control.deployment_request import AdaptiveAllocations
from inferd.runtime.device import CPU, DeviceRequest, Precision, batch_documents_default
from inferd.runtime.revision import Priority, WorkerResources

RESOURCE_FIELDS = tuple(field.name for field in fields(WorkerResources))


@dataclass(frozen=True)
class DeploymentSettings:
    number_of_allocations: int
    adaptive_allocations: AdaptiveAllocations | None
    threads_per_allocation: int
    queue_capacity: int
    cache_size: str | None
    """None: as large as the model (resolved when its revision is built)."""
    priority: Priority
    max_batch_documents: int
    device: DeviceRequest = CPU
    precision: Precision = Precision.FLOAT32

    @classmethod
    def of(cls, number_of_allocations: int, adaptive_allocations: AdaptiveAllocations | None,
           resources: WorkerResources) -> DeploymentSettings:
        return cls(number_of_allocations, adaptive_allocations, **{name: getattr(resources, name)
                                                                  for name in RESOURCE_FIELDS})

    @classmethod
    def from_stored(cls, stored: Mapping[str, Any], default_batch_documents: int) -> DeploymentSettings:
        """As `stored` wrote them. A store written before `max_batch_documents`, `device` or `precision` existed
        lacks them: the batch default for the device, the CPU, float32 (the settings are one JSON column: no
        migration). `default_batch_documents` is the server's; a GPU's is larger (`device.batch_documents_default`)."""
        device = DeviceRequest.parse(str(stored.get("device") or CPU))
        return cls(
            number_of_allocations=int(stored["number_of_allocations"]),
            adaptive_allocations=AdaptiveAllocations.from_settings(stored),
            threads_per_allocation=int(stored["threads_per_allocation"]),
            queue_capacity=int(stored["queue_capacity"]),
            cache_size=stored.get("cache_size"),
            priority=Priority(stored.get("priority", Priority.NORMAL)),
            max_batch_documents=int(stored.get("max_batch_documents")
                                    or batch_documents_default(device, default_batch_documents)),
            device=device,
            precision=Precision(stored.get("precision") or Precision.FLOAT32),
        )

    def stored(self) -> dict[str, Any]:
        """The JSON object the store, the history and inferd's API hold."""
        return {
            "number_of_allocations": self.number_of_allocations,
            "threads_per_allocation": self.threads_per_allocation,
            "queue_capacity": self.queue_capacity,
            "cache_size": self.cache_size,
            "priority": str(self.priority),
            "max_batch_documents": self.max_batch_documents,
            "device": str(self.device),
            "precision": str(self.precision),
            "adaptive_allocations": None if self.adaptive_allocations is None else self.adaptive_allocations.stored(),
        }

    def resources(self, model_bytes: int) -> WorkerResources:
        return WorkerResources(self.threads_per_allocation, self.queue_capacity,
                               self.cache_size if self.cache_size is not None else f"{model_bytes}b",
                               self.priority, self.max_batch_documents, self.device, self.precision)

    def same_workers(self, other: DeploymentSettings) -> bool:
        """Only the allocations differ: the running workers resize, no new one is needed."""
        return all(getattr(self, name) == getattr(other, name) for name in RESOURCE_FIELDS)
