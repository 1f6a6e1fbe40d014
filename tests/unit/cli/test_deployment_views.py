"""How `-o table` shows deployments, their rollouts and their history."""

from __future__ import annotations

import io
import re
from typing import Any

from rich.console import Console
from rich.table import Table

from inferd.cli.deployment_views import (
    allocations_text,
    assignment_line,
    builds_text,
    deployments_table,
    history_table,
    rollout_text,
    settings_changes,
    view_tables,
)

SETTINGS = {"number_of_allocations": 2, "threads_per_allocation": 1, "queue_capacity": 1024, "cache_size": "10mb",
            "priority": "normal", "adaptive_allocations": None}
ROLLOUT = {"action": "redeploy", "stage": "draining", "outcome": "in_progress", "from": {"build_number": 1},
           "to": {"build_number": 2}, "start_time": 1764560000000, "end_time": None, "reason": None}
VIEW: dict[str, Any] = {
    "deployment_id": "my-model", "model_id": "my-model", "build_number": 2, "lifecycle": "deploying",
    "state": "started", "settings": SETTINGS, "rollout": ROLLOUT, "start_time": 1764560000000,
    "routes": [
        {"node": "inferd-0", "build_number": 1, "role": "draining", "routing_state": "stopping", "allocations": 2},
        {"node": "inferd-0", "build_number": 2, "role": "serving", "routing_state": "started", "allocations": 2},
    ],
}


def text(table: Table) -> str:
    console = Console(width=250, file=io.StringIO())
    console.print(table)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_allocations_count_the_serving_routes_against_the_target() -> None:
    assert allocations_text(VIEW) == "2/2"
    adaptive = {**VIEW, "settings": {**SETTINGS, "adaptive_allocations": {
        "enabled": True, "min_number_of_allocations": 1, "max_number_of_allocations": 4}}}
    assert allocations_text(adaptive) == "2/2 (adaptive 1-4)"
    assert allocations_text({"routes": [], "settings": {}}) == "0/-"


def test_a_rollout_in_one_phrase() -> None:
    assert rollout_text(None) == "-"
    assert rollout_text(ROLLOUT) == "redeploy build 1 → 2: draining"
    assert rollout_text({**ROLLOUT, "outcome": "succeeded"}) == "redeploy build 1 → 2: draining"
    assert rollout_text({**ROLLOUT, "outcome": "succeeded", "stage": "done"}) == "redeploy build 1 → 2: succeeded"
    failed = {**ROLLOUT, "stage": "verifying", "outcome": "failed", "reason": "inference failed"}
    assert rollout_text(failed) == "redeploy build 1 → 2: failed (inference failed)"


def test_settings_changes_name_only_what_changed() -> None:
    after = {**SETTINGS, "number_of_allocations": 4, "adaptive_allocations": {"enabled": True,
                                                                              "min_number_of_allocations": 1,
                                                                              "max_number_of_allocations": 8}}
    assert settings_changes(SETTINGS, after) == "allocations 2→4, adaptive off→1-8"
    assert settings_changes(SETTINGS, SETTINGS) == "-"
    assert settings_changes(None, {"number_of_allocations": 1, "threads_per_allocation": 2,
                                   "adaptive_allocations": None}) == "allocations 1, threads 2"  # a first start
    assert settings_changes(SETTINGS, None) == "-"  # a stop
    assert [builds_text(1, 2), builds_text(None, 1), builds_text(1, None), builds_text(2, 2)] == ["1 → 2", "1", "1", "2"]


def test_tables() -> None:
    listed = text(deployments_table([VIEW]))
    assert "my-model" in listed and "deploying" in listed and "redeploy build 1 → 2: draining" in listed
    fields, routes = view_tables(VIEW)
    assert len(view_tables({**VIEW, "routes": []})) == 1  # a stopped deployment: no empty routes table
    assert re.search(r"cache size +10mb", text(fields)) and re.search(r"allocations +2/2", text(fields))
    assert "draining" in text(routes) and "stopping" in text(routes)
    entry = {"id": 7, "time": 1764560000000, "end_time": 1764560002100, "action": "redeploy", "actor": "admin",
             "build_before": 1, "build_after": 2, "settings_before": SETTINGS, "settings_after": SETTINGS,
             "outcome": "succeeded", "reason": None}
    history = text(history_table([entry, {**entry, "id": 8, "action": "restart", "build_before": 2}]))
    assert "1 → 2" in history and "2.1s" in history and "2025-12-01 03:33:20" in history


def test_elasticsearchs_assignment_in_one_line() -> None:
    assignment = {"task_parameters": {"model_id": "m", "deployment_id": "d", "number_of_allocations": 3},
                  "routing_table": {"inferd-0": {"current_allocations": 2}, "inferd-1": {"current_allocations": 1}},
                  "assignment_state": "started"}
    assert assignment_line(assignment) == "deployment d of model m: started, 3 of 3 allocations on 2 nodes"
