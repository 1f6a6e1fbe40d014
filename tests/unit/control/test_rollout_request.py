"""Reading rollout requests, and the settings a re-deploy moves a deployment to."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from inferd.control.deployment_request import AdaptiveAllocations
from inferd.control.rollout import probe_options
from inferd.control.rollout_request import parse_rollout_request, settings_after
from inferd.errors import IllegalArgument, ParseError, ValidationFailed
from tests.support.control import make_revision

CURRENT: dict[str, Any] = {"number_of_allocations": 2, "threads_per_allocation": 1, "queue_capacity": 1024,
                           "cache_size": "1mb", "priority": "normal", "max_batch_documents": 16,
                           "adaptive_allocations": None}


def test_a_redeploy_takes_resources_from_the_query_or_the_body() -> None:
    request = parse_rollout_request("redeploy", {"wait_for": "shifted", "timeout": "1m"},
                                    {"build": 3, "threads_per_allocation": "2", "allow_downtime": True})
    assert (request.build, request.wait_for, request.timeout_s, request.allow_downtime) == (3, "shifted", 60.0, True)
    assert request.changes == {"threads_per_allocation": 2}
    assert parse_rollout_request("restart", {}, None).wait_for == "done"


@pytest.mark.parametrize(("action", "body", "error", "message"), [
    ("restart", {"build": 2}, ParseError, "unknown field [build]"),
    ("rollback", {"threads_per_allocation": 2}, ParseError, "unknown field [threads_per_allocation]"),
    ("redeploy", {"wait_for": "later"}, ValidationFailed, "invalid [wait_for] [later]"),
    ("redeploy", {"build": 0}, ValidationFailed, "[build] must be a positive integer"),
    ("redeploy", {"priority": "urgent"}, IllegalArgument, "[priority] must be one of [normal, low]"),
    ("redeploy", {"allow_downtime": "maybe"}, ParseError, "only [true] or [false] are allowed"),
    ("redeploy", {"cache_size": "lots"}, IllegalArgument, "cache_size"),
])
def test_bad_requests_are_refused_in_elasticsearchs_words(action: str, body: dict[str, Any], error: type[Exception],
                                                          message: str) -> None:
    with pytest.raises(error, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rollout_request(action, {}, body)


def test_what_a_redeploy_does_not_name_keeps_its_current_value() -> None:
    after = settings_after(CURRENT, {"threads_per_allocation": 2})
    assert after == {**CURRENT, "threads_per_allocation": 2}


def test_the_resources_are_checked_as_start_checks_them() -> None:
    with pytest.raises(ValidationFailed, match="power of 2"):
        settings_after(CURRENT, {"threads_per_allocation": 3})
    with pytest.raises(ValidationFailed, match=r"must be 1 when \[priority\] is low"):
        settings_after(CURRENT, {"priority": "low"})  # with two allocations


def test_enabling_adaptive_allocations_keeps_the_count_within_the_new_bounds() -> None:
    adaptive = AdaptiveAllocations(True, 3, 5)
    after = settings_after(CURRENT, {"adaptive_allocations": adaptive})
    assert after["number_of_allocations"] == 3
    assert after["adaptive_allocations"] == {"enabled": True, "min_number_of_allocations": 3,
                                             "max_number_of_allocations": 5}
    with pytest.raises(ValidationFailed, match="cannot be set if adaptive allocations is enabled"):
        settings_after(CURRENT, {"adaptive_allocations": adaptive, "number_of_allocations": 4})
    capped = settings_after(CURRENT, {"adaptive_allocations": AdaptiveAllocations(True, None, 1)})
    assert capped["number_of_allocations"] == 1


def test_the_check_inference_brings_what_a_task_cannot_run_without() -> None:
    def probe(task_type: str, options: dict[str, Any]) -> dict[str, Any]:
        return probe_options(dataclasses.replace(make_revision(task_type=task_type), task_options=options))

    assert probe("question_answering", {"tokenization": {}})["question"]
    assert probe("zero_shot_classification", {"labels": ["x", "y"]})["labels"] == ["x", "y"]
    assert probe("text_embedding", {"results_field": "v"}) == {"results_field": "v"}
