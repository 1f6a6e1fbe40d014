"""inferd's commands find a local server's admin key by themselves; the CLI's role table matches the server's."""

from pathlib import Path

from inferd.cli.credentials import is_local, resolve_api_key
from inferd.cli.keys import ROLE_PRIVILEGES
from inferd.control.security.privileges import BUILTIN_ROLES


def test_a_local_server_key_is_read_from_the_data_dir(tmp_path: Path) -> None:
    (tmp_path / "admin-api-key").write_text("c2VjcmV0\n")
    assert resolve_api_key("http://localhost:9200", None, tmp_path) == "c2VjcmV0"
    assert resolve_api_key("https://127.0.0.1:9201", None, tmp_path) == "c2VjcmV0"
    assert resolve_api_key("http://[::1]:9200", None, tmp_path) == "c2VjcmV0"
    assert resolve_api_key("http://localhost:9200", "given", tmp_path) == "given"
    assert resolve_api_key("http://inferd.example.com:9200", None, tmp_path) is None  # never sent elsewhere
    assert resolve_api_key("http://localhost:9200", None, tmp_path / "absent") is None


def test_loopback_detection() -> None:
    assert is_local("http://127.0.0.2:1") and not is_local("http://10.0.0.1:9200") and not is_local("http://0.0.0.0")


def test_the_cli_role_table_is_the_servers() -> None:
    assert {role: tuple(privileges) for role, privileges in ROLE_PRIVILEGES.items()} == BUILTIN_ROLES
