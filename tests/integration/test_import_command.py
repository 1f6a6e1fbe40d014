"""`inferd import` against the real server over TLS: eland's command lines (flags and environment variables) and
inferd's own spellings import complete models, `--start` deploys them, and they answer `_infer`; certificate and
hub failures are one clear line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from inferd.importer import TaskType, derive_model_id
from tests.support.models import NER_LABELS, TEXT_CLASSIFICATION_LABELS, write_tiny_bert
from tests.support.server import ServerProcess, client_for
from tests.support.tls import self_signed_certificate

USER, PASSWORD = "importer", "import-s3cret"
# What a developer's shell may set that would change which server, credentials or hub the command uses.
_OUTSIDE_SETTINGS = ("INFERD_URL", "INFERD_API_KEY", "INFERD_DATA_DIR", "ES_URL", "ES_API_KEY", "ES_USERNAME",
                     "ES_PASSWORD", "HUB_ACCESS_TOKEN", "HF_HUB_OFFLINE", "HF_ENDPOINT", "HF_HOME")


@dataclass(frozen=True)
class TlsServer:
    server: ServerProcess
    cert: Path
    es: Elasticsearch  # the admin, verifying the server's certificate

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    """One HTTPS server for the module, with a user for basic authentication."""
    cert, key = self_signed_certificate(tmp_path_factory.mktemp("import-tls"))
    server = ServerProcess(tmp_path_factory.mktemp("import-server") / "data", scheme="https",
                           extra_args=["--tls-cert", str(cert), "--tls-key", str(key)],
                           extra_env={"INFERD_PROCESSORS": "8", "INFERD_ML_MEMORY": "64gb"}).start()
    created = inferd("users", "create", USER, "--role", "machine_learning_admin", "--password-stdin",
                     "--url", server.url, "--ca-certs", str(cert), "--data-dir", str(server.data_dir),
                     stdin=PASSWORD + "\n")
    assert created.returncode == 0, created.stdout + created.stderr
    yield TlsServer(server, cert, client_for(server.url, ca_certs=str(cert)))
    server.stop()


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[TaskType, Path]:
    """Tiny random Hugging Face model directories (the command traces them itself)."""
    root = tmp_path_factory.mktemp("import-models")
    kinds = (TaskType.TEXT_CLASSIFICATION, TaskType.NER, TaskType.TEXT_EMBEDDING)
    return {kind: write_tiny_bert(kind, root / kind.value) for kind in kinds}


def inferd(*args: str, env: dict[str, str] | None = None, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    clean = {name: value for name, value in os.environ.items() if name not in _OUTSIDE_SETTINGS}
    return subprocess.run([sys.executable, "-m", "inferd", *args], capture_output=True, text=True, timeout=300,
                          input=stdin, env={**clean, **(env or {})})


def assert_ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return " ".join(result.stdout.split())  # rich wraps lines at the terminal's width


def assert_deployed_and_answering(es: Elasticsearch, model_id: str) -> dict[str, object]:
    stats = es.ml.get_trained_models_stats(model_id=model_id)["trained_model_stats"][0]
    assert stats["deployment_stats"]["state"] == "started"
    [result] = es.ml.infer_trained_model(model_id=model_id, docs=[{"text_field": "the cat is happy in paris"}])[
        "inference_results"]
    return dict(result)


def test_elands_command_with_an_api_key(tls: TlsServer, model_dirs: dict[TaskType, Path]) -> None:
    key = tls.es.security.create_api_key(name="importer", role_descriptors={"importer": {"cluster": ["manage_ml"]}})
    output = assert_ok(inferd(
        "import", "--hub-model-id", str(model_dirs[TaskType.TEXT_CLASSIFICATION]), "--es-model-id", "eland-api-key",
        "--task-type", "auto", "--start", "--url", tls.url, "--ca-certs", str(tls.cert),
        "--es-api-key", key["encoded"]))
    assert "Task type text_classification" in output and "Imported model eland-api-key and started" in output
    result = assert_deployed_and_answering(tls.es, "eland-api-key")
    assert result["predicted_value"] in TEXT_CLASSIFICATION_LABELS


def test_elands_command_with_basic_auth_and_every_model_flag(tls: TlsServer, model_dirs: dict[TaskType, Path]) -> None:
    output = assert_ok(inferd(
        "import", "--hub-model-id", str(model_dirs[TaskType.NER]), "--es-model-id", "eland-basic", "--task-type", "ner",
        "--url", tls.url, "--ca-certs", str(tls.cert), "-u", USER, "-p", PASSWORD, "--max-model-input-length", "64",
        "--ingest-prefix", "passage: ", "--search-prefix", "query: ", "--quantize", "--clear-previous", "--start"))
    assert "int8 linear layers" in output
    config = tls.es.ml.get_trained_models(model_id="eland-basic")["trained_model_configs"][0]
    assert config["prefix_strings"] == {"ingest": "passage: ", "search": "query: "}
    assert config["inference_config"]["ner"]["tokenization"]["bert"]["max_sequence_length"] == 64
    assert config["inference_config"]["ner"]["classification_labels"] == [label.replace("-", "_")
                                                                           for label in NER_LABELS]
    result = assert_deployed_and_answering(tls.es, "eland-basic")
    entities = result["entities"]
    assert isinstance(entities, list) and "paris" in str(result["predicted_value"])
    assert {entity["class_name"] for entity in entities} <= {label.split("-")[-1] for label in NER_LABELS}


def test_elands_environment_variables_and_insecure(tls: TlsServer, model_dirs: dict[TaskType, Path]) -> None:
    """No --url, no id, no task, no CA: ES_URL and ES_USERNAME/ES_PASSWORD, a derived id, auto, --insecure."""
    source = model_dirs[TaskType.TEXT_EMBEDDING]  # a BertModel with sentence-transformers' modules.json
    output = assert_ok(inferd("import", "--hub-model-id", str(source), "--insecure", "--start",
                              env={"ES_URL": tls.url, "ES_USERNAME": USER, "ES_PASSWORD": PASSWORD}))
    model_id = derive_model_id(str(source))
    assert f"warning: --insecure: the certificate of {tls.url} is not verified" in output
    assert "Task type text_embedding" in output and f"Imported model {model_id} and started" in output
    result = assert_deployed_and_answering(tls.es, model_id)
    assert len(result["predicted_value"]) == 32  # type: ignore[arg-type]


def test_an_unverified_certificate_is_one_clear_error(tls: TlsServer, model_dirs: dict[TaskType, Path]) -> None:
    result = inferd("import", "--hub-model-id", str(model_dirs[TaskType.NER]), "--es-model-id", "never-imported",
                    "--url", tls.url, "--data-dir", str(tls.server.data_dir))
    assert result.returncode == 1
    output = " ".join(result.stdout.split())
    assert f"error: the TLS connection to {tls.url} failed (certificate verify failed: self-signed certificate)" in (
        output)
    assert "pass --ca-certs" in output and "or --insecure" in output
    assert "Traceback" not in result.stdout + result.stderr


def test_inferds_own_spellings_still_work(tls: TlsServer, model_dirs: dict[TaskType, Path]) -> None:
    """The positional PATH, --model-id, --max-sequence-length and the admin key read from --data-dir."""
    command = ["import", str(model_dirs[TaskType.TEXT_CLASSIFICATION]), "--task-type", "text_classification",
               "--model-id", "inferd-spelling", "--max-sequence-length", "128", "--url", tls.url,
               "--ca-certs", str(tls.cert), "--data-dir", str(tls.server.data_dir)]
    output = assert_ok(inferd(*command))
    assert ("Start it with `inferd deployments start inferd-spelling` or "
            "POST /_ml/trained_models/inferd-spelling/deployment/_start") in output
    config = tls.es.ml.get_trained_models(model_id="inferd-spelling", include="definition_status")[
        "trained_model_configs"][0]
    assert config["fully_defined"] is True
    assert config["inference_config"]["text_classification"]["classification_labels"] == ["negative", "positive"]
    assert "prefix_strings" not in config

    again = inferd(*command)
    assert again.returncode == 1 and "--clear-previous" in again.stdout


@pytest.mark.parametrize(("hub_env", "reason"), [
    ({"HF_HUB_OFFLINE": "1"}, "the Hugging Face hub is switched off (HF_HUB_OFFLINE)"),
    ({"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": "http://127.0.0.1:9"}, "the Hugging Face hub cannot be reached"),
])  # fmt: skip
def test_a_hub_id_that_cannot_be_downloaded_is_one_clear_error(
    tls: TlsServer, tmp_path: Path, hub_env: dict[str, str], reason: str
) -> None:
    """Nothing can be downloaded here: a hub id is looked for, and its absence said plainly."""
    result = inferd("import", "--hub-model-id", "sentence-transformers/all-MiniLM-L6-v2", "--url", tls.url,
                    "--ca-certs", str(tls.cert), "--data-dir", str(tls.server.data_dir),
                    env={**hub_env, "HF_HOME": str(tmp_path / "hf-home")})
    assert result.returncode == 1
    output = " ".join(result.stdout.split())
    assert "Model id sentence-transformers__all-minilm-l6-v2 (derived from" in output
    assert "error: [sentence-transformers/all-MiniLM-L6-v2] is not a local directory, and " + reason in output
    assert "Traceback" not in result.stdout + result.stderr
    assert tls.es.options(ignore_status=404).ml.get_trained_models(
        model_id="sentence-transformers__all-minilm-l6-v2").meta.status == 404
