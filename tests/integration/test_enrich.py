"""`inferd enrich` over 10,000 documents with a real pipeline and model: every output line is its input plus the
enrichment, in order; a run killed (SIGKILL) in the middle and run again finishes without duplicates or gaps; the
CLI's memory and the server's stay flat while they stream (each grows by far less than the corpus)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from elasticsearch import Elasticsearch

from tests.support.models import make_test_model, upload_test_model
from tests.support.server import ServerProcess, client_for

DOCUMENTS = 10_000
WORDS = "the cat dog sat on a mat and ran in park with bird tree".split()
PADDING = 500
"""Characters of padding per document, so that a client or server holding the corpus would grow by megabytes."""


@pytest.fixture(scope="module")
def enrich_server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("enrich") / "data", extra_env={"INFERD_PROCESSORS": "2"}).start()
    es = client_for(server.url)
    upload_test_model(es, "enrich-embedding", make_test_model("text_embedding", models_dir))
    es.ml.start_trained_model_deployment(model_id="enrich-embedding", wait_for="started", queue_capacity=64)
    es.ingest.put_pipeline(id="enrich-p", processors=[
        {"inference": {"model_id": "enrich-embedding", "input_output": [{"input_field": "body",
                                                                           "output_field": "vector"}]}},
        {"set": {"field": "enriched", "value": True}}])
    yield server
    server.stop()


def write_corpus(path: Path) -> list[dict[str, object]]:
    documents = [{"id": index, "body": " ".join(WORDS[(index + k) % len(WORDS)] for k in range(3 + index % 7)),
                  "padding": f"{index:08d}" * (PADDING // 8)} for index in range(DOCUMENTS)]
    path.write_text("".join(json.dumps(document) + "\n" for document in documents))
    return documents


def enrich_command(server: ServerProcess, corpus: Path, output: Path) -> list[str]:
    return [sys.executable, "-m", "inferd", "enrich", str(corpus), "--pipeline", "enrich-p", "-o", str(output),
            "--url", server.url, "--api-key", server.admin_key, "--batch-lines", "256"]


def test_enrich_resumes_without_duplicates_in_flat_memory(enrich_server: ServerProcess, tmp_path: Path) -> None:
    corpus, output = tmp_path / "in.ndjson", tmp_path / "out.ndjson"
    documents = write_corpus(corpus)
    server_process = psutil.Process(enrich_server.process.pid)  # type: ignore[union-attr]

    first = subprocess.Popen(enrich_command(enrich_server, corpus, output), stderr=subprocess.PIPE)
    while not output.exists() or output.stat().st_size < 3_000_000:  # a quarter into the job
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    killed_at = output.read_bytes().count(b"\n")
    assert 0 < killed_at < DOCUMENTS

    resumed_at = output.stat().st_size
    second = subprocess.Popen(enrich_command(enrich_server, corpus, output), stderr=subprocess.PIPE)
    cli_process = psutil.Process(second.pid)
    cli_rss: list[int] = []
    server_rss: list[int] = []
    while second.poll() is None:
        try:
            if output.stat().st_size > resumed_at:  # its imports done and its first batch written
                cli_rss.append(cli_process.memory_info().rss)
                server_rss.append(server_process.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.02)
    _, errors = second.communicate()
    assert second.returncode == 0, errors.decode()

    lines = output.read_text().splitlines()
    assert len(lines) == DOCUMENTS
    enriched = [json.loads(line) for line in lines]
    assert [document["id"] for document in enriched] == list(range(DOCUMENTS))  # in order, none twice
    for document, original in zip(enriched, documents, strict=True):
        assert {name: document[name] for name in original} == original
        assert document["enriched"] is True and len(document["vector"]) == 32
    es: Elasticsearch = client_for(enrich_server.url)
    again = es.ml.infer_trained_model(model_id="enrich-embedding", docs=[{"text_field": documents[123]["body"]}])
    assert enriched[123]["vector"] == pytest.approx(again["inference_results"][0]["predicted_value"], abs=1e-6)
    # Streaming holds a few batches, never the corpus: from its first batch on, neither the CLI nor the server grows
    # by half of what the second run wrote (holding the documents it read or wrote would cost all of it and more).
    written = output.stat().st_size - resumed_at
    assert len(cli_rss) > 10 and written > 5_000_000, (len(cli_rss), written)
    cli_growth, server_growth = max(cli_rss) - cli_rss[0], max(server_rss) - server_rss[0]
    print(f"enrich: {DOCUMENTS - killed_at} documents, {written} bytes written; CLI RSS {cli_rss[0] >> 20} MiB "
          f"grew {cli_growth >> 10} KiB, server grew {server_growth >> 10} KiB")
    assert cli_growth < written / 2, (cli_growth, written)
    assert server_growth < written / 2, (server_growth, written)
    stats = es.ml.get_trained_models_stats(model_id="enrich-embedding")["trained_model_stats"][0]
    assert stats["pipeline_count"] == 1
    assert stats["ingest"]["total"]["count"] >= DOCUMENTS - killed_at  # the second run's, at least
