"""Every path a setting names is made absolute once, when the settings are built, whatever the working directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferd.settings import Settings, absolute_sqlite_url


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path.resolve()


def test_the_default_data_dir_is_absolute(elsewhere: Path) -> None:
    settings = Settings()
    assert settings.data_dir == elsewhere / "data"
    assert settings.resolved_store_url == f"sqlite:///{elsewhere / 'data' / 'inferd.db'}"


def test_relative_paths_from_the_environment_are_resolved(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERD_DATA_DIR", "srv/../state")
    monkeypatch.setenv("INFERD_TLS_CERT", "tls/cert.pem")
    monkeypatch.setenv("INFERD_TLS_KEY", "tls/key.pem")
    monkeypatch.setenv("INFERD_STORE_URL", "sqlite:///db/inferd.db")
    settings = Settings()
    assert settings.data_dir == elsewhere / "state"
    assert (settings.tls_cert, settings.tls_key) == (elsewhere / "tls" / "cert.pem", elsewhere / "tls" / "key.pem")
    assert settings.resolved_store_url == f"sqlite:///{elsewhere / 'db' / 'inferd.db'}"


def test_a_home_relative_data_dir_is_expanded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert Settings(data_dir=Path("~/inferd")).data_dir == tmp_path.resolve() / "inferd"


@pytest.mark.parametrize("url", [
    "sqlite:////var/lib/inferd/inferd.db",
    "sqlite://",
    "sqlite:///:memory:",
    "postgresql+psycopg://inferd:secret@db.example:5432/inferd",
])
def test_absolute_and_non_file_store_urls_are_kept(url: str) -> None:
    assert absolute_sqlite_url(url) == url
