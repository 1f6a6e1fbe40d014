"""Deployments as `-o table` shows them: the list, one view with its routes and rollout, the history.

Pure functions from the server's JSON (docs/rollouts.md) to rich tables and lines, so they are tested
without a server.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from inferd.cli.output import cell, duration_text, fields_table, time_text

# Settings as a person reads them (history's changes, `show`), in the order they are shown.
SETTING_NAMES = {
    "number_of_allocations": "allocations",
    "threads_per_allocation": "threads",
    "queue_capacity": "queue capacity",
    "cache_size": "cache size",
    "priority": "priority",
    "adaptive_allocations": "adaptive",
}


def setting_text(name: str, value: Any) -> str:
    if name == "adaptive_allocations":
        if not value or not value.get("enabled"):
            return "off"
        low, high = value.get("min_number_of_allocations"), value.get("max_number_of_allocations")
        return f"{'?' if low is None else low}-{'?' if high is None else high}"
    return "-" if value is None else str(value)


def allocations_text(view: dict[str, Any]) -> str:
    """Allocations serving now (incoming and draining routes left out) of the target, and the adaptive range."""
    settings = view.get("settings") or {}
    serving = sum(route.get("allocations", 0) for route in view.get("routes") or [] if route.get("role") == "serving")
    target = settings.get("number_of_allocations")
    text = f"{serving}/{'-' if target is None else target}"
    adaptive = settings.get("adaptive_allocations")
    if adaptive and adaptive.get("enabled"):
        text += f" (adaptive {setting_text('adaptive_allocations', adaptive)})"
    return text


def rollout_text(rollout: dict[str, Any] | None) -> str:
    if rollout is None:
        return "-"
    before, after = (rollout.get(end) or {} for end in ("from", "to"))
    builds = f"build {before.get('build_number', '?')} → {after.get('build_number', '?')}"
    settled = rollout.get("outcome") == "failed" or rollout.get("stage") == "done"
    state = rollout.get("outcome") if settled else rollout.get("stage")  # succeeded and draining: still draining
    text = f"{rollout.get('action')} {builds}: {state}"
    return f"{text} ({rollout['reason']})" if rollout.get("reason") else text


def settings_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """`allocations 1→2, threads 1→4`: the settings an action changed; a first start's settings as they are,
    none for a stop."""
    if after is None:
        return "-"
    if before is None:
        return ", ".join(f"{label} {setting_text(name, value)}" for name, label in SETTING_NAMES.items()
                         if (value := after.get(name)) is not None) or "-"
    changes = [f"{label} {setting_text(name, before.get(name))}→{setting_text(name, after.get(name))}"
               for name, label in SETTING_NAMES.items()
               if setting_text(name, before.get(name)) != setting_text(name, after.get(name))]
    return ", ".join(changes) or "-"


def deployments_table(views: list[dict[str, Any]]) -> Table:
    table = Table("deployment", "model", "build", "lifecycle", "state", "allocations", "rollout")
    for view in views:
        table.add_row(cell(view.get("deployment_id")), cell(view.get("model_id")), cell(view.get("build_number")),
                      cell(view.get("lifecycle")), cell(view.get("state")), escape(allocations_text(view)),
                      escape(rollout_text(view.get("rollout"))))
    return table


def view_tables(view: dict[str, Any]) -> list[Table]:
    """`show`: the deployment's fields, then its routes (a stopped one has none)."""
    settings = view.get("settings") or {}
    fields = fields_table([
        ("deployment", view.get("deployment_id")),
        ("model", view.get("model_id")),
        ("build", view.get("build_number")),
        ("lifecycle", view.get("lifecycle")),
        ("state", view.get("state")),
        ("allocations", allocations_text(view)),
        *((label, setting_text(name, settings.get(name))) for name, label in SETTING_NAMES.items()
          if name not in ("number_of_allocations", "adaptive_allocations")),
        ("rollout", rollout_text(view.get("rollout"))),
        ("started", time_text(view.get("start_time"))),
    ])
    if not view.get("routes"):
        return [fields]
    routes = Table("node", "build", "role", "routing state", "allocations", title="routes", title_justify="left")
    for route in view["routes"]:
        routes.add_row(cell(route.get("node")), cell(route.get("build_number")), cell(route.get("role")),
                       cell(route.get("routing_state")), cell(route.get("allocations")))
    return [fields, routes]


def builds_text(before: int | None, after: int | None) -> str:
    """`1 → 2` when an action moved the build, else the one build it concerned."""
    if before is None or after is None or before == after:
        return cell(after if after is not None else before)
    return f"{before} → {after}"


def history_table(entries: list[dict[str, Any]]) -> Table:
    table = Table("id", "time", "action", "actor", "build", "changes", "outcome", "took", "reason")
    for entry in entries:
        table.add_row(cell(entry.get("id")), time_text(entry.get("time")), cell(entry.get("action")),
                      cell(entry.get("actor")), builds_text(entry.get("build_before"), entry.get("build_after")),
                      escape(settings_changes(entry.get("settings_before"), entry.get("settings_after"))),
                      cell(entry.get("outcome")), duration_text(entry.get("time"), entry.get("end_time")),
                      cell(entry.get("reason")))
    return table


def assignment_line(assignment: dict[str, Any]) -> str:
    """Elasticsearch's `_start`/`_update` answer in one line."""
    task = assignment.get("task_parameters") or {}
    routes = (assignment.get("routing_table") or {}).values()
    current = sum(route.get("current_allocations", 0) for route in routes)
    nodes = len(routes)
    return (f"deployment {task.get('deployment_id')} of model {task.get('model_id')}: "
            f"{assignment.get('assignment_state')}, {current} of {task.get('number_of_allocations')} allocations "
            f"on {nodes} node{'' if nodes == 1 else 's'}")
