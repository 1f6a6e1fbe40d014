"""Users for basic auth: scrypt once, then a cache; a change or deletion is seen at once."""

from pathlib import Path

import pytest

from inferd.control.security import CredentialsRefused, Users
from inferd.errors import IllegalArgument, ValidationFailed
from inferd.store import SecurityStore, open_store
from tests.support.clock import FakeClock


@pytest.fixture
def users(tmp_path: Path) -> Users:
    return Users(SecurityStore(open_store(f"sqlite:///{tmp_path / 'inferd.db'}")), FakeClock(), cache_ttl_s=300)


def test_a_user_authenticates_and_is_cached(users: Users) -> None:
    assert users.put("alice", "secret1", ["machine_learning_user"]) is True
    assert users.cached("alice", "secret1") is None
    principal = users.authenticate("alice", "secret1")
    assert principal.privileges == {"monitor_ml"} and principal.roles == ("machine_learning_user",)
    assert users.cached("alice", "secret1") == principal
    assert users.cached("alice", "wrong!!") is None
    with pytest.raises(CredentialsRefused, match=r"unable to authenticate user \[alice\]"):
        users.authenticate("alice", "wrong!!")


def test_changing_or_deleting_a_user_drops_its_cache(users: Users) -> None:
    users.put("bob", "secret1", ["machine_learning_admin"])
    users.authenticate("bob", "secret1")
    assert users.put("bob", "secret2", ["machine_learning_user"]) is False
    assert users.cached("bob", "secret1") is None
    with pytest.raises(CredentialsRefused):
        users.authenticate("bob", "secret1")
    assert users.authenticate("bob", "secret2").privileges == {"monitor_ml"}
    assert users.delete("bob") is True and users.cached("bob", "secret2") is None
    with pytest.raises(CredentialsRefused):
        users.authenticate("bob", "secret2")


def test_elasticsearchs_user_rules(users: Users) -> None:
    with pytest.raises(ValidationFailed, match=r"passwords must be at least \[6\] characters long"):
        users.put("carol", "short", [])
    with pytest.raises(ValidationFailed, match="password must be specified"):
        users.put("carol", None, [])
    with pytest.raises(IllegalArgument, match=r"user \[elastic\] is reserved"):
        users.put("elastic", "secret1", ["superuser"])
    with pytest.raises(ValidationFailed, match="Invalid username"):
        users.put(" padded", "secret1", [])
    users.put("carol", "secret1", [], full_name="Carol")
    users.put("carol", None, ["machine_learning_user"])  # an update may keep the password
    assert users.authenticate("carol", "secret1").roles == ("machine_learning_user",)
