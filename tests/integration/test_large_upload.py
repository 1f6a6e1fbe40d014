"""The real all-MiniLM-L6-v2 (~90 MB traced) uploads in 1 MiB parts without the server holding it in memory."""

from __future__ import annotations

import threading
from pathlib import Path

import psutil
import pytest

from tests.support.models import make_minilm_model, upload_test_model
from tests.support.server import ServerProcess, client_for

pytestmark = pytest.mark.slow


def peak_rss_bytes(pid: int) -> int:
    """The kernel's high-water mark of the process's resident memory (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def test_upload_of_a_90mb_definition_keeps_server_memory_flat(tmp_path: Path, models_dir: Path) -> None:
    model = make_minilm_model(models_dir)
    assert model.size_bytes > 80 * 1024 * 1024
    server = ServerProcess(tmp_path / "data").start()
    try:
        es = client_for(server.url)
        assert server.process is not None
        process = psutil.Process(server.process.pid)
        es.ml.put_trained_model(model_id="warm-up", body=model.config)  # first requests load lazy imports
        es.ml.get_trained_models_stats()
        baseline = max(process.memory_info().rss, peak_rss_bytes(process.pid))

        samples: list[int] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append(process.memory_info().rss)
                done.wait(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:
            upload_test_model(es, "all-minilm-l6-v2", model)  # eland's 1 MiB parts
        finally:
            done.set()
            sampler.join()

        config = es.ml.get_trained_models(model_id="all-minilm-l6-v2", include="definition_status")
        assert config["trained_model_configs"][0]["fully_defined"] is True
        growth = max(max(samples), peak_rss_bytes(process.pid)) - baseline
        print(f"server RSS: baseline {baseline / 2**20:.1f} MiB, growth {growth / 2**20:.1f} MiB, "
              f"model {model.size_bytes / 2**20:.1f} MiB, {len(samples)} samples")
        assert growth < model.size_bytes
        assert growth < 48 * 2**20  # far below the model: it is never held whole
    finally:
        server.stop()
