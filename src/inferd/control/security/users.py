"""Users for HTTP basic authentication (Elasticsearch's native realm): stored with scrypt, checked from a cache.

The first check of a password costs one scrypt (tens of milliseconds, run off the event loop); after it the
user's record and a keyed digest of the password are cached for `cache_ttl_s`, so a repeat costs one HMAC.
Changing or deleting a user drops its cache entry at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from inferd.clock import Clock
from inferd.control.security.expiring_cache import ExpiringCache
from inferd.control.security.hashing import CheckedSecrets, hash_password, password_matches
from inferd.control.security.principal import RESERVED_USERNAME, CredentialsRefused, Principal
from inferd.control.security.privileges import privileges_of_roles
from inferd.errors import IllegalArgument, ValidationFailed
from inferd.store import SecurityStore, UserRecord

MIN_PASSWORD_LENGTH = 6
_USERNAME = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]{0,505}[\x21-\x7e])?")
"""Elasticsearch's rule: 1 to 507 printable ASCII characters, no leading or trailing space."""


@dataclass(frozen=True)
class _Checked:
    record: UserRecord
    principal: Principal
    password_digest: bytes


def user_principal(record: UserRecord) -> Principal:
    return Principal(
        username=record.username, privileges=privileges_of_roles(record.roles), roles=record.roles,
        full_name=record.full_name, email=record.email, metadata=record.metadata,
    )


def check_username(username: str) -> None:
    if not _USERNAME.fullmatch(username):
        raise ValidationFailed([
            f"Invalid username [{username}]... Usernames must be at least 1 and no more than 507 characters. They can "
            "contain alphanumeric characters (a-z, A-Z, 0-9), spaces, punctuation, and printable symbols in the Basic "
            "Latin (ASCII) block. Leading or trailing whitespace is not allowed."
        ])
    if username == RESERVED_USERNAME:
        raise IllegalArgument(f"user [{username}] is reserved and only the password can be changed")


class Users:
    def __init__(self, store: SecurityStore, clock: Clock, cache_ttl_s: float = 300.0) -> None:
        self._store = store
        self._checked: ExpiringCache[_Checked] = ExpiringCache(clock, cache_ttl_s)
        self._secrets = CheckedSecrets()

    def put(self, username: str, password: str | None, roles: list[str], *, full_name: str | None = None,
            email: str | None = None, metadata: dict[str, Any] | None = None, enabled: bool = True) -> bool:
        """Create or update a user (an update without a password keeps the old one); True when created."""
        check_username(username)
        existing = self._store.get_user(username)
        if password is None and existing is None:
            raise ValidationFailed(["password must be specified unless you are updating an existing user"])
        if password is not None and len(password) < MIN_PASSWORD_LENGTH:
            raise ValidationFailed([f"passwords must be at least [{MIN_PASSWORD_LENGTH}] characters long"])
        password_hash = hash_password(password) if password is not None else existing.password_hash  # type: ignore[union-attr]
        created = self._store.put_user(UserRecord(username, password_hash, tuple(roles), full_name, email,
                                                  metadata or {}, enabled))
        self.forget(username)
        return created

    def delete(self, username: str) -> bool:
        found = self._store.delete_user(username)
        self.forget(username)
        return found

    def get(self, usernames: list[str] | None = None) -> list[UserRecord]:
        records = self._store.list_users()
        return records if not usernames else [record for record in records if record.username in usernames]

    def record(self, username: str) -> UserRecord | None:
        """The stored user, read now (blocking)."""
        return self._store.get_user(username)

    def forget(self, username: str) -> None:
        self._checked.forget([username])

    def forget_all(self) -> None:
        """Drop every cached check (another process changed some user)."""
        self._checked.forget_all()

    @property
    def generation(self) -> int:
        return self._checked.generation

    @property
    def cache_ttl_s(self) -> float:
        return self._checked.ttl_s

    def count(self) -> int:
        return self._store.count_users()

    def cached(self, username: str, password: str) -> Principal | None:
        """The principal when this password was checked recently (constant-time comparison), else None."""
        entry = self._checked.get(username)
        if entry is None:
            return None
        return entry.principal if self._secrets.same(password, entry.password_digest) else None

    def authenticate(self, username: str, password: str) -> Principal:
        """Check against the stored scrypt hash (slow: call it off the event loop)."""
        generation = self._checked.generation  # a change while scrypt runs must not be cached over
        record = self._store.get_user(username)
        if record is None or not record.enabled or not password_matches(password, record.password_hash):
            raise CredentialsRefused(f"unable to authenticate user [{username}]")
        principal = user_principal(record)
        self._checked.put(username, _Checked(record, principal, self._secrets.digest(password)), generation)
        return principal
