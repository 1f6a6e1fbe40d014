"""Whether a model alias may move from one model to another: Elasticsearch's reassignment rules.

A pure port of the checks `TransportPutTrainedModelAliasAction` makes when `reassign` moves an alias
(elastic/elasticsearch, x-pack ml `action/TransportPutTrainedModelAliasAction.java`), in its order:
the task (inference config type) must stay the same, and an alias that serves inference must not move
to a model that cannot serve it yet. Each failure is a 400 `status_exception` (`badRequestException`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from inferd.errors import BadRequest
from inferd.store import ModelRecord

SERVING_STATES = frozenset({"started", "fully_allocated"})
"""Allocation states of a deployment that answers inference (Elasticsearch's STARTED and FULLY_ALLOCATED)."""

Assignments = Mapping[str, Sequence[str | None]]
"""Model id -> the allocation state of each of its deployments; None for one that is stopping (Elasticsearch's
`calculateAllocationStatus` has no status then). A model without deployments is absent."""


def check_alias_move(alias: str, new: ModelRecord, old: ModelRecord, assignments: Assignments) -> None:
    """Refuse moving `alias` from `old` to `new` where Elasticsearch does; `assignments` as of the request.

    "Deployed" means what Elasticsearch's `assignmentsForModelId` means: an assignment of the model exists,
    whatever its deployment id (one model may run under several, none of them named after it) and whatever its
    state (starting, started, stopping or failed: an assignment stays until it is stopped). A deployment that
    failed to start is forgotten, and a stopped one is no longer an assignment, so neither counts. A model that is
    deployed but still starting counts as deployed; the second rule then refuses it while the old model serves,
    since the alias would point at a model with no allocation to answer it.
    """
    new_task = _task_of(new)
    old_task = _task_of(old)
    if new_task != old_task:
        raise BadRequest(
            f"cannot reassign model_alias [{alias}] to model [{new.model_id}] with inference config type "
            f"[{new_task}] from model [{old.model_id}] with type [{old_task}]"
        )
    # Elasticsearch checks deployments for pytorch models only; inferd stores no other kind.
    old_states = assignments.get(old.model_id, ())
    if not old_states:
        return
    new_states = assignments.get(new.model_id, ())
    if not new_states:
        raise BadRequest(
            f"cannot reassign model_alias [{alias}] to model [{new.model_id}] from model [{old.model_id}] as it is "
            "not yet deployed"
        )
    if any(state in SERVING_STATES for state in old_states) and any(
        state is None or state == "starting" for state in new_states
    ):
        # The doubled space is Elasticsearch's own ("[{}] " + " from model").
        raise BadRequest(
            f"cannot reassign model_alias [{alias}] to model [{new.model_id}]  from model [{old.model_id}] as it is "
            "not yet allocated to any nodes"
        )


def _task_of(model: ModelRecord) -> str:
    return str(next(iter(model.build.config["inference_config"])))
