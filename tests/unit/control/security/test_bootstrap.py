"""The first start makes one admin key, readable by its owner only."""

import base64
import stat
from pathlib import Path

from inferd.control.security import ApiKeys, Users, ensure_admin_key
from inferd.store import SecurityStore, open_store
from tests.support.clock import FakeClock


def test_the_first_start_writes_the_admin_key_once(tmp_path: Path) -> None:
    store = SecurityStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))
    keys, users = ApiKeys(store, FakeClock(), []), Users(store, FakeClock())
    encoded = ensure_admin_key(keys, users, tmp_path)
    assert encoded is not None
    key_file = tmp_path / "admin-api-key"
    assert key_file.read_text() == encoded + "\n"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    principal = keys.authenticate(key_id, secret, keys.load(key_id))
    assert principal.username == "elastic" and "all" in principal.privileges
    assert ensure_admin_key(keys, users, tmp_path) is None  # not on later starts
    assert key_file.read_text() == encoded + "\n"
