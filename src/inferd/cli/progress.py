"""`--wait`: follow a rollout live on stderr until it ends, and the exit code its outcome gives.

The rollout calls are made with `wait_for=none`; the answer's rollout is then followed by polling the
deployment's view, which shows the rollout in progress or else the last one. A rollout is recognised by its
action and start time, so a later rollout never passes for it; when the view no longer holds it (another
began since), its history entry, the one closest to its start time, gives the outcome.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.status import Status

from inferd.cli.output import err
from inferd.cli.rest import EXIT_TIMEOUT

POLL_INTERVAL_S = 0.25

View = dict[str, Any]


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"

    @property
    def exit_code(self) -> int:
        return {Outcome.SUCCEEDED: 0, Outcome.FAILED: 1, Outcome.TIMED_OUT: EXIT_TIMEOUT}[self]


@dataclass(frozen=True)
class Waited:
    """How the wait ended, with the last view and the last record of the rollout the server gave."""

    outcome: Outcome
    view: View
    rollout: dict[str, Any]

    @property
    def reason(self) -> str | None:
        return self.rollout.get("reason")


def is_same_rollout(candidate: dict[str, Any] | None, started: dict[str, Any]) -> bool:
    return (candidate is not None and candidate.get("action") == started.get("action")
            and candidate.get("start_time") == started.get("start_time"))


def history_entry_for(entries: list[dict[str, Any]], started: dict[str, Any]) -> dict[str, Any] | None:
    """The history entry that records `started`: the one whose time is closest to its start time."""
    start = started.get("start_time") or 0
    return min(entries, key=lambda entry: abs(entry["time"] - start), default=None)


def terminal_outcome(record: dict[str, Any]) -> Outcome | None:
    """A rollout's (or history entry's) outcome once it has ended: succeeded once the old workers have drained
    too (stage `done`, as the server's own `wait_for=done`), failed wherever it stopped; a history entry has
    no stage, and `interrupted` failed."""
    if record.get("outcome") in (None, "in_progress"):
        return None
    if record["outcome"] != "succeeded":
        return Outcome.FAILED
    return Outcome.SUCCEEDED if record.get("stage", "done") == "done" else None


def describe(view: View, started: dict[str, Any], stages_seen: list[str], elapsed_s: float) -> str:
    """The live line: action, builds, the stages seen so far (the last one current), and each route's role."""
    before, after = (started.get(end) or {} for end in ("from", "to"))
    trail = [f"[green]{escape(stage)}[/]" for stage in stages_seen[:-1]]
    trail += [f"[bold yellow]{escape(stage)}[/]" for stage in stages_seen[-1:]]
    return (f"{escape(str(started.get('action')))} {escape(str(view.get('deployment_id')))}: build "
            f"{before.get('build_number', '?')} → {after.get('build_number', '?')}  {' → '.join(trail)}  "
            f"[dim]{escape(routes_text(view))} ({elapsed_s:.0f}s)[/]")


def routes_text(view: View) -> str:
    routes = view.get("routes") or []
    return ", ".join(f"{route['node']}: build {route['build_number']} {route['role']} ×{route['allocations']}"
                     for route in routes) or "no routes"


class LiveLine:
    """A spinner with the line on a terminal; elsewhere (logs, CI) the line again each time it changes."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._status: Status | None = console.status("") if console.is_terminal else None
        self._last = ""

    def __enter__(self) -> LiveLine:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._status is not None:
            self._status.stop()

    def show(self, text: str, changed_part: str) -> None:
        if self._status is not None:
            self._status.update(text)
        elif changed_part != self._last:
            self._console.print(text)
        self._last = changed_part


def follow(
    answer: dict[str, Any],
    fetch_view: Callable[[], View],
    fetch_history: Callable[[], list[dict[str, Any]]],
    timeout_s: float | None,
    *,
    console: Console = err,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    interval_s: float = POLL_INTERVAL_S,
) -> Waited:
    """Poll until the rollout in `answer` (`{"deployment", "rollout"}`) ends or `timeout_s` passes (None: never)."""
    started: dict[str, Any] = answer["rollout"]
    view: View = answer["deployment"]
    rollout = started
    begun = clock()
    stages_seen: list[str] = []
    with LiveLine(console) as line:
        while True:
            if terminal_outcome(rollout) is None:
                rollout = _latest_record(view, started, fetch_history) or rollout
            stage = rollout.get("stage")
            if stage and stages_seen[-1:] != [stage]:
                stages_seen.append(stage)
            outcome = terminal_outcome(rollout)
            if outcome is not None:
                return Waited(outcome, view, rollout)
            elapsed = clock() - begun
            line.show(describe(view, started, stages_seen, elapsed), changed_part=f"{stages_seen} {routes_text(view)}")
            if timeout_s is not None and elapsed >= timeout_s:
                return Waited(Outcome.TIMED_OUT, view, rollout)
            sleep(interval_s)
            view = fetch_view()


def _latest_record(view: View, started: dict[str, Any],
                   fetch_history: Callable[[], list[dict[str, Any]]]) -> dict[str, Any] | None:
    """The rollout as the view shows it; once the view shows another one, its history entry."""
    if is_same_rollout(view.get("rollout"), started):
        return view["rollout"]  # type: ignore[no-any-return]
    return history_entry_for(fetch_history(), started)


def outcome_line(waited: Waited, timeout_text: str) -> str:
    """What the command says once the wait ends (stderr), beside its exit code."""
    view, rollout = waited.view, waited.rollout
    name = escape(str(view.get("deployment_id")))
    what = f"{escape(str(rollout.get('action')))} of {name}"
    if waited.outcome is Outcome.SUCCEEDED:
        return f"[green]✓[/] {what} done: {name} is {escape(str(view.get('lifecycle')))} on build {view.get('build_number')}"
    if waited.outcome is Outcome.FAILED:
        return f"[red]✗[/] {what} failed: {escape(str(waited.reason))}"
    return (f"[yellow]…[/] {what} still {escape(str(rollout.get('stage')))} after {escape(timeout_text)}; it goes on in "
            f"the server: follow it with `inferd deployments show {name}`")
