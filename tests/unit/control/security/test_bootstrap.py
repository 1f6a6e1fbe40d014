"""The first start makes one admin key, readable by its owner only."""

import base64
import stat
from pathlib import Path

import pytest

from inferd.control.security import BOOTSTRAP_PRINCIPAL, ApiKeys, CredentialsRefused, Users, ensure_admin_key, reset_admin_key
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


def test_resetting_the_admin_key_invalidates_the_old_one_and_writes_a_new_one(tmp_path: Path) -> None:
    store = SecurityStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))
    keys, users = ApiKeys(store, FakeClock(), []), Users(store, FakeClock())
    old = ensure_admin_key(keys, users, tmp_path)
    assert old is not None
    made_by_admin = keys.create(BOOTSTRAP_PRINCIPAL, "made-by-the-admin", None, None, None)
    created, invalidated = reset_admin_key(keys, tmp_path)
    key_file = tmp_path / "admin-api-key"
    assert key_file.read_text() == created.encoded + "\n" and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    old_id, _, old_secret = base64.b64decode(old).decode().partition(":")
    assert invalidated == [old_id]
    with pytest.raises(CredentialsRefused, match="has been invalidated"):
        keys.authenticate(old_id, old_secret, keys.load(old_id))
    new = keys.authenticate(created.record.key_id, created.secret, keys.load(created.record.key_id))
    assert new.api_key_name == "inferd-admin" and "all" in new.privileges
    assert not keys.find(ids=[made_by_admin.record.key_id])[0].invalidated  # only the admin key is replaced
    again, invalidated_again = reset_admin_key(keys, tmp_path)
    assert invalidated_again == [created.record.key_id] and again.record.key_id != created.record.key_id
