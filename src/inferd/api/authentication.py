"""From an `Authorization` header to a principal, with Elasticsearch's 401s.

`ApiKey base64(id:key)` (what elasticsearch-py sends for `api_key=`) and `Basic base64(user:password)`; or, for
the web console, a session id (`api/sessions.py`) opened with one of those.
A header verified recently costs one keyed digest and a lookup (`VerifiedCredentials`); otherwise a cached
key costs a base64 decode, a dictionary lookup and one HMAC; only a cache miss reads the store, and only
a password not seen recently runs scrypt, both off the event loop.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool

from inferd.clock import Clock
from inferd.control.security import (
    ApiKeys,
    ChangeWatcher,
    ConsoleSession,
    ConsoleSessions,
    CredentialsRefused,
    Principal,
    Users,
    VerifiedCredentials,
)
from inferd.control.security.hashing import decode_api_key
from inferd.errors import SecurityException

WWW_AUTHENTICATE = ('Basic realm="security" charset="UTF-8"', "ApiKey")
"""The challenges Elasticsearch sends with every 401 (its realms first, then the API key service)."""

SESSION_ENDED = "the console session has ended (signed out, idle for too long, or its credentials changed): sign in again"
ANONYMOUS_DENIED = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"


def _challenge(reason: str, metadata: dict[str, str] | None = None) -> SecurityException:
    return SecurityException(reason, status=401, headers={"WWW-Authenticate": list(WWW_AUTHENTICATE)},
                             metadata=metadata)


def _api_key_refused(message: str) -> SecurityException:
    """Elasticsearch's answer once the API key authenticator gave up and no realm took the request."""
    return _challenge(ANONYMOUS_DENIED, {"additional_unsuccessful_credentials": f"API key: {message}"})


def _text(uri: str | Callable[[], str]) -> str:
    return uri if isinstance(uri, str) else uri()


def _decode(value: str) -> str:
    return base64.b64decode(value.strip().encode("ascii"), validate=True).decode("utf-8")


class Authenticator:
    def __init__(self, keys: ApiKeys, users: Users, changes: ChangeWatcher, clock: Clock,
                 sessions: ConsoleSessions) -> None:
        self.keys = keys
        self.users = users
        self.sessions = sessions
        self._changes = changes
        self._verified = VerifiedCredentials(clock)

    async def authenticate_session(self, session_id: str, *, activity: bool) -> ConsoleSession:
        """The console session with this id, its principal checked again if keys or users changed since; a request
        the user made (`activity`) starts its idle timeout again."""
        if self._changes.claim():
            await run_in_threadpool(self._changes.check)
        session = self.sessions.find(session_id)
        if session is not None and self.sessions.stale(session):
            if not await run_in_threadpool(self.sessions.recheck, session):
                session = None
        if session is None:
            raise _challenge(SESSION_ENDED)
        if activity:
            self.sessions.touch(session)
        return session

    async def authenticate(self, header: bytes | None, uri: str | Callable[[], str], *,
                           bearer_api_key: bool = False) -> Principal:
        """`header` as it came (latin-1 bytes); `uri` (Elasticsearch's request uri, for messages) may be a
        function, called only on failure. With `bearer_api_key` (the OpenAI and TEI routes, whose clients send
        `Bearer <key>`), `Bearer <encoded API key>` is read as `ApiKey <encoded API key>`."""
        if self._changes.claim():
            await run_in_threadpool(self._changes.check)
        generation = (self.keys.generation, self.users.generation)  # before verifying: a change meanwhile wins
        raw = header or b""
        bearer_refused = not bearer_api_key and raw[:7].lower() == b"bearer "
        principal = self._verified.get(raw, generation) if raw and not bearer_refused else None
        if principal is not None:
            return principal
        scheme, _, value = raw.decode("latin-1").partition(" ")
        scheme = scheme.lower()
        if scheme == "apikey" and value.strip() or bearer_api_key and scheme == "bearer" and value.strip():
            principal, expiration_ms = await self._api_key(value)
            self._verified.put(raw, generation, principal, self.keys.cache_ttl_s, expiration_ms)
            return principal
        if scheme == "basic" and value.strip():
            principal = await self._basic(value, uri)
            self._verified.put(raw, generation, principal, self.users.cache_ttl_s, None)
            return principal
        raise _challenge(f"missing authentication credentials for REST request [{_text(uri)}]")

    async def _api_key(self, value: str) -> tuple[Principal, int | None]:
        """The key's principal and its expiration."""
        try:
            key_id, secret = decode_api_key(value)
        except ValueError:
            raise _api_key_refused("invalid ApiKey value") from None
        record = self.keys.cached(key_id)
        if record is None:
            record = await run_in_threadpool(self.keys.load, key_id)
        try:
            principal = self.keys.authenticate(key_id, secret, record)
        except CredentialsRefused as refused:
            raise _api_key_refused(refused.message) from None
        assert record is not None  # authenticate refuses a key it could not find
        return principal, record.expiration_ms

    async def _basic(self, value: str, uri: str | Callable[[], str]) -> Principal:
        try:
            username, colon, password = _decode(value).partition(":")
        except (binascii.Error, UnicodeError, ValueError):
            username, colon, password = "", "", ""
        if not colon or not username:
            raise _challenge("invalid basic authentication header value")
        principal = self.users.cached(username, password)
        if principal is not None:
            return principal
        try:
            return await run_in_threadpool(self.users.authenticate, username, password)
        except CredentialsRefused:
            raise _challenge(f"unable to authenticate user [{username}] for REST request [{_text(uri)}]") from None
