"""A throwaway PostgreSQL server for the store tests, from the machine's PostgreSQL binaries."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.server import free_port


def postgres_binaries() -> Path | None:
    for candidate in [Path(p).parent for p in (shutil.which("initdb"),) if p] + sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), reverse=True
    ):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


def _as_postgres_user(command: list[str]) -> list[str]:
    """initdb refuses to run as root; run it as the `postgres` user when we are root."""
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@contextmanager
def running_postgres() -> Iterator[str]:
    """Start PostgreSQL on a free loopback port; yield its SQLAlchemy URL; stop and remove it afterwards.

    Its directory is made directly under the system temp dir: pytest's are private to root, and the
    server runs as `postgres` when the tests run as root.
    """
    binaries = postgres_binaries()
    assert binaries is not None
    root = Path(tempfile.mkdtemp(prefix="inferd-pg-"))
    data = root / "pgdata"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = free_port()
    subprocess.run(_as_postgres_user([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
                   check=True, capture_output=True)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {root}"
    subprocess.run(_as_postgres_user([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-w", "-l",
                                      str(data / "log"), "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(_as_postgres_user([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
