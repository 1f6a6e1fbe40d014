"""Elasticsearch's memory estimate for a pytorch deployment (reference §4.1), used by stats and the planner."""

from __future__ import annotations

MEMORY_OVERHEAD_BYTES = 240 * 1024 * 1024


def estimate_memory_bytes(
    model_size_bytes: int, per_deployment_bytes: int = 0, per_allocation_bytes: int = 0, allocations: int = 1
) -> int:
    """240 MiB plus twice the model, or eland's profiled figures when they ask for more."""
    if allocations == 0:
        return 0
    base = MEMORY_OVERHEAD_BYTES + 2 * model_size_bytes
    if per_deployment_bytes == 0 and per_allocation_bytes == 0:
        return base
    return max(base, per_deployment_bytes + per_allocation_bytes * allocations + model_size_bytes)
