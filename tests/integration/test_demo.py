"""README's first command: `inferd demo` serves all-MiniLM-L6-v2, fully defined, deployed and answering `_infer`."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.server import client_for, free_port, register_server

pytestmark = pytest.mark.slow


def test_demo_serves_the_demo_model(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen([sys.executable, "-m", "inferd", "demo", "--port", str(port),
                                 "--data-dir", str(tmp_path / "data")], stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while "Press Ctrl-C to stop" not in log.read_text():
            assert demo.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        output = log.read_text()
        assert f"inferd is serving at http://127.0.0.1:{port}" in output
        assert "curl -s" in output
        assert f"Authorization: ApiKey $(cat {tmp_path / 'data' / 'admin-api-key'})" in output
        register_server(f"http://127.0.0.1:{port}", tmp_path / "data")
        es = client_for(f"http://127.0.0.1:{port}")
        config = es.ml.get_trained_models(
            model_id="all-minilm-l6-v2", include="definition_status"
        )["trained_model_configs"][0]
        assert config["fully_defined"] is True
        assert config["inference_config"]["text_embedding"]["embedding_size"] == 384
        texts = ["inferd serves trained models", "the weather is cold today"]
        results = es.ml.infer_trained_model(model_id="all-minilm-l6-v2", docs=[{"text_field": t} for t in texts])
        vectors = [result["predicted_value"] for result in results["inference_results"]]
        assert [len(vector) for vector in vectors] == [384, 384] and vectors[0] != vectors[1]
        assert "/_infer" in output
        processes = psutil.Process(demo.pid).children(recursive=True)  # the server and its worker
        assert any("inferd.runtime.worker" in " ".join(p.cmdline()) for p in processes)
        busy = subprocess.run([sys.executable, "-m", "inferd", "demo", "--port", str(port)], capture_output=True,
                              text=True, timeout=60)
        assert busy.returncode == 1 and "already in use" in busy.stdout
    finally:
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0
    _, alive = psutil.wait_procs(processes, timeout=30)
    assert alive == [], "the demo left its server or worker running"
