"""A rollout: moving a serving deployment to another revision (a build with its resources) without a gap.

The new workers start beside the old ones, each answers one check inference, then the routing table
switches to them in one step and the old workers drain. Until the switch nothing the callers see has
changed, so a rollout that fails leaves the old revision serving.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inferd.control.deployment import Revision
from inferd.runtime.route import Route
from inferd.store import HistoryEntry

ACTIONS = ("redeploy", "rollback", "restart")

PROBE_TEXT = "inferd checks that this worker answers before it takes traffic."
PROBE_OPTIONS: dict[str, dict[str, Any]] = {
    # The tasks that need more than the text to run; a stored value wins.
    "question_answering": {"question": "What does inferd check?"},
    "text_similarity": {"text": "inferd checks this worker."},
    "zero_shot_classification": {"labels": ["check", "traffic"]},
}


def probe_options(task_type: str, task_options: dict[str, Any]) -> dict[str, Any]:
    """The task options of the check inference: the revision's own, with what the task cannot run without."""
    return {**PROBE_OPTIONS.get(task_type, {}), **{k: v for k, v in task_options.items() if v is not None}}


@dataclass
class Rollout:
    action: str
    source: Revision
    target: Revision
    settings_before: dict[str, Any]
    settings_after: dict[str, Any]
    start_time_ms: int
    entry: HistoryEntry | None
    """Its history entry, as stored (with its id); None for a change made in place."""
    allow_downtime: bool = False
    gap: bool = False
    """The old workers stop before the new ones start: memory cannot hold both, and the user accepted the gap."""
    routes: dict[str, Route] = field(default_factory=dict)
    """The new routes, by node, until they take the traffic."""
    stage: str = "starting"
    """starting → verifying → draining → done; a rollout that fails stops where it was."""
    outcome: str = "in_progress"
    """in_progress, succeeded (traffic is on the target; its old workers may still drain) or failed."""
    end_time_ms: int | None = None
    reason: str | None = None

    @property
    def shifted(self) -> bool:
        """The target's workers take the traffic."""
        return self.stage in ("draining", "done")


class RolloutFailed(Exception):
    """The rollout cannot go on; the message says why (the old workers keep serving)."""
