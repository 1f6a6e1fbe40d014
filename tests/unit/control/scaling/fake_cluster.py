"""A stand-in for the deployment manager: adaptive deployments whose nodes count a synthetic load.

The load is a number of requests per second, each taking `time_s` of an allocation; every request is
counted as a success on the deployment's node (queueing is not modelled), so the scaler sees exactly the
load it is given. A deployment at zero allocations has no node; the next allocation starts a fresh route,
whose counters start at zero.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from inferd.control.scaling.counters import NodeCounters
from inferd.control.scaling.service import AdaptiveTarget, ScalerService
from tests.support.clock import FakeClock

NODE = "node-1"


@dataclass
class FakeDeployment:
    deployment_id: str
    allocations: int
    min_allocations: int | None = None
    max_allocations: int | None = None
    started: bool = True
    route_starting: bool = False
    latest_route_start_ms: int | None = None
    nodes: dict[str, NodeCounters] = field(default_factory=dict)

    def target(self) -> AdaptiveTarget:
        return AdaptiveTarget(
            self.deployment_id,
            self.allocations,
            self.min_allocations,
            self.max_allocations,
            self.started,
            self.route_starting,
            self.latest_route_start_ms,
        )

    def restart_route(self) -> None:
        """The route is replaced (a crash, a new build): its counters start again from zero."""
        self.nodes[NODE] = NodeCounters(0, 0, 0, 0.0)

    def serve(self, seconds: float, rate: float, time_s: float) -> None:
        """`rate` requests a second for `seconds`, each taking `time_s`; refused at zero allocations."""
        node = self.nodes.get(NODE)
        if node is None:
            return
        count = node.inference_count + round(rate * seconds)
        total_ms = node.inference_count * node.average_inference_time_ms + round(rate * seconds) * time_s * 1000
        self.nodes[NODE] = NodeCounters(count, 0, node.failed, total_ms / count if count else 0.0)


class FakeCluster:
    def __init__(self) -> None:
        self.deployments: dict[str, FakeDeployment] = {}
        self.applied: list[tuple[str, int]] = []
        self.apply_error: Exception | None = None
        self.apply_gate: asyncio.Event | None = None
        """When set, `apply` waits for it: an update that takes a while."""
        self.broken: set[str] = set()
        """Deployments whose counters cannot be read."""

    def add(self, deployment: FakeDeployment) -> FakeDeployment:
        """Started with a route on one node, unless at zero allocations."""
        if deployment.allocations > 0:
            deployment.nodes[NODE] = NodeCounters(0, 0, 0, 0.0)
        self.deployments[deployment.deployment_id] = deployment
        return deployment

    def adaptive_deployments(self) -> list[AdaptiveTarget]:
        return [deployment.target() for deployment in self.deployments.values()]

    def node_counters(self, deployment_id: str) -> dict[str, NodeCounters]:
        if deployment_id in self.broken:
            raise RuntimeError(f"stats of [{deployment_id}] unavailable")
        return dict(self.deployments[deployment_id].nodes)

    async def apply(self, deployment_id: str, allocations: int) -> None:
        self.applied.append((deployment_id, allocations))
        if self.apply_gate is not None:
            await self.apply_gate.wait()
        if self.apply_error is not None:
            raise self.apply_error
        deployment = self.deployments[deployment_id]
        if allocations == 0:
            deployment.nodes.clear()
        elif deployment.allocations == 0:
            deployment.nodes[NODE] = NodeCounters(0, 0, 0, 0.0)
        deployment.allocations = allocations


Load = Callable[[float], float]
"""Requests per second at a time (seconds since the start of the play)."""


async def play(
    service: ScalerService,
    clock: FakeClock,
    deployment: FakeDeployment,
    until_s: float,
    rate_at: Load,
    time_s: float = 0.05,
    changes: list[tuple[float, int]] | None = None,
) -> list[tuple[float, int]]:
    """Polls every 10 s from now to `until_s`, serving the load in between; returns the allocation changes.

    The changes are `(time, allocations)` at the start and whenever the count differs from the one before, so
    one list states the whole trajectory. Pass the list of an earlier play to continue it.
    """
    changes = [] if changes is None else changes
    _observe(changes, clock, deployment)
    while clock.monotonic() < until_s:
        deployment.serve(10.0, rate_at(clock.monotonic()), time_s)
        clock.advance(10.0)
        await service.tick()
        _observe(changes, clock, deployment)
    return changes


def _observe(changes: list[tuple[float, int]], clock: FakeClock, deployment: FakeDeployment) -> None:
    if not changes or changes[-1][1] != deployment.allocations:
        changes.append((clock.monotonic(), deployment.allocations))
