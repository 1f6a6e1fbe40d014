"""Elasticsearch's rules for moving a model alias (TransportPutTrainedModelAliasAction), judged by the models'
tasks and deployments."""

from __future__ import annotations

import pytest

from inferd.control.alias_moves import Assignments, check_alias_move
from inferd.errors import BadRequest
from inferd.store import BuildRecord, ModelRecord

NOT_DEPLOYED = "cannot reassign model_alias [current] to model [new] from model [old] as it is not yet deployed"
NOT_ALLOCATED = (
    "cannot reassign model_alias [current] to model [new]  from model [old] as it is not yet allocated to any nodes"
)


def model(model_id: str, task: str = "text_embedding") -> ModelRecord:
    build = BuildRecord(model_id, 1, {"inference_config": {task: {}}}, 0, None, None, None, 0, 0, False)
    return ModelRecord(model_id, 0, build, ())


def refusal(assignments: Assignments, new_task: str = "text_embedding") -> str | None:
    """The refusal's message, or None when the move is allowed."""
    try:
        check_alias_move("current", model("new", new_task), model("old"), assignments)
    except BadRequest as error:
        assert (error.status, error.error_type) == (400, "status_exception")
        return str(error)
    return None


@pytest.mark.parametrize(
    "assignments",
    [
        {},  # neither is deployed
        {"new": ["starting"]},  # only the new one is
        {"old": ["started"], "new": ["fully_allocated"]},
        {"old": ["fully_allocated"], "new": ["started"]},
        # The old one does not serve: the new one need not either.
        {"old": ["starting"], "new": ["starting"]},
        {"old": [None], "new": [None]},
        {"old": ["starting", None], "new": ["starting"]},
    ],
)
def test_allowed_moves(assignments: Assignments) -> None:
    assert refusal(assignments) is None


@pytest.mark.parametrize(
    "old_states",
    [["started"], ["starting"], [None], ["fully_allocated", "starting"]],
)
def test_a_deployed_alias_never_moves_to_an_undeployed_model(old_states: list[str | None]) -> None:
    """Any assignment of the old model counts, whatever its state (a stopping one included)."""
    assert refusal({"old": old_states}) == NOT_DEPLOYED
    assert refusal({"old": old_states, "other": ["started"]}) == NOT_DEPLOYED


@pytest.mark.parametrize(
    "assignments",
    [
        {"old": ["fully_allocated"], "new": ["starting"]},
        {"old": ["started"], "new": [None]},
        # One serving old deployment and one new deployment not yet serving are enough, as in Elasticsearch.
        {"old": ["starting", "started"], "new": ["fully_allocated", "starting"]},
    ],
)
def test_a_serving_alias_never_moves_to_a_model_without_allocations(assignments: Assignments) -> None:
    assert refusal(assignments) == NOT_ALLOCATED


def test_the_task_is_checked_first() -> None:
    assert refusal({"old": ["started"]}, new_task="ner") == (
        "cannot reassign model_alias [current] to model [new] with inference config type [ner] "
        "from model [old] with type [text_embedding]"
    )
