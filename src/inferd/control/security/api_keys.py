"""API keys: created, checked on every request (from a small cache), listed and invalidated.

Checking a key is a dictionary lookup, an expiry comparison and one HMAC compared in constant time. The
cache holds stored records (never secrets) for `cache_ttl_s`; invalidating or updating a key drops it from
the cache in the same call, and expiry is compared against the clock on every request, so neither outlives
its moment on this server. A change made by another process (`inferd keys reset-admin`, another server
sharing a PostgreSQL store) empties the cache through `changes.ChangeWatcher` within a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from inferd.clock import Clock
from inferd.control.security.expiring_cache import ExpiringCache
from inferd.control.security.hashing import (
    encode_api_key,
    hash_key_secret,
    key_secret_matches,
    new_key_id,
    new_key_secret,
)
from inferd.control.security.principal import CredentialsRefused, Principal
from inferd.control.security.privileges import check_privilege_names, exceeds
from inferd.errors import IllegalArgument, ParseError, ResourceNotFound, SecurityException
from inferd.store import ApiKeyRecord, SecurityStore


@dataclass(frozen=True)
class CreatedKey:
    record: ApiKeyRecord
    secret: str

    @property
    def encoded(self) -> str:
        return encode_api_key(self.record.key_id, self.secret)


@dataclass(frozen=True)
class _Cached:
    record: ApiKeyRecord
    principal: Principal


def requested_privileges(role_descriptors: dict[str, Any]) -> frozenset[str]:
    """The union of the descriptors' `cluster` privileges (the only kind inferd has)."""
    names: list[str] = []
    for role, descriptor in role_descriptors.items():
        cluster = (descriptor or {}).get("cluster")
        if cluster is None:  # Elasticsearch reads a null `cluster` as none
            continue
        if not isinstance(cluster, list) or not all(isinstance(name, str) for name in cluster):
            raise ParseError(f"failed to parse role [{role}]. could not parse [cluster] field. expected a string array "
                             f"but found [{cluster!r:.100}] instead")
        names.extend(check_privilege_names(cluster))
    return frozenset(names)


def key_principal(record: ApiKeyRecord) -> Principal:
    return Principal(
        username=record.username, privileges=frozenset(record.privileges), realm_name=record.realm,
        realm_type=record.realm_type, api_key_id=record.key_id, api_key_name=record.name,
    )


class ApiKeys:
    def __init__(self, store: SecurityStore, clock: Clock, actions: Sequence[str], cache_ttl_s: float = 60.0) -> None:
        self._store = store
        self._clock = clock
        self._actions = tuple(actions)
        self._cache: ExpiringCache[_Cached] = ExpiringCache(clock, cache_ttl_s)

    # --- creating ---------------------------------------------------------------------------------

    def create(self, creator: Principal, name: str, expiration_s: float | None,
               role_descriptors: dict[str, Any] | None, metadata: dict[str, Any] | None,
               given: tuple[str, str] | None = None) -> CreatedKey:
        """A key with the descriptors' privileges (or, with none, the creator's own), never more than the
        creator holds: asking for more is refused with 403 and the actions it would have opened. Its id and
        secret are random, unless `given` (a bootstrap key an operator provided, already checked)."""
        privileges = self._privileges(creator, role_descriptors, "create")
        now_ms = self._clock.now_ms()
        key_id, secret = given or (new_key_id(), new_key_secret())
        salt, digest = hash_key_secret(secret)
        record = ApiKeyRecord(
            key_id=key_id, name=name, salt=salt, secret_hash=digest, creation_ms=now_ms,
            expiration_ms=None if expiration_s is None else now_ms + int(expiration_s * 1000), invalidation_ms=None,
            username=creator.username, realm=creator.realm_name, realm_type=creator.realm_type,
            privileges=privileges, role_descriptors=role_descriptors or {},
            limited_by=tuple(sorted(creator.privileges)), metadata=metadata or {},
        )
        self._store.add_key(record)
        return CreatedKey(record, secret)

    def _privileges(self, owner: Principal, role_descriptors: dict[str, Any] | None, verb: str) -> tuple[str, ...]:
        """The descriptors' privileges, or with none the owner's own; refused (403) beyond what the owner holds."""
        if not role_descriptors:
            return tuple(sorted(owner.privileges))
        privileges = requested_privileges(role_descriptors)
        beyond = exceeds(privileges, owner.privileges, self._actions)
        if beyond:
            raise SecurityException(
                f"cannot {verb} an API key with more privileges than {owner.describe()} holds: it would allow "
                f"[{', '.join(beyond)}]",
                status=403,
            )
        return tuple(sorted(privileges))

    # --- updating ---------------------------------------------------------------------------------

    def update(self, owner: Principal, key_id: str, role_descriptors: dict[str, Any] | None,
               metadata: dict[str, Any] | None, expiration_s: float | None) -> bool:
        """Elasticsearch's Update API key: what is given replaces what the key had (`role_descriptors: {}` gives it
        the owner's privileges), and the key is limited by what its owner holds now. False when nothing changed.

        Only the owner user may update its keys, never a key (Elasticsearch's rule): a key could otherwise widen
        a sibling up to its owner's privileges, beyond its own."""
        if owner.is_api_key:
            raise IllegalArgument("authentication via API key not supported: only the owner user can update an API key")
        record = self._store.get_key(key_id)
        if record is None or not owns(owner, record):
            raise ResourceNotFound(f"no API key owned by requesting user found for ID [{key_id}]")
        now_ms = self._clock.now_ms()
        if record.invalidated:
            raise IllegalArgument(f"cannot update invalidated API key [{key_id}]")
        if record.expired(now_ms):
            raise IllegalArgument(f"cannot update expired API key [{key_id}]")
        descriptors = record.role_descriptors if role_descriptors is None else role_descriptors
        updated = replace(
            record, role_descriptors=descriptors, privileges=self._privileges(owner, descriptors, "update"),
            limited_by=tuple(sorted(owner.privileges)),
            metadata=record.metadata if metadata is None else metadata,
            expiration_ms=record.expiration_ms if expiration_s is None else now_ms + int(expiration_s * 1000),
        )
        if updated == record:
            return False
        if not self._store.update_key(updated):
            raise IllegalArgument(f"cannot update invalidated API key [{key_id}]")
        self._forget([key_id])
        return True

    # --- authenticating ---------------------------------------------------------------------------

    def cached(self, key_id: str) -> ApiKeyRecord | None:
        entry = self._cache.get(key_id)
        return None if entry is None else entry.record

    def load(self, key_id: str) -> ApiKeyRecord | None:
        """Read a key from the store into the cache (blocking: call it off the event loop)."""
        generation = self._cache.generation
        record = self._store.get_key(key_id)
        if record is not None:
            self._cache.put(key_id, _Cached(record, key_principal(record)), generation)
        return record

    def authenticate(self, key_id: str, secret: str, record: ApiKeyRecord | None) -> Principal:
        """The key's principal, or CredentialsRefused with Elasticsearch's reason."""
        if record is None:
            raise CredentialsRefused(f"unable to find apikey with id {key_id}")
        if record.invalidated:
            raise CredentialsRefused(f"api key [{key_id}] has been invalidated")
        if not key_secret_matches(secret, record.salt, record.secret_hash):
            raise CredentialsRefused(f"invalid credentials for API key [{key_id}]")
        if record.expired(self._clock.now_ms()):
            raise CredentialsRefused("api key is expired")
        entry = self._cache.get(key_id)
        return entry.principal if entry is not None and entry.record is record else key_principal(record)

    # --- listing and invalidating -----------------------------------------------------------------

    def find(self, *, ids: Iterable[str] | None = None, name: str | None = None, username: str | None = None,
             realm: str | None = None, owner: Principal | None = None, active_only: bool = False) -> list[ApiKeyRecord]:
        """Keys matching every filter given; `name` may end with `*` (a prefix, as Elasticsearch allows)."""
        wanted = set(ids) if ids is not None else None
        now_ms = self._clock.now_ms()
        found = []
        for record in self._store.list_keys():
            if wanted is not None and record.key_id not in wanted:
                continue
            if name is not None and name not in ("*", "") and not _name_matches(record.name, name):
                continue
            if username is not None and record.username != username:
                continue
            if realm is not None and record.realm != realm:
                continue
            if owner is not None and not owns(owner, record):
                continue
            if active_only and (record.invalidated or record.expired(now_ms)):
                continue
            found.append(record)
        return found

    def invalidate(self, records: Sequence[ApiKeyRecord]) -> tuple[list[str], list[str]]:
        """(invalidated now, invalidated before); takes effect on this server before it returns."""
        key_ids = [record.key_id for record in records]
        invalidated = self._store.invalidate_keys(key_ids, self._clock.now_ms())
        self._forget(key_ids)
        previously = [key_id for key_id in key_ids if key_id not in set(invalidated)]
        return invalidated, previously

    def _forget(self, key_ids: Iterable[str]) -> None:
        self._cache.forget(key_ids)

    def forget_all(self) -> None:
        """Drop every cached key (another process changed some)."""
        self._cache.forget_all()

    @property
    def generation(self) -> int:
        return self._cache.generation

    @property
    def cache_ttl_s(self) -> float:
        return self._cache.ttl_s

    def count(self) -> int:
        return self._store.count_keys()


def owns(principal: Principal, record: ApiKeyRecord) -> bool:
    """Elasticsearch's ownership: the same user in the same realm (an API key owns only itself)."""
    if principal.is_api_key:
        return record.key_id == principal.api_key_id
    return record.username == principal.username and record.realm == principal.realm_name


def _name_matches(actual: str, pattern: str) -> bool:
    return actual.startswith(pattern[:-1]) if pattern.endswith("*") else actual == pattern
