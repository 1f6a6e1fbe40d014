"""Rendering inferd's own view of deployments: lifecycle, build per route, rollouts and history (docs/rollouts.md)."""

from __future__ import annotations

import dataclasses
from typing import Any

from inferd.control.deployment import Deployment
from inferd.control.rollout import Rollout
from inferd.runtime.route import Route
from inferd.store import DeploymentRecord, HistoryEntry


def render_view(deployment: Deployment) -> dict[str, Any]:
    rollout = deployment.rollout or deployment.last_rollout
    routes = [_route(route, deployment.build_number, "serving") for _, route in sorted(deployment.routes.items())]
    if deployment.rollout is not None:
        routes += [_route(route, deployment.rollout.target.build_number, "incoming")
                   for _, route in sorted(deployment.rollout.routes.items())]
    routes += [_route(route, revision.build_number, "draining") for route, revision in deployment.draining.items()]
    return {
        "deployment_id": deployment.deployment_id,
        "model_id": deployment.model_id,
        "build_number": deployment.build_number,
        "lifecycle": deployment.lifecycle,
        "state": deployment.state,
        "settings": deployment.settings(),
        "routes": routes,
        "rollout": None if rollout is None else render_rollout(rollout),
        "start_time": deployment.start_time_ms,
    }


def render_stopped(record: DeploymentRecord) -> dict[str, Any]:
    return {
        "deployment_id": record.deployment_id,
        "model_id": record.model_id,
        "build_number": record.build_number,
        "lifecycle": "stopped",
        "state": "stopped",
        "settings": record.settings,
        "routes": [],
        "rollout": None,
        "start_time": record.start_time_ms,
        "stop_time": record.stop_time_ms,
    }


def _route(route: Route, build_number: int, role: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"node": route.node_id, "build_number": build_number, "role": role,
                             "routing_state": str(route.state), "allocations": route.allocations}
    if route.reason:
        entry["reason"] = route.reason
    return entry


def render_rollout(rollout: Rollout) -> dict[str, Any]:
    return {
        "action": rollout.action,
        "stage": rollout.stage,
        "outcome": rollout.outcome,
        "from": {"build_number": rollout.source.build_number, "settings": rollout.settings_before},
        "to": {"build_number": rollout.target.build_number, "settings": rollout.settings_after},
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
