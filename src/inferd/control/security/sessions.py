"""Console sessions: who signed in to the web console, held on the server behind a random id.

The browser holds only the session id (in an HttpOnly cookie, `api/sessions.py`); the credential it signed in
with is verified once, by the same authenticator as every API request, and never kept. A session remembers the
principal and what to check it against later: the API key's id, or the user's name and a digest of their stored
password hash. Whenever the key and user caches move to a new generation (an API key invalidated or updated, a
user changed or deleted, here or by another process), a session is checked against the store again before it
answers: an invalidated or expired key, a deleted or disabled user, or a changed password ends it.

A session ends when it is signed out, after `idle_timeout_s` without a request the user made, after
`lifespan_s` in any case, and no later than its API key expires. Sessions live in this process's memory: a
restarted server asks everyone to sign in again. The table is bounded; past `max_sessions` the session used
least recently is dropped.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass, field

from inferd.clock import Clock
from inferd.control.security.api_keys import ApiKeys, key_principal
from inferd.control.security.principal import Principal
from inferd.control.security.users import Users, user_principal
from inferd.store import UserRecord

MAX_SESSIONS = 10_000
SESSION_ID_BYTES = 32
CSRF_TOKEN_BYTES = 32


class SessionRefused(Exception):
    """The principal cannot hold a console session (its record is gone from the store)."""


@dataclass
class ConsoleSession:
    principal: Principal
    csrf_token: str
    """Sent back by the console on every state-changing call (`X-CSRF-Token`): a cross-site page cannot read it."""
    created_ms: int
    expires_ms: int
    """The absolute end: sign-in plus the lifespan, or the API key's expiration if that comes first."""
    last_seen_ms: int
    generation: tuple[int, int]
    """The key and user cache generations the principal was last checked under."""
    password_stamp: bytes | None = None
    """For a user: a digest of the stored password hash at sign-in; a new password ends the session."""
    ended: bool = field(default=False)


def _digest(session_id: str) -> bytes:
    """Sessions are found by a digest of their id: the table never holds an id a browser could present."""
    return hashlib.sha256(session_id.encode()).digest()


def _password_stamp(record: UserRecord) -> bytes:
    return hashlib.sha256(record.password_hash.encode()).digest()


class ConsoleSessions:
    def __init__(self, keys: ApiKeys, users: Users, clock: Clock, *, idle_timeout_s: float, lifespan_s: float,
                 max_sessions: int = MAX_SESSIONS) -> None:
        self._keys = keys
        self._users = users
        self._clock = clock
        self.idle_timeout_ms = int(idle_timeout_s * 1000)
        self.lifespan_ms = int(lifespan_s * 1000)
        self._max_sessions = max_sessions
        self._sessions: dict[bytes, ConsoleSession] = {}
        self._lock = threading.Lock()

    @property
    def _generation(self) -> tuple[int, int]:
        return self._keys.generation, self._users.generation

    def open(self, principal: Principal) -> tuple[str, ConsoleSession]:
        """A new session for a principal just authenticated; its id goes to the browser, never into the table.
        Blocking (it reads the store): call it off the event loop."""
        generation = self._generation
        now_ms = self._clock.now_ms()
        expires_ms = now_ms + self.lifespan_ms
        stamp = None
        if principal.is_api_key:
            assert principal.api_key_id is not None
            record = self._keys.load(principal.api_key_id)
            if record is None or record.invalidated:
                raise SessionRefused(f"API key [{principal.api_key_id}] is no longer valid")
            if record.expiration_ms is not None:
                expires_ms = min(expires_ms, record.expiration_ms)
        else:
            user = self._users.record(principal.username)
            if user is None:
                raise SessionRefused(f"user [{principal.username}] can not sign in to the console")
            stamp = _password_stamp(user)
        session_id = secrets.token_urlsafe(SESSION_ID_BYTES)
        session = ConsoleSession(principal, secrets.token_urlsafe(CSRF_TOKEN_BYTES), now_ms, expires_ms, now_ms,
                                 generation, stamp)
        with self._lock:
            self._drop_expired(now_ms)
            if len(self._sessions) >= self._max_sessions:
                oldest = min(self._sessions, key=lambda digest: self._sessions[digest].last_seen_ms)
                self._sessions.pop(oldest).ended = True
            self._sessions[_digest(session_id)] = session
        return session_id, session

    def find(self, session_id: str) -> ConsoleSession | None:
        """The live session with this id, or None (unknown, signed out or expired)."""
        session = self._sessions.get(_digest(session_id))
        if session is None:
            return None
        if not self.alive(session):
            self.close(session_id)
            return None
        return session

    def alive(self, session: ConsoleSession) -> bool:
        return not session.ended and self._clock.now_ms() < self.ends_ms(session)

    def stale(self, session: ConsoleSession) -> bool:
        """True when keys or users changed since the session's principal was checked: `recheck` it first."""
        return session.generation != self._generation

    def recheck(self, session: ConsoleSession) -> bool:
        """Check the principal against the store again (blocking: call it off the event loop); False ends it."""
        generation = self._generation
        principal = self._current_principal(session)
        if principal is None:
            session.ended = True
            return False
        session.principal = principal
        session.generation = generation
        return True

    def _current_principal(self, session: ConsoleSession) -> Principal | None:
        principal = session.principal
        if principal.is_api_key:
            assert principal.api_key_id is not None
            key = self._keys.load(principal.api_key_id)
            if key is None or key.invalidated or key.expired(self._clock.now_ms()):
                return None
            return key_principal(key)
        user = self._users.record(principal.username)
        if user is None or not user.enabled or _password_stamp(user) != session.password_stamp:
            return None
        return user_principal(user)

    def touch(self, session: ConsoleSession) -> None:
        """The user did something: the idle timeout starts again."""
        session.last_seen_ms = self._clock.now_ms()

    def ends_ms(self, session: ConsoleSession) -> int:
        """When the session ends unless the user does something before: idle timeout or absolute end."""
        return min(session.expires_ms, session.last_seen_ms + self.idle_timeout_ms)

    def close(self, session_id: str) -> bool:
        """Sign out: True when the session was open."""
        with self._lock:
            session = self._sessions.pop(_digest(session_id), None)
        if session is None:
            return False
        alive = not session.ended
        session.ended = True
        return alive

    def count(self) -> int:
        return len(self._sessions)

    def _drop_expired(self, now_ms: int) -> None:
        for digest, session in list(self._sessions.items()):
            if session.ended or now_ms >= self.ends_ms(session):
                del self._sessions[digest]
                session.ended = True
