"""Noticing keys and users changed by another process: another server sharing the store, or the CLI.

A server drops what it cached the moment it changes a key or user itself. Others learn of it from the
store's change counter, which every such change bumps in its own transaction: at most once a second a
request claims the check, reads the counter off the event loop, and a new value empties the key and user
caches (and with them every verified credential). So a change reaches every server within about a second.
"""

from __future__ import annotations

import math

from inferd.clock import Clock
from inferd.control.security.api_keys import ApiKeys
from inferd.control.security.users import Users
from inferd.store import SecurityStore

CHECK_INTERVAL_S = 1.0


class ChangeWatcher:
    def __init__(self, store: SecurityStore, clock: Clock, keys: ApiKeys, users: Users) -> None:
        self._store = store
        self._clock = clock
        self._keys = keys
        self._users = users
        self._checked_at = -math.inf
        self._seen: int | None = None

    def claim(self) -> bool:
        """True for one caller per interval, which must then `check`: the time is stamped here, on the event loop,
        so the requests that arrive while that check runs in a thread do not each start one of their own."""
        now = self._clock.monotonic()
        if now - self._checked_at < CHECK_INTERVAL_S:
            return False
        self._checked_at = now
        return True

    def check(self) -> None:
        """Empty the caches if the store counted a change since the last check (blocking: run it off the loop)."""
        count = self._store.count_changes()
        if count != self._seen:
            self._keys.forget_all()
            self._users.forget_all()
            self._seen = count
