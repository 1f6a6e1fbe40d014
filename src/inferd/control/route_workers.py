"""Routes and their workers: a new route gets a worker on its node, a retired route drains and stops, and a
route whose worker crashed while serving gets a new one after a back-off (`restarts.py`), or stays failed. At
start-up, a route may instead take over a worker that outlived the last server (`adopt`).

A rollout's new worker is not restarted: the rollout fails instead, and the old workers keep serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from inferd.clock import Clock
from inferd.cluster.backend import ClusterBackend
from inferd.control.deployment import Deployment
from inferd.control.history import HistoryRecorder
from inferd.control.restarts import RestartPolicy
from inferd.control.tasks import BackgroundTasks
from inferd.runtime.revision import Revision
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState

logger = logging.getLogger(__name__)


class RouteWorkers:
    def __init__(self, backend: ClusterBackend, clock: Clock, restarts: RestartPolicy, history: HistoryRecorder,
                 tasks: BackgroundTasks, stop_timeout_s: float) -> None:
        self._backend = backend
        self._clock = clock
        self._restarts = restarts
        self._history = history
        self._tasks = tasks
        self._stop_timeout_s = stop_timeout_s

    def launch(self, deployment: Deployment, routes: dict[str, Route], revision: Revision, node_id: str,
               allocations: int, device: str = "cpu") -> Route:
        """Put a new route of `revision` in `routes`, on `device` of its node, and start its worker (in the
        background)."""
        route = self._add(deployment, routes, revision, node_id, allocations, device)
        self._tasks.spawn(self._start_worker(route))
        return route

    def adopt(self, deployment: Deployment, node_id: str) -> Route:
        """Put a serving route on `node_id` for a worker that outlived the last server; the caller attaches the
        worker once the plan has sized the route (one allocation until then). The route runs on the revision's device:
        a survivor is adopted only when its load, device included, is the revision's (so a GPU worker, started on
        the `cuda:N` the plan chose rather than the `cuda` asked for, is replaced, not adopted)."""
        return self._add(deployment, deployment.routes, deployment.serving, node_id, 1, deployment.serving.load.device)

    def _add(self, deployment: Deployment, routes: dict[str, Route], revision: Revision, node_id: str,
             allocations: int, device: str) -> Route:
        route = Route(deployment.deployment_id, node_id, revision, allocations, self._clock,
                      on_crash=lambda crashed: self._on_crash(deployment, crashed), on_change=deployment.changed,
                      device=device)
        routes[node_id] = route
        return route

    async def _start_worker(self, route: Route) -> None:
        try:
            worker = await self._backend.start_worker(route.node_id, route.deployment_id, route.revision.load)
        except OSError as error:
            route.fail(f"could not start the worker process: {error}")
            return
        route.attach(worker)

    def retire(self, deployment: Deployment, routes: dict[str, Route], node_id: str) -> None:
        """Drain a route the plan no longer wants, then take it out of its routing table (in the background)."""
        self._tasks.spawn(self._retire(deployment, routes, node_id, routes[node_id]))

    async def _retire(self, deployment: Deployment, routes: dict[str, Route], node_id: str, route: Route) -> None:
        await route.stop(self._stop_timeout_s)
        if routes.get(node_id) is route:
            del routes[node_id]
            deployment.changed()

    async def drain(self, deployment: Deployment, routes: Sequence[Route], *, server_exiting: bool = False) -> None:
        """Stop these routes once they have answered what they hold; they no longer hold memory after. When the
        server is exiting, workers that can outlive it are let go for the next server to adopt."""
        await asyncio.gather(*(route.stop(self._stop_timeout_s, server_exiting=server_exiting) for route in routes))
        deployment.draining = [route for route in deployment.draining if route not in routes]
        deployment.changed()

    def _on_crash(self, deployment: Deployment, route: Route) -> bool:
        """A serving worker died: schedule its restart (True), or leave the route failed (False)."""
        if deployment.stopping or deployment.routes.get(route.node_id) is not route:
            return False
        delay_s = self._restarts.delay_s(route.crash_times, self._clock.monotonic())
        if delay_s is None:
            route.reason = (f"{route.reason}; the worker crashed {self._restarts.max_restarts + 1} times within "
                            f"{self._restarts.window_s:g}s: stop and start the deployment again")
            self._history.record_failure(
                deployment, f"the worker on node [{route.node_id}] failed for good: {route.reason}")
            return False
        self._tasks.spawn(self._restart(deployment, route, delay_s))
        return True

    async def _restart(self, deployment: Deployment, route: Route, delay_s: float) -> None:
        await self._clock.sleep(delay_s)
        if route.state is not RouteState.FAILED:  # stopped or retired meanwhile, and its waiters answered
            return
        if deployment.routes.get(route.node_id) is not route:  # its node was lost, or a rollout replaced it
            route.give_up("its node was lost or its deployment moved on")
            return
        try:
            worker = await self._backend.start_worker(route.node_id, deployment.deployment_id, route.revision.load)
        except OSError as error:
            route.give_up(f"could not restart the worker process: {error}")
            self._history.record_failure(deployment, f"the worker on node [{route.node_id}] failed for good: "
                                                     f"{route.reason}")
            return
        if route.state is not RouteState.FAILED or deployment.routes.get(route.node_id) is not route:
            worker.kill()  # stopped, retired or its node lost while the worker started
            return
        logger.warning("route %s: restarting its worker after a crash (pid %s)", route, worker.pid)
        route.restart(worker)
