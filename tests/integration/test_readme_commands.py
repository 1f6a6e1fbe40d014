"""README's two set-up commands, run the way a new user runs them: in a fresh copy of the checkout, as written.

The first command installs into the copy's own `.venv` and serves the demo model with the default, relative data
dir; the test then runs the `curl` commands the demo printed, exactly as printed, from another directory, checks
each answer, presses Ctrl-C (SIGINT to the process group, as a terminal does) and checks that nothing is left
running. The second command's set-up (`--dev`) is run in the same copy, and its test command must collect the
whole suite there; `.ci/run` must run that command as README writes it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.support.server import free_port

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).parents[2]
FIRST_BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def readme_commands() -> tuple[str, str]:
    """README's first two command lines, without their comments."""
    block = FIRST_BLOCK.search((CHECKOUT / "README.md").read_text())
    assert block is not None, "README.md must open with a bash block of its two set-up commands"
    lines = [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2, f"README's first block holds exactly two commands, not {lines}"
    return lines[0], lines[1]


def fresh_copy(destination: Path) -> Path:
    """What a clone of this checkout holds (tracked files, and new ones git does not ignore), copied."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=CHECKOUT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = CHECKOUT / name
        if source.is_file():  # a file deleted in the work tree but still tracked is not copied
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    return destination


def test_readme_test_command_is_what_ci_runs() -> None:
    _, test_command = readme_commands()
    ci = (CHECKOUT / ".ci" / "run").read_text()
    assert any(line.strip() == test_command for line in ci.splitlines()), f".ci/run must run `{test_command}`"


def test_readme_commands_work_in_a_fresh_copy(tmp_path: Path) -> None:
    first, second = readme_commands()
    assert first.endswith("inferd demo"), "the first command runs the demo; this test follows what it prints"
    copy = fresh_copy(tmp_path / "inferd")
    port = free_port()
    environment = {**os.environ, "INFERD_PORT": str(port)}  # the command as written, on a free port
    environment.pop("VIRTUAL_ENV", None)
    log = tmp_path / "first-command.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(["bash", "-c", first], cwd=copy, env=environment, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        output = _wait_for(log, demo, "Press Ctrl-C to stop", timeout_s=900)
        assert (copy / "data" / "admin-api-key").is_file(), "the default data dir is ./data, relative to the checkout"
        tried = _printed_commands(output)
        assert len(tried) == 3, output[-3000:]
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        for command in tried:
            _check_answer(command, subprocess.run(["bash", "-c", command], cwd=elsewhere, capture_output=True,
                                                  text=True, timeout=120))
        family = [psutil.Process(demo.pid), *psutil.Process(demo.pid).children(recursive=True)]
        assert any("inferd.runtime.worker" in " ".join(process.cmdline()) for process in family), "no worker ran"
        busy = subprocess.run([".venv/bin/inferd", "demo"], cwd=copy, env=environment, capture_output=True, text=True,
                              timeout=120)
        assert busy.returncode == 1 and "already in use" in busy.stdout, busy.stdout + busy.stderr
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C in a terminal signals the whole foreground group
    assert demo.wait(timeout=90) == 0, log.read_text()[-3000:]
    _, alive = psutil.wait_procs(family, timeout=30)
    assert alive == [], f"Ctrl-C left {[process.cmdline() for process in alive]} running"

    setup, _, test_command = second.partition(" && ")
    subprocess.run(["bash", "-c", setup], cwd=copy, env=environment, check=True, capture_output=True, timeout=900)
    collected = subprocess.run(["bash", "-c", f"{test_command} --collect-only -q -p no:cacheprovider"], cwd=copy,
                               env=environment, capture_output=True, text=True, timeout=300)
    assert collected.returncode == 0, collected.stdout[-3000:] + collected.stderr[-3000:]
    count = re.search(r"(\d+) tests collected", collected.stdout)
    assert count is not None and int(count.group(1)) > 500, collected.stdout[-1000:]
    assert (copy / ".venv" / "es8" / "elasticsearch").is_dir(), "--dev installs the 8.x client beside the 9.x one"


def _wait_for(log: Path, process: subprocess.Popen[bytes], marker: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while marker not in (text := log.read_text(errors="replace")):
        assert process.poll() is None, f"exited with {process.returncode}:\n{text[-4000:]}"
        assert time.monotonic() < deadline, f"no {marker!r} after {timeout_s:g}s:\n{text[-4000:]}"
        time.sleep(0.5)
    return text


def _printed_commands(output: str) -> list[str]:
    tail = output[output.index("Try:"):output.index("Press Ctrl-C")]
    return [line.strip() for line in tail.splitlines() if line.strip().startswith("curl ")]


def _check_answer(command: str, result: subprocess.CompletedProcess[str]) -> None:
    """Each printed command answers what it is for: an embedding, the model's definition status, its stats."""
    assert result.returncode == 0, f"{command}\n{result.stderr}"
    answer = json.loads(result.stdout)
    url = shlex.split(command)[2]
    if "/_infer" in url:
        [vector] = [entry["predicted_value"] for entry in answer["inference_results"]]
        assert len(vector) == 384 and len(set(vector)) > 300, vector[:8]
    elif "/_stats" in url:
        [stats] = answer["trained_model_stats"]
        assert stats["model_id"] == "all-minilm-l6-v2" and stats["deployment_stats"]["state"] == "started"
        assert stats["deployment_stats"]["nodes"][0]["inference_count"] >= 1  # the _infer above
    else:
        [config] = answer["trained_model_configs"]
        assert config["model_id"] == "all-minilm-l6-v2" and config["fully_defined"] is True
        assert config["description"] == "sentence-transformers/all-MiniLM-L6-v2, the demo model"
