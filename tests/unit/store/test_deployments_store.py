"""The deployment repository against a real migrated SQLite file."""

from pathlib import Path

from inferd.store import DeploymentRecord, DeploymentStore, open_store


def test_deployments_are_stored_updated_and_deleted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inferd.db'}"
    store = DeploymentStore(open_store(url))
    settings = {"number_of_allocations": 2, "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 0}}
    store.save(DeploymentRecord("b", "model", 1, settings, 7))
    store.save(DeploymentRecord("a", "model", 1, {"number_of_allocations": 9}, 1))
    store.save(DeploymentRecord("a", "model", 1, {"number_of_allocations": 1}, 5))  # replaces the stale row
    store.update_settings("b", {**settings, "number_of_allocations": 3})
    reopened = DeploymentStore(open_store(url))  # what a restarted server reads
    assert reopened.list() == [
        DeploymentRecord("a", "model", 1, {"number_of_allocations": 1}, 5),
        DeploymentRecord("b", "model", 1, {**settings, "number_of_allocations": 3}, 7),
    ]
    reopened.delete("a", "missing")  # stopping twice is not an error
    assert [record.deployment_id for record in store.list()] == ["b"]
    reopened.delete("b")
    assert store.list() == []
