"""The deployment history: one entry per change a user asked for (and per failure the server met by itself).

An entry is written in the same transaction as the change it records (the store's `save`, `update`, `stop`);
this recorder makes the entries, and writes on its own only what has no change of state to go with it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from inferd.clock import Clock
from inferd.control.deployment import Deployment
from inferd.control.deployment_settings import DeploymentSettings
from inferd.store import DeploymentStore, HistoryEntry

SYSTEM_ACTOR = "_inferd"
"""Who the history names for what the server did by itself (a worker failing for good)."""
SUCCEEDED, FAILED, IN_PROGRESS = "succeeded", "failed", "in_progress"


class HistoryRecorder:
    def __init__(self, store: DeploymentStore, clock: Clock,
                 spawn: Callable[[Coroutine[Any, Any, Any]], None]) -> None:
        self._store = store
        self._clock = clock
        self._spawn = spawn

    def entry(self, deployment: Deployment, action: str, actor: str, build_before: int | None,
              build_after: int | None, settings_before: DeploymentSettings | None,
              settings_after: DeploymentSettings | None, *, outcome: str = SUCCEEDED,
              reason: str | None = None) -> HistoryEntry:
        now_ms = self._clock.now_ms()
        return HistoryEntry(deployment.deployment_id, deployment.model_id, now_ms, action, actor, build_before,
                            build_after, None if settings_before is None else settings_before.stored(),
                            None if settings_after is None else settings_after.stored(), outcome, reason,
                            None if outcome == IN_PROGRESS else now_ms)

    def record_failure(self, deployment: Deployment, reason: str) -> None:
        """A worker failed for good: nothing else changes, so the entry is written on its own, in the background."""
        settings, build = deployment.settings, deployment.serving.build_number
        entry = self.entry(deployment, "failure", SYSTEM_ACTOR, build, build, settings, settings, outcome=FAILED,
                           reason=reason)
        self._spawn(asyncio.to_thread(self._store.add_history, entry))
