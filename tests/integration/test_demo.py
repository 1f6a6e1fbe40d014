"""README's first command: `inferd demo` serves all-MiniLM-L6-v2, registered and fully defined."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.support.server import client_for, free_port

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
        config = client_for(f"http://127.0.0.1:{port}").ml.get_trained_models(
            model_id="all-minilm-l6-v2", include="definition_status"
        )["trained_model_configs"][0]
        assert config["fully_defined"] is True
        assert config["inference_config"]["text_embedding"]["embedding_size"] == 384
        busy = subprocess.run([sys.executable, "-m", "inferd", "demo", "--port", str(port)], capture_output=True,
                              text=True, timeout=60)
        assert busy.returncode == 1 and "already in use" in busy.stdout
    finally:
        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0
    time.sleep(1)
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if {"serve", str(port)} <= set(p.info["cmdline"] or ())]
    assert leftovers == [], "the demo left its server running"
