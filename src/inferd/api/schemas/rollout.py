"""Rendering inferd's own view of deployments: lifecycle, build per route, rollouts and history (docs/rollouts.md)."""

from __future__ import annotations

import dataclasses
from typing import Any

from inferd.control.lifecycle import Lifecycle
from inferd.control.rollout import Rollout
from inferd.control.views import DeploymentView, RouteView
from inferd.store import DeploymentRecord, HistoryEntry


def render_view(deployment: DeploymentView) -> dict[str, Any]:
    routes = [_route(route) for route in (*deployment.routes, *deployment.incoming, *deployment.draining)]
    return {
        "deployment_id": deployment.deployment_id,
        "model_id": deployment.model_id,
        "build_number": deployment.build_number,
        "lifecycle": str(deployment.lifecycle),
        "state": str(deployment.state),
        "settings": deployment.settings.stored(),
        "routes": routes,
        "rollout": None if deployment.rollout is None else render_rollout(deployment.rollout),
        "start_time": deployment.start_time_ms,
    }


def render_stopped(record: DeploymentRecord) -> dict[str, Any]:
    return {
        "deployment_id": record.deployment_id,
        "model_id": record.model_id,
        "build_number": record.build_number,
        "lifecycle": str(Lifecycle.STOPPED),
        "state": "stopped",
        "settings": record.settings,
        "routes": [],
        "rollout": None,
        "start_time": record.start_time_ms,
        "stop_time": record.stop_time_ms,
    }


def _route(route: RouteView) -> dict[str, Any]:
    entry: dict[str, Any] = {"node": route.node_id, "build_number": route.build_number, "role": str(route.role),
                             "routing_state": str(route.routing_state), "allocations": route.allocations}
    if route.reason:
        entry["reason"] = route.reason
    return entry


def render_rollout(rollout: Rollout) -> dict[str, Any]:
    return {
        "action": str(rollout.action),
        "stage": str(rollout.stage),
        "outcome": str(rollout.outcome),
        "from": {"build_number": rollout.source.build_number, "settings": rollout.settings_before.stored()},
        "to": {"build_number": rollout.target.build_number, "settings": rollout.settings_after.stored()},
        "allow_downtime": rollout.allow_downtime,
        "gap": rollout.gap,
        "start_time": rollout.start_time_ms,
        "end_time": rollout.end_time_ms,
        "reason": rollout.reason,
    }


def render_history_entry(entry: HistoryEntry) -> dict[str, Any]:
    rendered = dataclasses.asdict(entry)
    rendered["id"] = rendered.pop("entry_id")
    rendered["time"] = rendered.pop("time_ms")
    rendered["end_time"] = rendered.pop("end_time_ms")
    return rendered
