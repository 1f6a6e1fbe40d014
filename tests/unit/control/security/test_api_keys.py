"""API keys against a real migrated SQLite store and a fake clock: creation, the cache, expiry, invalidation."""

from pathlib import Path

import pytest

from inferd.control.security import ApiKeys, CredentialsRefused, Principal, privileges_of_roles
from inferd.control.security.bootstrap import BOOTSTRAP_PRINCIPAL
from inferd.errors import IllegalArgument, ParseError, SecurityException
from tests.support.clock import FakeClock
from tests.support.security_store import CountingStore

ACTIONS = ["cluster:monitor/xpack/ml/inference/infer", "cluster:admin/xpack/ml/inference/put", "cluster:monitor/main",
           "cluster:admin/xpack/security/api_key/create"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path)


@pytest.fixture
def keys(store: CountingStore, clock: FakeClock) -> ApiKeys:
    return ApiKeys(store, clock, ACTIONS, cache_ttl_s=60)


def check(keys: ApiKeys, key_id: str, secret: str) -> Principal:
    record = keys.cached(key_id)
    return keys.authenticate(key_id, secret, record if record is not None else keys.load(key_id))


def test_a_key_authenticates_and_only_its_hash_is_stored(keys: ApiKeys, store: CountingStore) -> None:
    created = keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, {"team": "a"})
    stored = store.get_key(created.record.key_id)
    assert stored is not None and created.secret not in repr(stored)
    principal = check(keys, created.record.key_id, created.secret)
    assert principal.username == "elastic" and principal.api_key_name == "k"
    assert principal.privileges == privileges_of_roles(["superuser"])  # no descriptors: the creator's privileges
    with pytest.raises(CredentialsRefused, match=r"invalid credentials for API key \["):
        check(keys, created.record.key_id, created.secret + "x")
    with pytest.raises(CredentialsRefused, match="unable to find apikey with id nope"):
        check(keys, "nope", "x")


def test_the_cache_spares_the_store_until_its_ttl(keys: ApiKeys, store: CountingStore, clock: FakeClock) -> None:
    created = keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, None)
    reads = store.reads
    for _ in range(100):
        check(keys, created.record.key_id, created.secret)
    assert store.reads == reads + 1
    clock.advance(61)
    check(keys, created.record.key_id, created.secret)
    assert store.reads == reads + 2


def test_invalidation_takes_effect_at_once_even_when_cached(keys: ApiKeys) -> None:
    created = keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, None)
    check(keys, created.record.key_id, created.secret)  # now cached
    assert keys.invalidate([created.record]) == ([created.record.key_id], [])
    with pytest.raises(CredentialsRefused, match=rf"api key \[{created.record.key_id}\] has been invalidated"):
        check(keys, created.record.key_id, created.secret)
    assert keys.invalidate([created.record]) == ([], [created.record.key_id])


def test_expiry_takes_effect_at_once_even_when_cached(keys: ApiKeys, clock: FakeClock) -> None:
    created = keys.create(BOOTSTRAP_PRINCIPAL, "k", 1.0, None, None)
    assert created.record.expiration_ms == clock.now_ms() + 1000
    check(keys, created.record.key_id, created.secret)
    clock.advance(1.0)
    with pytest.raises(CredentialsRefused, match="api key is expired"):
        check(keys, created.record.key_id, created.secret)


def test_descriptors_limit_a_key_and_may_not_exceed_the_creator(keys: ApiKeys) -> None:
    ml_user = keys.create(BOOTSTRAP_PRINCIPAL, "u", None, {"machine_learning_user": {"cluster": ["monitor_ml"]}}, None)
    assert ml_user.record.privileges == ("monitor_ml",)
    admin = Principal("alice", privileges_of_roles(["machine_learning_admin"]), ("machine_learning_admin",))
    with pytest.raises(SecurityException) as refused:
        keys.create(admin, "escalate", None, {"su": {"cluster": ["all"]}}, None)
    assert refused.value.status == 403
    assert "cannot create an API key with more privileges than user [alice] holds" in refused.value.reason
    narrower = keys.create(admin, "narrower", None, {"r": {"cluster": ["monitor_ml"]}}, None)
    assert narrower.record.limited_by == ("manage_ml",) and narrower.record.username == "alice"


def test_a_null_cluster_grants_nothing_and_one_that_is_not_a_string_array_is_refused(keys: ApiKeys) -> None:
    """Found by the fuzz run as a key allowed to create keys: these were 500s."""
    empty = keys.create(BOOTSTRAP_PRINCIPAL, "n", None, {"r": {"cluster": None}}, None)
    assert empty.record.privileges == ()
    for cluster in (5, "monitor_ml", [["monitor_ml"]], [None]):
        with pytest.raises(ParseError) as refused:
            keys.create(BOOTSTRAP_PRINCIPAL, "bad", None, {"r": {"cluster": cluster}}, None)
        assert refused.value.status == 400 and "expected a string array" in refused.value.reason


def test_find_filters_as_get_api_key_does(keys: ApiKeys, clock: FakeClock) -> None:
    alice = Principal("alice", frozenset({"manage_own_api_key", "manage_ml"}))
    first = keys.create(alice, "app-1", None, None, None)
    keys.create(alice, "app-2", 1.0, None, None)
    keys.create(BOOTSTRAP_PRINCIPAL, "other", None, None, None)
    assert sorted(r.name for r in keys.find(name="app-*")) == ["app-1", "app-2"]
    assert sorted(r.name for r in keys.find(owner=alice)) == ["app-1", "app-2"]
    assert [r.name for r in keys.find(username="elastic")] == ["other"]
    clock.advance(2)
    assert [r.name for r in keys.find(owner=alice, active_only=True)] == ["app-1"]
    assert [r.key_id for r in keys.find(ids=[first.record.key_id])] == [first.record.key_id]


def test_an_update_never_exceeds_what_the_owner_holds_now_and_takes_effect_at_once(keys: ApiKeys,
                                                                                   clock: FakeClock) -> None:
    owner = Principal(username="ada", privileges=frozenset({"manage_own_api_key", "manage_ml"}), roles=("r",))
    created = keys.create(owner, "k", None, {"r": {"cluster": ["manage_ml"]}}, None)
    key_id = created.record.key_id
    assert check(keys, key_id, created.secret).privileges == {"manage_ml"}  # verified and cached now
    weaker = Principal(username="ada", privileges=frozenset({"manage_own_api_key"}), roles=("r",))
    with pytest.raises(SecurityException, match=r"cannot update an API key with more privileges than user \[ada\]"):
        keys.update(weaker, key_id, None, None, None)  # the kept descriptors are checked against the owner now
    assert keys.update(weaker, key_id, {}, None, None) is True  # `{}`: the owner's privileges, as they are now
    assert check(keys, key_id, created.secret).privileges == {"manage_own_api_key"}  # not the cached record
    assert keys.update(weaker, key_id, {}, None, None) is False
    assert keys.update(weaker, key_id, None, None, 1.0) is True
    clock.advance(2.0)
    with pytest.raises(IllegalArgument, match=rf"cannot update expired API key \[{key_id}\]"):
        keys.update(weaker, key_id, None, {"a": 1}, None)
