"""Run by the 8.x smoke test under elasticsearch-py 8.19: the `body=` forms 8.x users write, against a live server.

Usage: INFERD_API_KEY=KEY python es8_body_forms.py URL MODEL_ID TEXT. Prints one JSON object of what each call
answered.
"""

from __future__ import annotations

import json
import os
import sys

import elasticsearch
from elasticsearch import Elasticsearch


def main(url: str, model_id: str, text: str) -> None:
    es = Elasticsearch(url, max_retries=0, retry_on_status=(), request_timeout=120, api_key=os.environ["INFERD_API_KEY"])
    ml = es.ml
    answers = {"client": elasticsearch.__versionstr__}
    answers["start"] = ml.start_trained_model_deployment(
        model_id=model_id, body={"number_of_allocations": 1, "queue_capacity": 50, "wait_for": "started"}
    ).body
    answers["update"] = ml.update_trained_model_deployment(model_id=model_id, body={"number_of_allocations": 2}).body
    answers["infer"] = ml.infer_trained_model(model_id=model_id, body={"docs": [{"text_field": text}]}).body
    answers["stats"] = ml.get_trained_models_stats(model_id=model_id).body
    answers["stop"] = ml.stop_trained_model_deployment(model_id=model_id, body={"force": False}).body
    answers["stop_again"] = ml.stop_trained_model_deployment(model_id=model_id, body={"allow_no_match": True}).body
    print(json.dumps(answers))


if __name__ == "__main__":
    main(*sys.argv[1:4])
