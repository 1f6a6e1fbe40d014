"""`--wait`: following a rollout through its stages to the exit code its outcome gives, without a server."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

from rich.console import Console

from inferd.cli.progress import Outcome, Waited, follow, history_entry_for, outcome_line

START = 1764560000000


def rollout(stage: str, outcome: str = "in_progress", **fields: Any) -> dict[str, Any]:
    return {"action": "redeploy", "stage": stage, "outcome": outcome, "from": {"build_number": 1},
            "to": {"build_number": 2}, "start_time": START, "reason": None, **fields}


def view(current: dict[str, Any] | None, lifecycle: str = "deploying", build: int = 1) -> dict[str, Any]:
    return {"deployment_id": "d", "lifecycle": lifecycle, "build_number": build, "rollout": current,
            "routes": [{"node": "inferd-0", "build_number": build, "role": "serving", "allocations": 1}]}


class Fake:
    """The server's successive views, a history, a clock that ticks one second a poll, and what was printed."""

    def __init__(self, views: list[dict[str, Any]], history: list[dict[str, Any]] | None = None) -> None:
        self._views: Iterator[dict[str, Any]] = iter(views)
        self.history = history or []
        self.history_reads = 0
        self.now = 0.0
        self.out = io.StringIO()
        self.console = Console(file=self.out, width=200, force_terminal=False)

    def fetch_view(self) -> dict[str, Any]:
        return next(self._views)

    def fetch_history(self) -> list[dict[str, Any]]:
        self.history_reads += 1
        return self.history

    def follow(self, answer: dict[str, Any], timeout_s: float | None = None) -> Waited:
        def sleep(seconds: float) -> None:
            self.now += 1

        return follow(answer, self.fetch_view, self.fetch_history, timeout_s, console=self.console,
                      clock=lambda: self.now, sleep=sleep)


def test_a_rollout_is_followed_through_its_stages_to_success() -> None:
    fake = Fake([view(rollout("verifying")), view(rollout("verifying")), view(rollout("draining")),
                 view(rollout("done", "succeeded"), "deployed", 2)])
    waited = fake.follow({"deployment": view(rollout("starting")), "rollout": rollout("starting")})
    assert waited.outcome is Outcome.SUCCEEDED and waited.outcome.exit_code == 0
    assert waited.view["build_number"] == 2 and waited.rollout == rollout("done", "succeeded")
    lines = fake.out.getvalue().splitlines()
    assert len(lines) == 3  # a line per change, not per poll (stderr is no terminal here)
    assert lines[-1].startswith("redeploy d: build 1 → 2  starting → verifying → draining")
    assert "inferd-0: build 1 serving ×1" in lines[-1]
    assert fake.history_reads == 0


def test_a_failed_rollout_exits_1_with_its_reason() -> None:
    failed = rollout("verifying", "failed", reason="the new worker's inference failed")
    waited = Fake([view(failed, "deployed")]).follow({"deployment": view(rollout("starting")),
                                                       "rollout": rollout("starting")})
    assert waited.outcome is Outcome.FAILED and waited.outcome.exit_code == 1
    assert waited.reason == "the new worker's inference failed"
    assert "failed: the new worker's inference failed" in outcome_line(waited, "5m")


def test_past_the_timeout_the_wait_ends_with_exit_3_and_the_rollout_goes_on() -> None:
    fake = Fake([view(rollout("starting"))] * 10)
    waited = fake.follow({"deployment": view(rollout("starting")), "rollout": rollout("starting")}, timeout_s=3)
    assert waited.outcome is Outcome.TIMED_OUT and waited.outcome.exit_code == 3
    assert fake.now == 3
    line = outcome_line(waited, "3s")
    assert "still starting after 3s" in line and "inferd deployments show d" in line


def test_once_the_view_drops_the_rollout_its_history_entry_says_how_it_ended() -> None:
    entries = [{"id": 9, "time": START + 5000, "action": "restart", "outcome": "in_progress"},
               {"id": 8, "time": START + 2, "action": "redeploy", "outcome": "interrupted", "reason": "server stopped"},
               {"id": 7, "time": START - 60000, "action": "start", "outcome": "succeeded"}]
    fake = Fake([view({**rollout("starting"), "action": "restart", "start_time": START + 5000})], entries)
    waited = fake.follow({"deployment": view(rollout("starting")), "rollout": rollout("starting")})
    assert waited.outcome is Outcome.FAILED and waited.reason == "server stopped"  # not the newer restart's


def test_an_answer_that_already_ended_needs_no_polling() -> None:
    done = rollout("done", "succeeded")
    waited = Fake([]).follow({"deployment": view(done, "deployed", 2), "rollout": done})
    assert waited.outcome is Outcome.SUCCEEDED


def test_success_waits_for_the_old_workers_to_drain() -> None:
    shifted = rollout("draining", "succeeded")  # the traffic has moved; the old workers still finish their work
    fake = Fake([view(shifted, "deployed", 2), view(rollout("done", "succeeded"), "deployed", 2)])
    waited = fake.follow({"deployment": view(rollout("verifying")), "rollout": rollout("verifying")})
    assert waited.outcome is Outcome.SUCCEEDED and waited.rollout["stage"] == "done" and fake.now == 2


def test_the_history_entry_of_a_rollout_is_the_closest_in_time() -> None:
    entries = [{"time": START + 10}, {"time": START - 3}, {"time": START - 100}]
    assert history_entry_for(entries, rollout("done")) == {"time": START - 3}
    assert history_entry_for([], rollout("done")) is None
