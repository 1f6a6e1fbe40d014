"""A rollout: moving a serving deployment to another revision (a build with its resources) without a gap.

The new workers start beside the old ones, each answers one check inference, then the routing table
switches to them in one step and the old workers drain. Until the switch nothing the callers see has
changed, so a rollout that fails leaves the old revision serving. Its stage moves by one table:
starting -> verifying -> draining -> done; its outcome is settled once, at the switch or at a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from inferd.control.deployment_settings import DeploymentSettings
from inferd.runtime.revision import Revision
from inferd.runtime.route import Route
from inferd.store import HistoryEntry


class RolloutAction(StrEnum):
    REDEPLOY = "redeploy"
    ROLLBACK = "rollback"
    RESTART = "restart"


class RolloutStage(StrEnum):
    STARTING = "starting"
    VERIFYING = "verifying"
    DRAINING = "draining"
    DONE = "done"


class RolloutOutcome(StrEnum):
    IN_PROGRESS = "in_progress"
    SUCCEEDED = "succeeded"
    """Traffic is on the target (its old workers may still drain)."""
    FAILED = "failed"


NEXT_STAGE: dict[RolloutStage, RolloutStage] = {
    RolloutStage.STARTING: RolloutStage.VERIFYING,
    RolloutStage.VERIFYING: RolloutStage.DRAINING,
    RolloutStage.DRAINING: RolloutStage.DONE,
}


class IllegalRolloutStep(Exception):
    pass


PROBE_TEXT = "inferd checks that this worker answers before it takes traffic."
PROBE_OPTIONS: dict[str, dict[str, Any]] = {
    # The tasks that need more than the text to run; a stored value wins.
    "question_answering": {"question": "What does inferd check?"},
    "text_similarity": {"text": "inferd checks this worker."},
    "zero_shot_classification": {"labels": ["check", "traffic"]},
}


def probe_options(revision: Revision) -> dict[str, Any]:
    """The task options of the check inference: the revision's own, with what the task cannot run without."""
    stored = {name: value for name, value in revision.task_options.items() if value is not None}
    return {**PROBE_OPTIONS.get(revision.task_type, {}), **stored}


@dataclass
class Rollout:
    action: RolloutAction
    source: Revision
    target: Revision
    settings_before: DeploymentSettings
    settings_after: DeploymentSettings
    start_time_ms: int
    entry: HistoryEntry | None
    """Its history entry, as stored (with its id); None for a change made in place."""
    allow_downtime: bool = False
    gap: bool = False
    """The old workers stop before the new ones start: memory cannot hold both, and the user accepted the gap."""
    routes: dict[str, Route] = field(default_factory=dict)
    """The new routes, by node, until they take the traffic."""
    stage: RolloutStage = RolloutStage.STARTING
    outcome: RolloutOutcome = RolloutOutcome.IN_PROGRESS
    end_time_ms: int | None = None
    reason: str | None = None

    @property
    def shifted(self) -> bool:
        """The target's workers take the traffic."""
        return self.stage in (RolloutStage.DRAINING, RolloutStage.DONE)

    @property
    def in_progress(self) -> bool:
        return self.outcome is RolloutOutcome.IN_PROGRESS

    def advance(self, to: RolloutStage) -> None:
        if NEXT_STAGE.get(self.stage) is not to:
            raise IllegalRolloutStep(f"a rollout at stage [{self.stage}] cannot move to [{to}]")
        self.stage = to

    def succeed(self) -> None:
        """Traffic moved to the target: its old workers drain next."""
        self._settle(RolloutOutcome.SUCCEEDED)
        self.advance(RolloutStage.DRAINING)

    def finish(self, now_ms: int) -> None:
        self.advance(RolloutStage.DONE)
        self.end_time_ms = now_ms

    def fail(self, reason: str, now_ms: int) -> None:
        """It ends where it was: the stage stays, the old revision serves."""
        self._settle(RolloutOutcome.FAILED)
        self.reason, self.end_time_ms = reason, now_ms

    def _settle(self, outcome: RolloutOutcome) -> None:
        if not self.in_progress:
            raise IllegalRolloutStep(f"a rollout that has [{self.outcome}] cannot become [{outcome}]")
        self.outcome = outcome


def done_in_place(action: RolloutAction, source: Revision, before: DeploymentSettings, after: DeploymentSettings,
                  now_ms: int, changed: bool) -> Rollout:
    """The record of a re-deploy that only resized the running workers."""
    rollout = Rollout(action, source, source, before, after, now_ms, None, stage=RolloutStage.DONE,
                      outcome=RolloutOutcome.SUCCEEDED, end_time_ms=now_ms,
                      reason=None if changed else "nothing to change")
    return rollout


class RolloutFailed(Exception):
    """The rollout cannot go on; the message says why (the old workers keep serving)."""
