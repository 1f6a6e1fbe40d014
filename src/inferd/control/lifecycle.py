"""The words of a deployment's lifecycle, typed: Elasticsearch's assignment and allocation states, and inferd's own.

A deployment's state is not stored: it follows from its routes (whose moves are `runtime/states.py`'s table)
and its one explicit step, stopping. `assignment_state` and `allocation_state` are those derivations, pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from inferd.runtime.route import Route
from inferd.runtime.states import RouteState


class AssignmentState(StrEnum):
    """Elasticsearch's `assignment_state`."""

    STARTING = "starting"
    STARTED = "started"
    STOPPING = "stopping"
    FAILED = "failed"


class AllocationState(StrEnum):
    """Elasticsearch's `allocation_status.state`."""

    STARTING = "starting"
    STARTED = "started"
    FULLY_ALLOCATED = "fully_allocated"


class Lifecycle(StrEnum):
    """The word a person expects on a deployment page."""

    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    STOPPING = "stopping"
    FAILED = "failed"
    STOPPED = "stopped"


class WaitFor(StrEnum):
    """What `_start`'s `wait_for` waits for."""

    STARTING = "starting"
    STARTED = "started"
    FULLY_ALLOCATED = "fully_allocated"


def assignment_state(stopping: bool, target_allocations: int, routes: Iterable[Route]) -> AssignmentState:
    """`stopping` is sticky; `started` once any route is (or when scaled to zero: up, and the next inference scales
    it back); `failed` when every live route has failed for good (none is restarting its worker); else `starting`."""
    if stopping:
        return AssignmentState.STOPPING
    if target_allocations == 0:
        return AssignmentState.STARTED
    live = [route for route in routes if route.state is not RouteState.STOPPED]
    if any(route.state is RouteState.STARTED for route in live):
        return AssignmentState.STARTED
    if live and all(route.failed_for_good for route in live):
        return AssignmentState.FAILED
    return AssignmentState.STARTING


def allocation_state(allocations: int, target_allocations: int) -> AllocationState:
    """Elasticsearch's `AllocationStatus.calculateState`: zero of zero (scaled to zero) is fully allocated."""
    if allocations == 0 and target_allocations > 0:
        return AllocationState.STARTING
    return AllocationState.FULLY_ALLOCATED if allocations >= target_allocations else AllocationState.STARTED
