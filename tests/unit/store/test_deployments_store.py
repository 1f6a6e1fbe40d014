"""The deployment repository against a real migrated SQLite file."""

from pathlib import Path

from inferd.store import DeploymentRecord, DeploymentStore, HistoryEntry, open_store


def _entry(deployment_id: str, action: str, outcome: str = "succeeded", **fields: object) -> HistoryEntry:
    return HistoryEntry(deployment_id, "model", 100, action, "admin", None, 1, None, {}, outcome, **fields)  # type: ignore[arg-type]


def test_deployments_are_stored_updated_stopped_and_deleted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'inferd.db'}"
    store = DeploymentStore(open_store(url))
    settings = {"number_of_allocations": 2, "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 0}}
    store.save(DeploymentRecord("b", "model", 1, settings, 7), _entry("b", "start"))
    store.save(DeploymentRecord("a", "model", 1, {"number_of_allocations": 9}, 1))
    store.save(DeploymentRecord("a", "model", 1, {"number_of_allocations": 1}, 5))  # replaces the stale row
    store.update("b", settings={**settings, "number_of_allocations": 3}, build_number=2, entry=_entry("b", "update"))
    reopened = DeploymentStore(open_store(url))  # what a restarted server reads
    assert reopened.list() == [
        DeploymentRecord("a", "model", 1, {"number_of_allocations": 1}, 5),
        DeploymentRecord("b", "model", 2, {**settings, "number_of_allocations": 3}, 7),
    ]
    reopened.stop(["a"], [_entry("a", "stop")], now_ms=50)
    assert [record.deployment_id for record in store.list()] == ["b"]  # a stopped one is not restored...
    assert store.get("a") == DeploymentRecord("a", "model", 1, {"number_of_allocations": 1}, 5, "stopped", 50)
    assert [r.deployment_id for r in store.list(include_stopped=True)] == ["a", "b"]  # ...but kept
    store.save(DeploymentRecord("a", "model", 1, {"number_of_allocations": 2}, 60))  # started afresh
    assert store.get("a") == DeploymentRecord("a", "model", 1, {"number_of_allocations": 2}, 60)
    reopened.delete("a", "missing")  # forgetting twice is not an error
    assert [record.deployment_id for record in store.list()] == ["b"]
    assert [entry.action for entry in store.history("a")] == ["stop"]  # the history outlives the deployment


def test_history_is_newest_first_and_unfinished_entries_are_interrupted_at_start_up(tmp_path: Path) -> None:
    store = DeploymentStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))
    store.save(DeploymentRecord("d", "model", 1, {}, 1), _entry("d", "start"))
    rollout_id = store.add_history(_entry("d", "redeploy", "in_progress"))
    restart_id = store.add_history(_entry("d", "restart", "in_progress"))
    store.update("d", settings={"number_of_allocations": 2}, build_number=2,
                 finish=HistoryEntry(**{**_entry("d", "redeploy").__dict__, "entry_id": rollout_id, "end_time_ms": 150}))
    assert store.interrupt_unfinished(now_ms=200, reason="the server stopped") == 1
    history = store.history("d")
    assert [(e.entry_id, e.action, e.outcome) for e in history] == [
        (restart_id, "restart", "interrupted"), (rollout_id, "redeploy", "succeeded"), (1, "start", "succeeded")]
    assert (history[0].reason, history[0].end_time_ms, history[1].end_time_ms) == ("the server stopped", 200, 150)
    assert store.get("d") == DeploymentRecord("d", "model", 2, {"number_of_allocations": 2}, 1)


def test_stopped_deployments_of_a_deleted_model_are_forgotten(tmp_path: Path) -> None:
    store = DeploymentStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))
    store.save(DeploymentRecord("gone", "model", 1, {}, 1))
    store.save(DeploymentRecord("other", "other-model", 1, {}, 1))
    store.stop(["gone", "other"], [], now_ms=5)
    store.delete_of_model("model")
    assert [r.deployment_id for r in store.list(include_stopped=True)] == ["other"]
