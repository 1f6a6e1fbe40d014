"""Which surviving workers a restarted server adopts: those running what a stored deployment serves, one per
deployment and node; the rest are stopped."""

from __future__ import annotations

import msgspec

from inferd.cluster.backend import SurvivingWorker
from inferd.control.adoption import survivors_to_adopt
from inferd.runtime.protocol import model_fingerprint
from inferd.runtime.revision import Revision
from tests.support.control import make_revision


def survivor(revision: Revision, node_id: str = "node-0", deployment_id: str = "d", pid: int = 100) -> SurvivingWorker:
    """A worker started for `revision`, as the server told its node's supervisor."""
    return SurvivingWorker(node_id, deployment_id, pid, model_fingerprint(revision.load))


def test_a_worker_of_the_revision_a_deployment_serves_is_adopted_whatever_its_allocations() -> None:
    revision = make_revision()
    resized = msgspec.structs.replace(revision.load, allocations=3)  # a running worker resizes: still the same
    found = [SurvivingWorker("node-0", "d", 100, model_fingerprint(resized)), survivor(revision, "node-1", pid=101)]
    assert survivors_to_adopt(found, {"d": revision}) == found


def test_the_server_s_path_to_the_definition_does_not_matter_its_digest_does() -> None:
    revision = make_revision(definition_path="/old/data/dir/model.pt")
    moved = make_revision(definition_path="/new/data/dir/model.pt")
    assert survivors_to_adopt([survivor(revision)], {"d": moved}) == [survivor(revision)]
    other_definition = msgspec.structs.replace(moved.load, definition_sha256="f" * 64)
    assert survivors_to_adopt([SurvivingWorker("node-0", "d", 1, model_fingerprint(other_definition))],
                              {"d": moved}) == []


def test_a_worker_of_another_build_or_other_resources_is_not_adopted() -> None:
    serving = make_revision(build_number=2, threads_per_allocation=1)
    for started_for in (make_revision(build_number=2, threads_per_allocation=2),
                        make_revision(build_number=2, max_batch_documents=8),
                        make_revision(build_number=2, vocabulary=["a", "b"]),
                        make_revision(build_number=2, task_type="ner")):
        assert survivors_to_adopt([survivor(started_for)], {"d": serving}) == []


def test_a_worker_of_a_deployment_that_is_no_longer_stored_is_not_adopted() -> None:
    revision = make_revision()
    assert survivors_to_adopt([survivor(revision, deployment_id="stopped")], {"d": revision}) == []
    assert survivors_to_adopt([survivor(revision)], {}) == []


def test_of_two_workers_of_a_deployment_on_one_node_the_newest_is_adopted() -> None:
    revision = make_revision()
    older, newer = survivor(revision, pid=100), survivor(revision, pid=200)  # a restart's new worker beside the old
    elsewhere = survivor(revision, "node-1", pid=300)
    other_deployment = survivor(revision, deployment_id="e", pid=400)
    assert survivors_to_adopt([older, elsewhere, newer, other_deployment], {"d": revision, "e": revision}) == [
        newer, elsewhere, other_deployment]
