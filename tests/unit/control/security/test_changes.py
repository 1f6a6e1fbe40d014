"""Changes made by another process (another server on the same store, the CLI) reach this one's caches."""

from pathlib import Path

import pytest

from inferd.control.security import ApiKeys, ChangeWatcher, CredentialsRefused, Principal, Users
from inferd.control.security.bootstrap import BOOTSTRAP_PRINCIPAL
from inferd.store import SecurityStore, open_store
from tests.support.clock import FakeClock

ACTIONS = ["cluster:monitor/xpack/ml/inference/infer", "cluster:admin/xpack/ml/inference/put"]


@pytest.fixture
def store(tmp_path: Path) -> SecurityStore:
    return SecurityStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))


def check(keys: ApiKeys, key_id: str, secret: str) -> Principal:
    record = keys.cached(key_id)
    return keys.authenticate(key_id, secret, record if record is not None else keys.load(key_id))


def test_every_change_to_a_key_or_user_is_counted_in_its_own_transaction(store: SecurityStore) -> None:
    keys, users = ApiKeys(store, FakeClock(), ACTIONS), Users(store, FakeClock())
    counts = [store.count_changes()]
    created = keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, None)
    counts.append(store.count_changes())  # a new key is cached nowhere: nothing to notice
    keys.update(BOOTSTRAP_PRINCIPAL, created.record.key_id, {"r": {"cluster": ["monitor_ml"]}}, None, None)
    counts.append(store.count_changes())
    keys.invalidate(keys.find(ids=[created.record.key_id]))
    counts.append(store.count_changes())
    keys.invalidate(keys.find(ids=[created.record.key_id]))  # already invalid: no change
    counts.append(store.count_changes())
    users.put("ada", "secret-1", ["machine_learning_user"])
    counts.append(store.count_changes())
    users.delete("ada")
    counts.append(store.count_changes())
    users.delete("ada")
    counts.append(store.count_changes())
    assert counts == [0, 0, 1, 2, 2, 3, 4, 4]


def test_another_process_s_update_and_invalidation_reach_this_cache_at_the_next_check(store: SecurityStore) -> None:
    clock = FakeClock()
    keys, users = ApiKeys(store, clock, ACTIONS, cache_ttl_s=60), Users(store, clock)
    watcher = ChangeWatcher(store, clock, keys, users)
    created = keys.create(BOOTSTRAP_PRINCIPAL, "shared", None, None, None)
    key_id = created.record.key_id
    assert watcher.claim()
    watcher.check()
    assert check(keys, key_id, created.secret).privileges == frozenset({"all"})
    other_process = ApiKeys(store, clock, ACTIONS)
    other_process.update(BOOTSTRAP_PRINCIPAL, key_id, {"reader": {"cluster": ["monitor_ml"]}}, None, None)
    generation = keys.generation
    assert not watcher.claim()  # until the interval passes, the cache answers with what it had
    assert check(keys, key_id, created.secret).privileges == frozenset({"all"})
    clock.advance(1.0)
    assert watcher.claim() and not watcher.claim()  # one caller per interval checks, the others do not wait
    watcher.check()
    assert keys.generation != generation
    assert check(keys, key_id, created.secret).privileges == frozenset({"monitor_ml"})
    other_process.invalidate(other_process.find(ids=[key_id]))
    clock.advance(1.0)
    assert watcher.claim()
    watcher.check()
    with pytest.raises(CredentialsRefused, match="has been invalidated"):
        check(keys, key_id, created.secret)


def test_a_check_without_a_change_keeps_the_caches(store: SecurityStore) -> None:
    clock = FakeClock()
    keys, users = ApiKeys(store, clock, ACTIONS), Users(store, clock)
    watcher = ChangeWatcher(store, clock, keys, users)
    watcher.check()
    generations = (keys.generation, users.generation)
    clock.advance(5.0)
    watcher.check()
    assert (keys.generation, users.generation) == generations
