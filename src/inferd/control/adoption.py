"""Which workers that outlived the last server a restarted one adopts: a pure choice, tested on its own.

A surviving worker is adopted by the stored deployment it was started for when it runs what that deployment's
serving revision loads (the same definition, tokenizer, task and worker resources: the same model fingerprint), one
per deployment and node: the newest, should a rollout or a restart cut short by the crash have left two. Any other
is stopped: its deployment was stopped or deleted meanwhile, or it runs another build or other resources (a
rollout the crash cut short, whose change the store never recorded).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from inferd.cluster.backend import SurvivingWorker
from inferd.runtime.protocol import model_fingerprint
from inferd.runtime.revision import Revision


def survivors_to_adopt(survivors: Sequence[SurvivingWorker], serving: Mapping[str, Revision]) -> list[SurvivingWorker]:
    """The survivors (oldest first) to adopt, given the revision each restored deployment serves, by its id."""
    fingerprints = {deployment_id: model_fingerprint(revision.load) for deployment_id, revision in serving.items()}
    chosen: dict[tuple[str, str], SurvivingWorker] = {}
    for survivor in survivors:  # a newer one of the same deployment and node takes the older one's place
        if fingerprints.get(survivor.deployment_id) == survivor.model_fingerprint:
            chosen[(survivor.deployment_id, survivor.node_id)] = survivor
    return list(chosen.values())
