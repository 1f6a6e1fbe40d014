"""The first start makes one admin key, readable by its owner only."""

import base64
import stat
from pathlib import Path

import pytest

from inferd.control.security import (
    BOOTSTRAP_PRINCIPAL,
    ApiKeys,
    CredentialsRefused,
    InvalidBootstrapKey,
    Users,
    ensure_admin_key,
    generate_encoded_key,
    reset_admin_key,
)
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


def _stores(tmp_path: Path) -> tuple[ApiKeys, Users]:
    store = SecurityStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}"))
    return ApiKeys(store, FakeClock(), []), Users(store, FakeClock())


def test_a_provided_bootstrap_key_becomes_the_admin_key(tmp_path: Path) -> None:
    keys, users = _stores(tmp_path)
    provided = tmp_path / "provided.key"
    provided.write_text(generate_encoded_key() + "\n")
    encoded = ensure_admin_key(keys, users, tmp_path, provided)
    assert encoded == provided.read_text().strip()
    assert (tmp_path / "admin-api-key").read_text() == encoded + "\n"
    key_id, _, secret = base64.b64decode(encoded).decode().partition(":")
    principal = keys.authenticate(key_id, secret, keys.load(key_id))
    assert principal.username == "elastic" and "all" in principal.privileges
    provided.write_text(generate_encoded_key())  # read at the first start only
    assert ensure_admin_key(keys, users, tmp_path, provided) is None
    assert keys.count() == 1


@pytest.mark.parametrize("content,reason", [
    ("", "must hold one encoded API key"),
    ("not base64!", "must hold one encoded API key"),
    (base64.b64encode(b"no-colon-here").decode(), "must hold one encoded API key"),
    (base64.b64encode(b"id:short").decode(), "a secret of at least 32 characters"),
    (base64.b64encode(b"bad id:" + b"s" * 40).decode(), "an id of 1-64 letters"),
])
def test_a_malformed_bootstrap_key_is_refused_and_nothing_is_stored(tmp_path: Path, content: str, reason: str) -> None:
    keys, users = _stores(tmp_path)
    provided = tmp_path / "provided.key"
    provided.write_text(content)
    with pytest.raises(InvalidBootstrapKey, match=reason):
        ensure_admin_key(keys, users, tmp_path, provided)
    assert keys.count() == 0 and not (tmp_path / "admin-api-key").exists()


def test_an_unreadable_bootstrap_key_file_is_named(tmp_path: Path) -> None:
    keys, users = _stores(tmp_path)
    with pytest.raises(InvalidBootstrapKey, match="missing.key.*cannot be read"):
        ensure_admin_key(keys, users, tmp_path, tmp_path / "missing.key")
