"""The Authorization header, as elasticsearch-py and curl send it, to a principal or Elasticsearch's 401."""

import asyncio
import base64
from pathlib import Path

import pytest

from inferd.api.authentication import Authenticator
from inferd.control.security import ApiKeys, ChangeWatcher, ConsoleSessions, Principal, Users
from inferd.control.security.bootstrap import BOOTSTRAP_PRINCIPAL
from inferd.errors import SecurityException
from tests.support.clock import FakeClock
from tests.support.security_store import CountingStore

CHALLENGES = ['Basic realm="security" charset="UTF-8"', "ApiKey"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path)


@pytest.fixture
def authenticator(store: CountingStore, clock: FakeClock) -> Authenticator:
    keys, users = ApiKeys(store, clock, [], cache_ttl_s=60), Users(store, clock)
    sessions = ConsoleSessions(keys, users, clock, idle_timeout_s=60, lifespan_s=600)
    return Authenticator(keys, users, ChangeWatcher(store, clock, keys, users), clock, sessions)


def authenticate(authenticator: Authenticator, header: str) -> Principal:
    return asyncio.run(authenticator.authenticate(header.encode("latin-1"), "/"))


def refusal(authenticator: Authenticator, header: str | None) -> SecurityException:
    with pytest.raises(SecurityException) as refused:
        raw = None if header is None else header.encode("latin-1")
        asyncio.run(authenticator.authenticate(raw, "/_ml/trained_models?pretty"))
    assert refused.value.status == 401 and refused.value.headers == {"WWW-Authenticate": CHALLENGES}
    return refused.value


def test_api_key_header_forms(authenticator: Authenticator) -> None:
    created = authenticator.keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, None)
    for header in (f"ApiKey {created.encoded}", f"apikey {created.encoded}"):
        principal = authenticate(authenticator, header)
        assert principal.api_key_id == created.record.key_id


def test_missing_or_unknown_scheme_is_missing_credentials(authenticator: Authenticator) -> None:
    for header in (None, "", "Bearer abc", "ApiKey ", "Basic "):
        error = refusal(authenticator, header)
        assert error.reason == "missing authentication credentials for REST request [/_ml/trained_models?pretty]"


def test_refused_api_keys_say_why_as_elasticsearch_does(authenticator: Authenticator) -> None:
    created = authenticator.keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, None)
    wrong = base64.b64encode(f"{created.record.key_id}:nope".encode()).decode()
    cases = {
        "ApiKey !!!": "API key: invalid ApiKey value",
        f"ApiKey {base64.b64encode(b'no-colon').decode()}": "API key: invalid ApiKey value",
        f"ApiKey {wrong}": f"API key: invalid credentials for API key [{created.record.key_id}]",
    }
    for header, detail in cases.items():
        error = refusal(authenticator, header)
        assert error.reason == ("unable to authenticate with provided credentials and anonymous access is not "
                                "allowed for this request")
        assert error.metadata == {"additional_unsuccessful_credentials": detail}


def test_basic_auth(authenticator: Authenticator) -> None:
    authenticator.users.put("alice", "secret1", ["machine_learning_user"])
    good = base64.b64encode(b"alice:secret1").decode()
    assert authenticate(authenticator, f"Basic {good}").username == "alice"
    bad = base64.b64encode(b"alice:secret2").decode()
    assert refusal(authenticator, f"Basic {bad}").reason == (
        "unable to authenticate user [alice] for REST request [/_ml/trained_models?pretty]")
    assert refusal(authenticator, "Basic %%%").reason == "invalid basic authentication header value"


def test_a_verified_header_is_answered_without_the_store_until_its_key_changes(
    authenticator: Authenticator, store: CountingStore
) -> None:
    created = authenticator.keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, None)
    header = f"ApiKey {created.encoded}"
    first = authenticate(authenticator, header)
    reads = store.reads
    assert all(authenticate(authenticator, header) is first for _ in range(3)) and store.reads == reads
    authenticator.keys.update(BOOTSTRAP_PRINCIPAL, created.record.key_id, {"r": {"cluster": ["monitor_ml"]}}, None,
                              None)
    assert authenticate(authenticator, header).privileges == frozenset({"monitor_ml"})  # checked again at once
    authenticator.keys.invalidate(authenticator.keys.find(ids=[created.record.key_id]))
    assert "has been invalidated" in refusal(authenticator, header).metadata["additional_unsuccessful_credentials"]


def test_a_verified_key_stops_working_at_its_expiration_and_after_the_cache_period(
    authenticator: Authenticator, store: CountingStore, clock: FakeClock
) -> None:
    expiring = authenticator.keys.create(BOOTSTRAP_PRINCIPAL, "expiring", 2.0, None, None)
    lasting = authenticator.keys.create(BOOTSTRAP_PRINCIPAL, "lasting", None, None, None)
    authenticate(authenticator, f"ApiKey {expiring.encoded}")
    authenticate(authenticator, f"ApiKey {lasting.encoded}")
    clock.advance(2.0)
    error = refusal(authenticator, f"ApiKey {expiring.encoded}")
    assert error.metadata == {"additional_unsuccessful_credentials": "API key: api key is expired"}
    reads = store.reads
    clock.advance(60.0)  # the cache period (60 s) is over: the key is read again
    assert authenticate(authenticator, f"ApiKey {lasting.encoded}").api_key_name == "lasting"
    assert store.reads == reads + 1


def test_a_user_s_verified_password_stops_working_once_it_changes(authenticator: Authenticator) -> None:
    authenticator.users.put("bob", "secret1", ["machine_learning_user"])
    header = f"Basic {base64.b64encode(b'bob:secret1').decode()}"
    assert authenticate(authenticator, header).username == "bob"
    authenticator.users.put("bob", "secret2", ["machine_learning_user"])
    assert refusal(authenticator, header).reason.startswith("unable to authenticate user [bob]")
