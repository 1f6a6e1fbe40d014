"""elasticsearch-py 8.19, as 8.x users call it (`body=`), deploys, resizes, infers and stops a model, and uses the
wider surface: `_inference` endpoints, ingest pipelines and `_simulate`, `_cat/ml/trained_models`, memory stats
and `_ml/info`.

`./scripts/setup.sh --dev` installs the 8.x client beside the 9.x one, in `.venv/es8`; it runs in a child
process with that folder first on its path, so the two versions never meet in one interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from tests.support.api import echo_rows
from tests.support.models import TestModel, make_test_model, upload_test_model
from tests.support.server import ServerProcess

ES8 = Path(sys.prefix) / "es8"
SCRIPT = Path(__file__).parents[1] / "support" / "es8_body_forms.py"
SURFACE_SCRIPT = Path(__file__).parents[1] / "support" / "es8_wider_surface.py"


def run_under_8x(script: Path, server: ServerProcess, *arguments: str) -> dict[str, Any]:
    """What the script printed, run with the 8.x client first on its path."""
    assert (ES8 / "elasticsearch").is_dir(), f"{ES8} is missing: run ./scripts/setup.sh --dev"
    run = subprocess.run(
        [sys.executable, str(script), server.url, *arguments],
        env={**os.environ, "PYTHONPATH": str(ES8), "INFERD_API_KEY": server.admin_key}, capture_output=True, text=True,
        timeout=180, check=False,
    )
    assert run.returncode == 0, run.stderr
    answers: dict[str, Any] = json.loads(run.stdout)
    assert answers["client"].startswith("8.19.")
    return answers


def test_the_8x_client_body_forms(es: Elasticsearch, server: ServerProcess, model_id: str, echo_model: TestModel) -> None:
    upload_test_model(es, model_id, echo_model)
    text = "the cat and the dog"
    answers = run_under_8x(SCRIPT, server, model_id, text)
    assert answers["start"]["assignment"]["task_parameters"]["queue_capacity"] == 50
    assert answers["update"]["assignment"]["task_parameters"]["number_of_allocations"] == 2
    assert answers["infer"] == {"inference_results": [{"predicted_value": echo_rows(text)}]}
    (entry,) = answers["stats"]["trained_model_stats"]
    assert entry["deployment_stats"]["number_of_allocations"] == 2
    assert answers["stop"] == answers["stop_again"] == {"stopped": True}
    assert "deployment_stats" not in es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"][0]


def test_the_8x_client_on_the_wider_surface(es: Elasticsearch, server: ServerProcess, model_id: str,
                                            models_dir: Path) -> None:
    upload_test_model(es, model_id, make_test_model("text_embedding", models_dir))
    text = "the cat sat on the mat"
    answers = run_under_8x(SURFACE_SCRIPT, server, model_id, text)
    endpoint = {"inference_id": "es8-endpoint", "task_type": "text_embedding", "service": "elasticsearch"}
    assert endpoint.items() <= answers["put"].items()
    assert answers["put"]["service_settings"] == {"model_id": model_id, "num_allocations": 1, "num_threads": 1}
    assert answers["get"] == {"endpoints": [answers["put"]]}
    # The endpoint is a deployment named after it: its embedding is `_infer`'s, through it and through the pipeline.
    vector = answers["infer"]["inference_results"][0]["predicted_value"]
    (embedding,) = answers["inference"]["text_embedding"]
    assert embedding["embedding"] == pytest.approx(vector, abs=1e-6)
    assert answers["put_pipeline"] == {"acknowledged": True}
    assert answers["get_pipeline"]["es8-pipeline"]["processors"][0]["inference"]["model_id"] == "es8-endpoint"
    (simulated,) = answers["simulate"]["docs"]
    assert simulated["doc"]["_source"]["body"] == text
    (chunk,) = simulated["doc"]["_source"]["vector"]  # an endpoint's results are chunks, as `semantic_text` stores
    assert chunk["text"] == text and chunk["embeddings"] == pytest.approx(vector, abs=1e-6)
    (verbose,) = answers["simulate_verbose"]["docs"]
    assert [(step["processor_type"], step["status"]) for step in verbose["processor_results"]] == [
        ("inference", "success")]
    assert answers["cat"] == [{"id": model_id, "type": "pytorch", "ingest.pipelines": "1"}]
    header, row = answers["cat_text"].splitlines()
    assert header.split() == ["id", "ingest.pipelines"] and row.split() == [model_id, "1"]
    (node,) = answers["memory"]["nodes"].values()
    assert answers["memory"]["_nodes"] == {"total": 1, "successful": 1, "failed": 0}
    assert node["mem"]["ml"]["max_in_bytes"] > node["mem"]["ml"]["native_inference_in_bytes"] > 0
    assert answers["info"]["limits"]["max_model_memory_limit"] and answers["info"]["defaults"]
    assert answers["delete_pipeline"] == {"acknowledged": True}
    assert answers["delete"] == {"acknowledged": True, "pipelines": []}
    assert all(entry["inference_id"] != "es8-endpoint" for entry in answers["after_delete"]["endpoints"])
    assert "deployment_stats" not in es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"][0]
