"""Reading inferd's rollout requests (`_redeploy`, `_rollback`, `_restart`) and `_start` of a stopped deployment.

Parameters come from the query string or the body, as for Elasticsearch's `_start`, and resources are
checked with the same rules; what is not given keeps the deployment's current value. Each action's body is
typed (`BODIES`), as `_start`'s is: its fields are what the action takes, its JSON schema the description.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, ValidationInfo

from inferd.control.builds import MAX_BUILD_NUMBER
from inferd.control.deployment_request import (
    AdaptiveAllocations,
    DeploymentResources,
    EsInteger,
    EsText,
    PRIORITIES,
    check_typed,
    merge_parameters,
    parse_adaptive,
    parse_cache_size,
    parse_inferd,
    parse_integer,
    parse_timeout,
    resource_problems,
)
from inferd.control.request_body import POSITIVE_TIME, Checked, StrictBody
from inferd.errors import IllegalArgument, ParseError, ValidationFailed
from inferd.runtime.device import CPU, DeviceRequest, Precision, precision_problems

RolloutWait = Literal["none", "shifted", "done"]
ROLLOUT_WAITS: tuple[str, ...] = get_args(RolloutWait)
DEFAULT_ROLLOUT_TIMEOUT = "30s"


def _boolean(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise ParseError(f"Failed to parse value [{value}] as only [true] or [false] are allowed for [{name}]")


def _boolean_field(value: Any, info: ValidationInfo) -> bool:
    return _boolean(info.field_name or "", value)


class RestartBody(StrictBody):
    """How a rollout goes: what to wait for, how long, and whether serving may pause (`allow_downtime`)."""

    wait_for: Annotated[RolloutWait | None, Checked(nullable=False)] = None
    timeout: Annotated[EsText | None, Checked(nullable=False, **POSITIVE_TIME)] = None
    allow_downtime: Annotated[bool | None, BeforeValidator(_boolean_field), Checked(nullable=False)] = None


class RollbackBody(RestartBody):
    """A rollback to the build that served before (or the named `build`), with the resources it had."""

    build: Annotated[EsInteger | None, Checked(minimum=1, maximum=MAX_BUILD_NUMBER)] = None


class RedeployBody(DeploymentResources, RollbackBody):
    """A rollout of a build (by default the one running) with new resources, `_start`'s."""


BODIES: Mapping[str, type[RestartBody]] = {"redeploy": RedeployBody, "rollback": RollbackBody, "restart": RestartBody}


@dataclass(frozen=True)
class RolloutRequest:
    action: str
    build: int | None
    changes: Mapping[str, Any] = field(default_factory=dict)
    """The resources given, by setting name (as `Deployment.settings` names them)."""
    allow_downtime: bool = False
    wait_for: str = "done"
    timeout_s: float = 30.0
    timeout_text: str = DEFAULT_ROLLOUT_TIMEOUT


def parse_rollout_request(action: str, query: Mapping[str, str], body: Mapping[str, Any] | None) -> RolloutRequest:
    parser = f"inferd/deployments/{action}"
    given = merge_parameters(query, body, tuple(BODIES[action].model_fields), parser)
    wait_for = str(given.get("wait_for", "done"))
    timeout_s, timeout_text = parse_timeout(given, DEFAULT_ROLLOUT_TIMEOUT)
    build = given.get("build")
    changes: dict[str, Any] = {}
    for name in ("number_of_allocations", "threads_per_allocation", "queue_capacity"):
        if name in given:
            changes[name] = parse_integer(name, given[name])
    if "cache_size" in given:
        changes["cache_size"] = parse_cache_size(given["cache_size"])
    if "priority" in given:
        changes["priority"] = str(given["priority"])
        if changes["priority"] not in PRIORITIES:
            raise IllegalArgument(f"[priority] must be one of [{', '.join(PRIORITIES)}]; got [{changes['priority']}]")
    if "adaptive_allocations" in given:
        changes["adaptive_allocations"] = parse_adaptive(given["adaptive_allocations"], parser)
    changes |= parse_inferd(given.get("inferd")).changes()
    problems = []
    if wait_for not in ROLLOUT_WAITS:
        problems.append(f"invalid [wait_for] [{wait_for}]; must be one of [{', '.join(ROLLOUT_WAITS)}]")
    if timeout_s <= 0:
        problems.append("[timeout] must be positive")
    if build is not None and (isinstance(build, bool) or parse_integer("build", build) < 1):
        problems.append("[build] must be a positive integer")
    if problems:
        raise ValidationFailed(problems)
    request = RolloutRequest(
        action=action,
        build=None if build is None else parse_integer("build", build),
        changes=changes,
        allow_downtime=_boolean("allow_downtime", given.get("allow_downtime", False)),
        wait_for=wait_for,
        timeout_s=timeout_s,
        timeout_text=timeout_text,
    )
    check_typed(BODIES[action], body, parser)
    return request


def settings_after(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The deployment's settings with the request's changes, checked as `_start` checks them.

    Adaptive allocations given replace the current ones whole; with them enabled the allocation count is
    the scaler's, kept within the new bounds.
    """
    settings = {**current, **{name: value for name, value in changes.items() if value is not None}}
    adaptive = changes.get("adaptive_allocations", AdaptiveAllocations.from_settings(current))
    settings["adaptive_allocations"] = adaptive
    enabled = adaptive is not None and adaptive.enabled
    problems = resource_problems(changes.get("number_of_allocations") if enabled else settings["number_of_allocations"],
                                 settings["threads_per_allocation"], settings["queue_capacity"], settings["priority"],
                                 adaptive)
    problems += precision_problems(DeviceRequest.parse(str(settings.get("device") or CPU)),
                                   Precision(settings.get("precision") or Precision.FLOAT32))
    if problems:
        raise ValidationFailed(problems)
    if enabled and "number_of_allocations" not in changes:
        assert adaptive is not None
        low = adaptive.min_allocations or 0
        high = adaptive.max_allocations
        count = max(settings["number_of_allocations"], low)
        settings["number_of_allocations"] = min(count, high) if high is not None else count
    settings["adaptive_allocations"] = adaptive.stored() if adaptive is not None else None
    for name in ("device", "precision"):
        if name in settings:
            settings[name] = str(settings[name])
    return settings
