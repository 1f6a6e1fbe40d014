"""`inferd import` end to end against a fake server: trace a tiny model directory, upload it, report it."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

import pytest
import typer
from typer.testing import CliRunner

from inferd.cli.import_model import import_model
from tests.support.models import TestModel
from tests.unit.importer.conftest import FakeElasticsearch

app = typer.Typer()
app.command("import")(import_model)
app.command("other")(lambda: None)  # a second command, so `import` is a subcommand as in cli/main.py


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["import", *args], terminal_width=200)
    return result.exit_code, result.output


def test_import_traces_and_uploads_in_eland_order(
    fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # restored after the test; the command must set it to 1
    source = model_of("ner")
    assert source.hf_dir is not None
    code, output = invoke(str(source.hf_dir), "--task-type", "ner", "--model-id", "tiny-ner", "--url", fake_es.url)
    assert code == 0, output
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    calls = fake_es.calls()
    assert calls[:2] == ["GET /_ml/trained_models/tiny-ner", "PUT /_ml/trained_models/tiny-ner"]
    assert calls[2:-1] == ["PUT /_ml/trained_models/tiny-ner/definition/0"]
    assert calls[-1] == "PUT /_ml/trained_models/tiny-ner/vocabulary"
    config, definition, vocabulary = (request.body for request in fake_es.requests[1:])
    assert config["inference_config"] == source.config["inference_config"]
    assert config["description"] == "Model hf for task type 'ner'"
    assert len(base64.b64decode(definition["definition"])) == definition["total_definition_length"] > 100_000
    assert vocabulary == source.vocabulary
    assert "Traced hf as ner" in output and "9 labels" in output
    assert "Uploaded the definition in 1 part" in output and "Imported model tiny-ner" in output


def test_max_sequence_length_and_api_key_are_passed_on(
    fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel]
) -> None:
    source = model_of("text_embedding")
    assert source.hf_dir is not None
    code, output = invoke(
        str(source.hf_dir), "--task-type", "text_embedding", "--model-id", "tiny-embed", "--url", fake_es.url,
        "--max-sequence-length", "64", "--api-key", "a2V5",
    )  # fmt: skip
    assert code == 0, output
    config = fake_es.requests[1].body
    assert config["inference_config"]["text_embedding"]["tokenization"]["bert"]["max_sequence_length"] == 64
    assert config["inference_config"]["text_embedding"]["embedding_size"] == 32
    assert {request.authorization for request in fake_es.requests} == {"ApiKey a2V5"}


def test_an_existing_model_is_refused_before_tracing(
    fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel]
) -> None:
    fake_es.existing.add("taken")
    source = model_of("ner")
    assert source.hf_dir is not None
    code, output = invoke(str(source.hf_dir), "--task-type", "ner", "--model-id", "taken", "--url", fake_es.url)
    assert code == 1
    assert "Trained model [taken] already exists; pass --clear-previous" in output
    assert fake_es.calls() == ["GET /_ml/trained_models/taken"]


def test_clear_previous_deletes_the_old_model_after_tracing(
    fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel]
) -> None:
    fake_es.existing.add("again")
    source = model_of("ner")
    assert source.hf_dir is not None
    code, output = invoke(
        str(source.hf_dir), "--task-type", "ner", "--model-id", "again", "--url", fake_es.url, "--clear-previous"
    )
    assert code == 0, output
    assert fake_es.calls()[:4] == [
        "GET /_ml/trained_models/again",
        "POST /_ml/trained_models/again/deployment/_stop",
        "DELETE /_ml/trained_models/again",
        "PUT /_ml/trained_models/again",
    ]
    assert "Deleted the existing model again" in output


def test_missing_transformers_says_which_extra_to_install(
    fake_es: FakeElasticsearch, tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inferd.importer.hf.transformers_available", lambda: False)
    code, output = invoke(str(tmp_path), "--task-type", "ner", "--model-id", "x", "--url", fake_es.url)
    assert code == 1
    assert "inferd[import]" in output
    assert fake_es.requests == []


@pytest.mark.parametrize("bad_id", ["UPPER", "-leading", "trailing_", "sp ace", "x" * 65])
def test_invalid_model_ids_are_usage_errors(bad_id: str, tmp_path: os.PathLike[str]) -> None:
    code, output = invoke(str(tmp_path), "--task-type", "ner", "--model-id", bad_id)
    assert code == 2
    assert "--model-id" in output


def test_unknown_task_types_and_missing_options_are_usage_errors(tmp_path: os.PathLike[str]) -> None:
    assert invoke(str(tmp_path), "--task-type", "summarization", "--model-id", "x")[0] == 2
    assert invoke(str(tmp_path), "--model-id", "x")[0] == 2
    assert invoke(str(tmp_path), "--task-type", "ner")[0] == 2


def test_an_unreachable_server_is_reported(model_of: Callable[[str], TestModel]) -> None:
    source = model_of("ner")
    assert source.hf_dir is not None
    code, output = invoke(str(source.hf_dir), "--task-type", "ner", "--model-id", "x", "--url", "http://127.0.0.1:9")
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in output
