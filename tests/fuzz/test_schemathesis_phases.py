"""Schemathesis' own coverage and stateful phases, run by its CLI against a real server, as each fuzz identity.

The coverage phase sends the boundary values the OpenAPI description implies (each bound, just past it, each enum
value, each required field missing); the stateful phase chains operations along the links schemathesis infers from
the description. `schemathesis_hooks.py` fails any 5xx or error that is not in Elasticsearch's shape, and counts
the requests each operation got. Schemathesis' pytest plugin does not load under this pytest, hence the CLI.

CI gives each identity `INFERD_ST_MAX_TIME` seconds (default 20; the coverage phase alone takes about 15 s); a long
run, whose stateful phase goes on until the time is spent:

    INFERD_ST_MAX_TIME=600 .venv/bin/python -m pytest tests/fuzz/test_schemathesis_phases.py -p no:cacheprovider -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.fuzz import Identity, fuzz_identities
from tests.support.server import ServerProcess, auth_headers

MAX_TIME_S = int(os.environ.get("INFERD_ST_MAX_TIME", "20"))
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def st_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("schemathesis") / "data", extra_env={"INFERD_PROCESSORS": "2"})
    yield server.start()
    server.stop()


@pytest.fixture(scope="module")
def schema_file(st_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The description, fetched once with the admin key: it is not public, and nobody could load it otherwise."""
    path = tmp_path_factory.mktemp("schema") / "openapi.json"
    response = httpx.get(f"{st_server.url}/_inferd/openapi.json", headers=auth_headers(st_server.url), timeout=60)
    response.raise_for_status()
    path.write_bytes(response.content)
    return path


@pytest.fixture(scope="module")
def identities(st_server: ServerProcess) -> dict[str, Identity]:
    return fuzz_identities(st_server)


@pytest.mark.parametrize("who", ["anonymous", "ml_admin"])
def test_coverage_and_stateful_phases_find_no_server_error(
    st_server: ServerProcess, schema_file: Path, identities: dict[str, Identity], who: str, tmp_path: Path,
) -> None:
    counts = tmp_path / "counts.json"
    headers = [option for name, value in identities[who].headers.items() for option in ("-H", f"{name}: {value}")]
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", str(schema_file), "--url", st_server.url,
        "--phases", "coverage,stateful", "--checks", "not_a_server_error,elasticsearch_answers", *headers,
        "--exclude-path-regex", "/_fail$",  # losing the only virtual node is what `_fail` is for
        "--max-time", str(MAX_TIME_S), "--workers", "1", "--no-color", "--warnings", "off",
        "--report", "junit", "--report-dir", str(tmp_path / "report"),
    ]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), "INFERD_ST_COUNTS": str(counts),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=MAX_TIME_S + 120, cwd=tmp_path)
    summary = run.stdout[run.stdout.find("SUMMARY"):] if "SUMMARY" in run.stdout else run.stdout[-4000:]
    print(f"schemathesis as {who}:\n{summary}")
    assert run.returncode == 0, f"{run.stdout[-8000:]}\n{run.stderr[-3000:]}"
    assert counts.is_file(), "the elasticsearch_answers check did not run"
    requests: dict[str, int] = json.loads(counts.read_text())
    print("\n".join(f"{who:<10} {line:<80} {number:>6}" for line, number in sorted(requests.items())))
    operations = {line.rsplit(" ", 1)[0] for line in requests}
    assert len(operations) >= 45, f"only {len(operations)} operations got requests"
