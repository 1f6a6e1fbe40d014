"""elasticsearch-py 8.19, as 8.x users call it (`body=`), deploys, resizes, infers and stops a model.

`./scripts/setup.sh --dev` installs the 8.x client beside the 9.x one, in `.venv/es8`; it runs in a child
process with that folder first on its path, so the two versions never meet in one interpreter.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from elasticsearch import Elasticsearch

from tests.support.api import echo_rows
from tests.support.models import TestModel, upload_test_model
from tests.support.server import ServerProcess

ES8 = Path(sys.prefix) / "es8"
SCRIPT = Path(__file__).parents[1] / "support" / "es8_body_forms.py"


def test_the_8x_client_body_forms(es: Elasticsearch, server: ServerProcess, model_id: str, echo_model: TestModel) -> None:
    assert (ES8 / "elasticsearch").is_dir(), f"{ES8} is missing: run ./scripts/setup.sh --dev"
    upload_test_model(es, model_id, echo_model)
    text = "the cat and the dog"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), server.url, model_id, text],
        env={**os.environ, "PYTHONPATH": str(ES8), "INFERD_API_KEY": server.admin_key}, capture_output=True, text=True, timeout=120, check=False,
    )
    assert run.returncode == 0, run.stderr
    answers = json.loads(run.stdout)
    assert answers["client"].startswith("8.19.")
    assert answers["start"]["assignment"]["task_parameters"]["queue_capacity"] == 50
    assert answers["update"]["assignment"]["task_parameters"]["number_of_allocations"] == 2
    assert answers["infer"] == {"inference_results": [{"predicted_value": echo_rows(text)}]}
    (entry,) = answers["stats"]["trained_model_stats"]
    assert entry["deployment_stats"]["number_of_allocations"] == 2
    assert answers["stop"] == answers["stop_again"] == {"stopped": True}
    assert "deployment_stats" not in es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"][0]
