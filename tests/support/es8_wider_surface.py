"""Run by the 8.x test of the wider surface under elasticsearch-py 8.19: `_inference`, ingest pipelines, `_cat`,
memory stats and `_ml/info` as 8.x users call them (`body=` where 8.x code writes it), against a live server.

Usage: INFERD_API_KEY=KEY python es8_wider_surface.py URL MODEL_ID TEXT, where MODEL_ID is a text_embedding model
with no deployment. Prints one JSON object of what each call answered.
"""

from __future__ import annotations

import json
import os
import sys

import elasticsearch
from elasticsearch import Elasticsearch

ENDPOINT, PIPELINE = "es8-endpoint", "es8-pipeline"


def main(url: str, model_id: str, text: str) -> None:
    es = Elasticsearch(url, max_retries=0, retry_on_status=(), request_timeout=120, api_key=os.environ["INFERD_API_KEY"])
    processors = [{"inference": {"model_id": ENDPOINT, "input_output": [{"input_field": "body",
                                                                           "output_field": "vector"}]}}]
    answers = {"client": elasticsearch.__versionstr__}
    answers["put"] = es.inference.put(task_type="text_embedding", inference_id=ENDPOINT, body={
        "service": "elasticsearch", "service_settings": {"model_id": model_id, "num_allocations": 1,
                                                         "num_threads": 1}}).body
    answers["get"] = es.inference.get(inference_id=ENDPOINT).body
    answers["inference"] = es.inference.inference(task_type="text_embedding", inference_id=ENDPOINT,
                                                  input=[text]).body
    answers["infer"] = es.ml.infer_trained_model(model_id=ENDPOINT, body={"docs": [{"text_field": text}]}).body
    answers["put_pipeline"] = es.ingest.put_pipeline(id=PIPELINE, body={"processors": processors}).body
    answers["get_pipeline"] = es.ingest.get_pipeline(id=PIPELINE).body
    answers["simulate"] = es.ingest.simulate(id=PIPELINE, body={"docs": [{"_source": {"body": text}}]}).body
    answers["simulate_verbose"] = es.ingest.simulate(verbose=True, body={
        "pipeline": {"processors": processors}, "docs": [{"_source": {"body": text}}]}).body
    answers["cat"] = es.cat.ml_trained_models(model_id=model_id, format="json", h="id,type,ingest.pipelines").body
    answers["cat_text"] = es.cat.ml_trained_models(model_id=model_id, v=True, h="id,ingest.pipelines").body
    answers["memory"] = es.ml.get_memory_stats().body
    answers["info"] = es.ml.info().body
    answers["delete_pipeline"] = es.ingest.delete_pipeline(id=PIPELINE).body
    answers["delete"] = es.inference.delete(inference_id=ENDPOINT).body
    answers["after_delete"] = es.inference.get().body
    print(json.dumps(answers))


if __name__ == "__main__":
    main(*sys.argv[1:4])
