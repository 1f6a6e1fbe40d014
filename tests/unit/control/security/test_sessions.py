"""Console sessions against a real migrated SQLite store and a fake clock: their ends (sign-out, idle, lifespan, the
API key's expiry), and the credentials they are checked against again when keys or users change."""

from pathlib import Path

import pytest

from inferd.control.security import ApiKeys, ConsoleSessions, Principal, SessionRefused, Users
from inferd.control.security.bootstrap import BOOTSTRAP_PRINCIPAL
from tests.support.clock import FakeClock
from tests.support.security_store import CountingStore

IDLE_S, LIFESPAN_S = 60.0, 600.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path) -> CountingStore:
    return CountingStore(tmp_path)


@pytest.fixture
def keys(store: CountingStore, clock: FakeClock) -> ApiKeys:
    return ApiKeys(store, clock, [], cache_ttl_s=60)


@pytest.fixture
def users(store: CountingStore, clock: FakeClock) -> Users:
    return Users(store, clock)


@pytest.fixture
def sessions(keys: ApiKeys, users: Users, clock: FakeClock) -> ConsoleSessions:
    return ConsoleSessions(keys, users, clock, idle_timeout_s=IDLE_S, lifespan_s=LIFESPAN_S, max_sessions=3)


def key_principal(keys: ApiKeys, expiration_s: float | None = None) -> Principal:
    created = keys.create(BOOTSTRAP_PRINCIPAL, "console", expiration_s, None, None)
    return keys.authenticate(created.record.key_id, created.secret, keys.load(created.record.key_id))


def test_a_session_is_found_by_its_id_only_and_ends_when_signed_out(sessions: ConsoleSessions, keys: ApiKeys) -> None:
    session_id, session = sessions.open(key_principal(keys))
    assert sessions.find(session_id) is session and sessions.find(session_id + "x") is None
    assert session.csrf_token != session_id and len(session_id) >= 40
    assert session_id not in repr(sessions._sessions)  # the table holds digests of ids, never an id
    assert sessions.close(session_id) and not sessions.close(session_id)
    assert sessions.find(session_id) is None and session.ended


def test_a_session_ends_after_the_idle_timeout_unless_the_user_acts(
        sessions: ConsoleSessions, keys: ApiKeys, clock: FakeClock) -> None:
    session_id, session = sessions.open(key_principal(keys))
    clock.advance(IDLE_S - 1)
    sessions.touch(session)
    clock.advance(IDLE_S - 1)
    assert sessions.find(session_id) is session
    clock.advance(1)
    assert sessions.find(session_id) is None


def test_a_session_ends_after_its_lifespan_however_active(
        sessions: ConsoleSessions, keys: ApiKeys, clock: FakeClock) -> None:
    session_id, session = sessions.open(key_principal(keys))
    for _ in range(int(LIFESPAN_S // 30) - 1):
        clock.advance(30)
        sessions.touch(session)
        assert sessions.find(session_id) is session
    clock.advance(30)
    assert sessions.find(session_id) is None


def test_a_session_ends_no_later_than_its_api_key(sessions: ConsoleSessions, keys: ApiKeys, clock: FakeClock) -> None:
    session_id, session = sessions.open(key_principal(keys, expiration_s=20))
    assert session.expires_ms == clock.now_ms() + 20_000
    clock.advance(20)
    assert sessions.find(session_id) is None


def test_an_invalidated_key_fails_the_recheck(sessions: ConsoleSessions, keys: ApiKeys) -> None:
    principal = key_principal(keys)
    session_id, session = sessions.open(principal)
    assert not sessions.stale(session)
    keys.invalidate(keys.find(ids=[principal.api_key_id]))
    assert sessions.stale(session)
    assert not sessions.recheck(session)
    assert sessions.find(session_id) is None


def test_a_user_session_follows_the_users_record(sessions: ConsoleSessions, users: Users) -> None:
    users.put("ada", "first-password", ["machine_learning_user"])
    session_id, session = sessions.open(users.authenticate("ada", "first-password"))
    users.put("ada", None, ["machine_learning_admin"])  # new roles, same password: the session follows
    assert sessions.stale(session) and sessions.recheck(session)
    assert "manage_ml" in session.principal.privileges
    users.put("ada", "second-password", ["machine_learning_admin"])  # a new password ends it
    assert sessions.stale(session) and not sessions.recheck(session)
    assert sessions.find(session_id) is None
    users.delete("ada")
    with pytest.raises(SessionRefused):
        sessions.open(session.principal)


def test_the_table_is_bounded_and_drops_the_session_used_least_recently(
        sessions: ConsoleSessions, keys: ApiKeys, clock: FakeClock) -> None:
    principal = key_principal(keys)
    opened = []
    for _ in range(3):
        opened.append(sessions.open(principal))
        clock.advance(1)
    sessions.touch(opened[0][1])
    fourth = sessions.open(principal)
    assert sessions.count() == 3 and opened[1][1].ended
    assert sessions.find(opened[0][0]) is opened[0][1] and sessions.find(fourth[0]) is fourth[1]
