"""The deployments commands' options as the request bodies and parameters the server takes."""

from __future__ import annotations

import pytest
import typer

from inferd.cli.deployments import (
    Priority,
    WaitFor,
    adaptive_allocations,
    rollout_fields,
    settings_fields,
    start_wait_for,
    timeout_seconds,
)


def test_only_the_given_settings_are_sent_under_elasticsearchs_names() -> None:
    assert settings_fields() == {}
    assert settings_fields(allocations=2, threads=4, queue_capacity=64, cache_size="10mb", priority=Priority.LOW,
                           adaptive={"enabled": False}) == {
        "number_of_allocations": 2, "threads_per_allocation": 4, "queue_capacity": 64, "cache_size": "10mb",
        "priority": "low", "adaptive_allocations": {"enabled": False},
    }
    assert settings_fields(allocations=0) == {"number_of_allocations": 0}  # zero is a value, not "unset"


def test_adaptive_allocations() -> None:
    assert adaptive_allocations(None, None, None) is None
    assert adaptive_allocations(True, None, None) == {"enabled": True}
    assert adaptive_allocations(True, 0, 4) == {"enabled": True, "min_number_of_allocations": 0,
                                                "max_number_of_allocations": 4}
    assert adaptive_allocations(False, None, None) == {"enabled": False}
    for adaptive in (None, False):
        with pytest.raises(typer.BadParameter, match="--min and --max go with --adaptive"):
            adaptive_allocations(adaptive, None, 3)


def test_rollout_fields() -> None:
    assert rollout_fields(None, False) == {}
    assert rollout_fields(2, True) == {"build": 2, "allow_downtime": True}


def test_what_elasticsearchs_start_waits_for() -> None:
    assert start_wait_for(True, None) is WaitFor.STARTED
    assert start_wait_for(True, WaitFor.FULLY_ALLOCATED) is WaitFor.FULLY_ALLOCATED
    assert start_wait_for(False, None) is WaitFor.STARTING  # answers once the deployment exists
    with pytest.raises(typer.BadParameter):
        start_wait_for(False, WaitFor.STARTED)


def test_timeouts_are_elasticsearch_time_values() -> None:
    assert timeout_seconds("90s") == 90 and timeout_seconds("10m") == 600 and timeout_seconds("500ms") == 0.5
    assert timeout_seconds("-1") is None
