"""The Authorization header, as elasticsearch-py and curl send it, to a principal or Elasticsearch's 401."""

import asyncio
import base64
import time
from pathlib import Path

import pytest

from inferd.api.authentication import Authenticator
from inferd.control.security import ApiKeys, Users
from inferd.control.security.bootstrap import BOOTSTRAP_PRINCIPAL
from inferd.errors import SecurityException
from inferd.store import SecurityStore, open_store
from tests.support.clock import FakeClock

CHALLENGES = ['Basic realm="security" charset="UTF-8"', "ApiKey"]


@pytest.fixture
def authenticator(tmp_path: Path) -> Authenticator:
    store = SecurityStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))
    return Authenticator(ApiKeys(store, FakeClock(), []), Users(store, FakeClock()))


def refusal(authenticator: Authenticator, header: str | None) -> SecurityException:
    with pytest.raises(SecurityException) as refused:
        asyncio.run(authenticator.authenticate(header, "/_ml/trained_models?pretty"))
    assert refused.value.status == 401 and refused.value.headers == {"WWW-Authenticate": CHALLENGES}
    return refused.value


def test_api_key_header_forms(authenticator: Authenticator) -> None:
    created = authenticator.keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, None)
    for header in (f"ApiKey {created.encoded}", f"apikey {created.encoded}"):
        principal = asyncio.run(authenticator.authenticate(header, "/"))
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
    assert asyncio.run(authenticator.authenticate(f"Basic {good}", "/")).username == "alice"
    bad = base64.b64encode(b"alice:secret2").decode()
    assert refusal(authenticator, f"Basic {bad}").reason == (
        "unable to authenticate user [alice] for REST request [/_ml/trained_models?pretty]")
    assert refusal(authenticator, "Basic %%%").reason == "invalid basic authentication header value"


def test_a_cached_key_costs_microseconds(authenticator: Authenticator) -> None:
    created = authenticator.keys.create(BOOTSTRAP_PRINCIPAL, "k", None, None, None)
    header = f"ApiKey {created.encoded}"

    async def many(count: int) -> float:
        await authenticator.authenticate(header, "/")  # loads the cache
        started = time.perf_counter()
        for _ in range(count):
            await authenticator.authenticate(header, "/")
        return (time.perf_counter() - started) / count

    per_request_s = asyncio.run(many(2000))
    assert per_request_s < 100e-6, f"{per_request_s * 1e6:.1f} us per request"
