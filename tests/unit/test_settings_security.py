"""Secure combinations of settings: no security only on loopback; TLS needs a certificate and its key."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from inferd.settings import Settings, is_loopback


def test_no_security_is_refused_off_loopback(tmp_path: Path) -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert Settings(data_dir=tmp_path, host=host, security_enabled=False).security_enabled is False
    for host in ("0.0.0.0", "192.168.1.5", "inferd.example.com"):
        with pytest.raises(ValidationError, match="not a loopback address"):
            Settings(data_dir=tmp_path, host=host, security_enabled=False)
        assert Settings(data_dir=tmp_path, host=host).security_enabled is True


def test_tls_needs_both_files(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="both --tls-cert and --tls-key"):
        Settings(data_dir=tmp_path, tls_cert=tmp_path / "cert.pem")


def test_loopback() -> None:
    assert is_loopback("127.0.0.53") and is_loopback("[::1]") and not is_loopback("::")
