"""One inference through the control plane: the id to a deployment, the deployment to a route, and one retry.

The route picked is the one the request is admitted to, and the request's texts and task options are read
against that route's revision, once (during a rollout two revisions serve side by side). A deployment with
no allocation that may scale from zero asks the scaler for one and waits (bounded) rather than answer 409;
a request whose worker died is retried once on another serving route, since inference is idempotent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from inferd.clock import Clock
from inferd.control.adaptive import AllocationWaits, scales_from_zero
from inferd.control.deployment import Deployment
from inferd.control.lifecycle import AssignmentState
from inferd.control.registry import ModelRegistry
from inferd.control.routing import pick_other_route, pick_route
from inferd.control.scaling import ScalerService
from inferd.errors import BadRequest, StatusConflict, WorkerDied
from inferd.nlp import NlpError
from inferd.runtime.revision import Revision
from inferd.runtime.route import Route

STATE_PREFERENCE = (AssignmentState.STARTED, AssignmentState.STARTING, AssignmentState.STOPPING,
                    AssignmentState.FAILED)


class _Request:
    """One request's documents and update, as each revision it meets reads them (computed once per revision)."""

    def __init__(self, documents: Sequence[Mapping[str, Any]], update: Mapping[str, Any] | None) -> None:
        self._documents = documents
        self._update = update
        self._read: dict[int, tuple[Revision, list[str], dict[str, Any]]] = {}

    def for_revision(self, revision: Revision) -> tuple[list[str], dict[str, Any]]:
        found = self._read.get(id(revision))
        if found is None:
            try:
                options = revision.options_for(self._update)
            except NlpError as error:
                raise BadRequest(str(error)) from None
            texts = [_input_text(document, revision.input_field) for document in self._documents]
            found = self._read[id(revision)] = (revision, texts, options)
        return found[1], found[2]


class InferenceRouter:
    def __init__(self, deployments: dict[str, Deployment], registry: ModelRegistry, scaler: ScalerService,
                 waits: AllocationWaits, clock: Clock) -> None:
        self._deployments = deployments
        self._registry = registry
        self._scaler = scaler
        self._waits = waits
        self._clock = clock

    async def infer(self, identifier: str, documents: Sequence[Mapping[str, Any]], update: Mapping[str, Any] | None,
                    timeout_s: float, timeout_text: str) -> list[dict[str, Any]]:
        deployment = await self.resolve(identifier)
        state = deployment.state
        if state in (AssignmentState.STOPPING, AssignmentState.FAILED):
            raise StatusConflict(f"Trained model [{deployment.deployment_id}] is [{state}]")
        request = _Request(documents, update)
        # A bad request fails before it waits; it is read again only if a rollout switched revisions meanwhile.
        request.for_revision(deployment.serving)
        started = self._clock.monotonic()
        route = await self._route_for(deployment, timeout_s, timeout_text)
        texts, options = request.for_revision(route.revision)
        try:
            return await route.infer(texts, options, self._remaining(started, timeout_s), timeout_text)
        except WorkerDied:
            other = pick_other_route(deployment, route)
            if other is None:
                raise
            texts, options = request.for_revision(other.revision)
            return await other.infer(texts, options, self._remaining(started, timeout_s), timeout_text)

    def _remaining(self, started: float, timeout_s: float) -> float:
        return max(timeout_s - (self._clock.monotonic() - started), 0.0)

    async def _route_for(self, deployment: Deployment, timeout_s: float, timeout_text: str) -> Route:
        try:
            return pick_route(deployment)
        except StatusConflict:
            if not scales_from_zero(deployment) or deployment.stopping:
                raise
        await self._scaler.request_scale_from_zero(deployment.deployment_id)
        return await self._waits.wait(deployment, timeout_s, timeout_text)

    async def resolve(self, identifier: str) -> Deployment:
        """A deployment id, else a model id or alias whose deployment serves best."""
        deployment = self._deployments.get(identifier)
        if deployment is not None:
            return deployment
        model = (await asyncio.to_thread(self._registry.find_models, identifier, allow_no_match=False))[0]
        candidates = [d for d in self._deployments.values() if d.model_id == model.model_id]
        if not candidates:
            raise StatusConflict(
                f"Model [{identifier}] must be deployed to use. Please deploy with the start trained model deployment API."
            )
        return min(sorted(candidates, key=lambda d: d.deployment_id), key=lambda d: STATE_PREFERENCE.index(d.state))


def _input_text(document: Mapping[str, Any], field: str) -> str:
    if not isinstance(document, Mapping) or field not in document:
        raise BadRequest(f"Input field [{field}] does not exist in the source document")
    value = document[field]
    if not isinstance(value, str):
        raise BadRequest(f"Input field [{field}] must be a string; found [{type(value).__name__}]")
    return value
