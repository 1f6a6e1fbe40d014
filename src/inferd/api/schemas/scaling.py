"""The adaptive allocations scaler's view of a deployment, as inferd's API shows it: its events and its status."""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from inferd.api.human import human_time
from inferd.control.scaling import Estimate, ScalerStatus, ScalingEvent


def render_scaling_event(event: ScalingEvent) -> dict[str, Any]:
    """One decision with its inputs: what the scaler measured, what the load needed and which rule fired."""
    rendered: dict[str, Any] = {
        "timestamp": event.timestamp_ms,
        "time": human_time(event.timestamp_ms),
        "action": event.action,
        "allocations": event.allocations,
    }
    if event.repeats > 1:
        rendered["repeats"] = event.repeats
        rendered["first_timestamp"] = event.first_timestamp_ms
    if event.error is not None:
        rendered["error"] = event.error
    decision = event.decision
    if decision is not None:
        rendered["rule"] = decision.rule
        rendered["inputs"] = {
            "current_allocations": decision.current_allocations,
            "needed_allocations": decision.needed_allocations,
            "new_allocations": decision.new_allocations,
            "request_rate_per_s": _estimate(decision.request_rate),
            "inference_time_s": _estimate(decision.inference_time),
            "load_lower": _number(decision.load_lower),
            "load_upper": _number(decision.load_upper),
            "min_number_of_allocations": decision.min_allocations,
            "max_number_of_allocations": decision.max_allocations,
            "time_without_requests_s": _number(decision.time_without_requests_s),
        }
    return rendered


def render_scaler_status(status: ScalerStatus | None, waiting_requests: int) -> dict[str, Any]:
    """Needed against current allocations and when the scaler last decided (absent before its first poll)."""
    rendered: dict[str, Any] = {"requests_waiting_for_allocation": waiting_requests}
    if status is not None:
        rendered |= {"current_allocations": status.current_allocations,
                     "needed_allocations": status.needed_allocations}
        if status.last_decision_ms is not None:
            rendered["last_decision_time"] = status.last_decision_ms
            rendered["last_decision_time_string"] = human_time(status.last_decision_ms)
    return rendered


def _estimate(estimate: Estimate | None) -> dict[str, float | None] | None:
    return None if estimate is None else {name: _number(value) for name, value in asdict(estimate).items()}


def _number(value: float | None) -> float | None:
    """JSON has no NaN or infinity: an estimate that is not a number is shown as null."""
    return None if value is None or not math.isfinite(value) else value
