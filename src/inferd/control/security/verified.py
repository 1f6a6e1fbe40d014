"""Authorization headers already verified, so a repeat costs one keyed digest and a dictionary lookup.

Entries are found by a keyed BLAKE2b digest (a MAC, computed in CPython itself: OpenSSL's HMAC set-up cost
more than the rest of a request's authentication) of the whole header under a key made at start-up, never
by the header itself (which holds the secret); the lookup compares digests an attacker cannot predict, so
it leaks nothing of a stored secret. An entry answers only while the key and user caches are at the
generation it was verified under (any invalidation, update or change elsewhere moves them on), before its
cache period ends, and before the API key's own expiration.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass

from inferd.clock import Clock
from inferd.control.security.expiring_cache import MAX_ENTRIES
from inferd.control.security.principal import Principal

@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    generation: tuple[int, int]
    valid_until_ms: int


class VerifiedCredentials:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._entries: dict[bytes, _Verified] = {}
        self._lock = threading.Lock()

    def get(self, header: bytes, generation: tuple[int, int]) -> Principal | None:
        entry = self._entries.get(self._digest(header))
        if entry is None or entry.generation != generation or self._clock.now_ms() >= entry.valid_until_ms:
            return None
        return entry.principal

    def put(self, header: bytes, generation: tuple[int, int], principal: Principal, ttl_s: float,
            expiration_ms: int | None) -> None:
        """Remember a header just verified under `generation` (read before verifying it), for `ttl_s` at most."""
        valid_until_ms = self._clock.now_ms() + int(ttl_s * 1000)
        if expiration_ms is not None:
            valid_until_ms = min(valid_until_ms, expiration_ms)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[self._digest(header)] = _Verified(principal, generation, valid_until_ms)

    def _digest(self, header: bytes) -> bytes:
        return hashlib.blake2b(header, key=self._key, digest_size=32).digest()
