"""Which route of a deployment takes an inference: weighted by allocations, serving routes first."""

from __future__ import annotations

import random
from collections.abc import Sequence

from inferd.control.deployment import Deployment
from inferd.errors import StatusConflict
from inferd.runtime.route import Route
from inferd.runtime.states import RouteState


def serving_routes(deployment: Deployment) -> list[Route]:
    return [r for r in deployment.routes.values() if r.state is RouteState.STARTED and r.allocations > 0]


def pick_route(deployment: Deployment) -> Route:
    """A started route, at random weighted by its allocations; else one whose crashed worker is restarting
    (the request waits for it, within its timeout); a stopping one only when nothing else is left, and never
    once the deployment is scaled to zero: its last route is draining, its worker about to exit (or told to
    already), so the inference must ask for a new allocation instead."""
    routes = deployment.routes.values()
    for candidates in (
        serving_routes(deployment),
        [r for r in routes if r.recovering and r.allocations > 0],
        [r for r in routes if r.state is RouteState.STOPPING and r.allocations > 0 and deployment.number_of_allocations],
    ):
        if candidates:
            return _weighted_choice(candidates)
    raise StatusConflict(f"Trained model deployment [{deployment.deployment_id}] is not allocated to any nodes")


def pick_other_route(deployment: Deployment, failed: Route) -> Route | None:
    """A started route other than the one that failed the request, for its one retry; None if there is none."""
    others = [route for route in serving_routes(deployment) if route is not failed]
    return _weighted_choice(others) if others else None


def _weighted_choice(routes: Sequence[Route]) -> Route:
    return random.choices(routes, weights=[route.allocations for route in routes])[0]
