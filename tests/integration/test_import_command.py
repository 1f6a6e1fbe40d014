"""`inferd import` against the real server: a traced model arrives complete and described."""

from __future__ import annotations

import subprocess
import sys

from elasticsearch import Elasticsearch

from tests.support.models import make_test_model
from tests.support.server import ServerProcess


def test_import_uploads_a_complete_model(es: Elasticsearch, server: ServerProcess, model_id: str, models_dir) -> None:
    source = make_test_model("text_classification", models_dir)
    command = [sys.executable, "-m", "inferd", "import", str(source.hf_dir), "--task-type", "text_classification",
               "--model-id", model_id, "--url", server.url, "--data-dir", str(server.data_dir)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    config = es.ml.get_trained_models(model_id=model_id, include="definition_status")["trained_model_configs"][0]
    assert config["fully_defined"] is True
    assert config["inference_config"]["text_classification"]["classification_labels"] == ["negative", "positive"]

    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 1 and "--clear-previous" in again.stdout
