"""`inferd import` end to end against a fake server: trace a tiny model directory, upload it, report it; and eland's
flags, environment variables and defaults, parsed as eland parses them."""

from __future__ import annotations

import base64
import io
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from inferd.cli.import_model import import_model, parse_task_option
from inferd.importer import ModelNotFound, TaskType, derive_model_id, locate_model
from tests.support.models import TestModel
from tests.unit.importer.conftest import FakeElasticsearch

app = typer.Typer()
app.command("import")(import_model)
app.command("other")(lambda: None)  # a second command, so `import` is a subcommand as in cli/main.py


# Variables a developer's shell may hold, which would change what the command reads.
CLEAN_ENV: dict[str, str | None] = dict.fromkeys(
    ["INFERD_URL", "ES_URL", "INFERD_API_KEY", "ES_API_KEY", "ES_USERNAME", "ES_PASSWORD", "HUB_ACCESS_TOKEN"]
)


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["import", *args], terminal_width=200, env={**CLEAN_ENV, **(env or {})})
    return result.exit_code, result.output


def refused_as_existing(fake_es: FakeElasticsearch, model_dir: Path, *args: str,
                        env: dict[str, str] | None = None) -> str | None:
    """Run an import the server refuses at once (the id exists), and return the credentials its one request sent."""
    fake_es.existing.add("taken")
    code, output = invoke("--hub-model-id", str(model_dir), "--es-model-id", "taken", *args, env=env)
    assert code == 1 and "already exists" in output, output
    assert fake_es.calls() == ["GET /_ml/trained_models/taken"]
    return fake_es.requests[0].authorization


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


def test_an_unreachable_server_is_reported(model_of: Callable[[str], TestModel]) -> None:
    source = model_of("ner")
    assert source.hf_dir is not None
    code, output = invoke(str(source.hf_dir), "--task-type", "ner", "--model-id", "x", "--url", "http://127.0.0.1:9")
    assert code == 1
    assert "cannot reach http://127.0.0.1:9" in output


def test_elands_flags_detect_the_task_derive_the_id_and_start_the_deployment(
    fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel]
) -> None:
    source = model_of("text_classification")
    assert source.hf_dir is not None
    code, output = invoke(
        "--hub-model-id", str(source.hf_dir), "--task-type", "auto", "--url", fake_es.url, "--es-api-key", "a2V5",
        "--max-model-input-length", "64", "--ingest-prefix", "passage: ", "--search-prefix", "query: ", "--start",
    )  # fmt: skip
    assert code == 0, output
    model_id = derive_model_id(str(source.hf_dir))
    assert model_id.endswith("__text_classification__hf")
    assert fake_es.calls()[0] == f"GET /_ml/trained_models/{model_id}"
    assert fake_es.calls()[-2:] == [f"PUT /_ml/trained_models/{model_id}/vocabulary",
                                    f"POST /_ml/trained_models/{model_id}/deployment/_start"]
    assert sorted(fake_es.requests[-1].query.split("&")) == ["timeout=60s", "wait_for=started"]
    config = fake_es.requests[1].body
    assert config["prefix_strings"] == {"ingest": "passage: ", "search": "query: "}
    options = config["inference_config"]["text_classification"]
    assert options["tokenization"]["bert"]["max_sequence_length"] == 64
    assert {request.authorization for request in fake_es.requests} == {"ApiKey a2V5"}
    flat = " ".join(output.split())  # rich wraps lines at the terminal's width
    assert "Task type text_classification (read off the model's config" in flat
    assert f"Model id {model_id} (derived from {source.hf_dir}; set it with --es-model-id)" in flat
    assert f"Imported model {model_id} and started its deployment" in flat


def test_quantize_uploads_int8_linear_layers_that_run(
    fake_es: FakeElasticsearch, model_of: Callable[[str], TestModel], tokenizer: object
) -> None:
    source = model_of("ner")
    assert source.hf_dir is not None
    code, output = invoke(str(source.hf_dir), "--model-id", "quantized", "--url", fake_es.url, "--quantize")
    assert code == 0, output
    assert "int8 linear layers" in output
    config, definition = fake_es.requests[1].body, fake_es.requests[2].body
    assert "prefix_strings" not in config  # only sent when a prefix is given
    module = torch.jit.load(io.BytesIO(base64.b64decode(definition["definition"])))
    assert "quantized::linear_dynamic" in str(module.inlined_graph)
    assert definition["total_definition_length"] < source.size_bytes
    ids = torch.tensor([[2, 40, 41, 3]])
    with torch.no_grad():
        scores = module(ids, torch.ones_like(ids), torch.zeros_like(ids), torch.arange(4).unsqueeze(0))
    assert scores.shape == (1, 4, 9) and torch.isfinite(scores).all()


def test_credentials_as_eland_takes_them(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    basic = "Basic " + base64.b64encode(b"importer:s3cret").decode()
    url = ("--url", fake_es.url)
    assert refused_as_existing(fake_es, tmp_path, *url, "-u", "importer", "-p", "s3cret") == basic
    fake_es.requests.clear()
    assert refused_as_existing(fake_es, tmp_path, *url, "--es-username", "importer", "--es-password", "s3cret") == basic
    fake_es.requests.clear()
    assert refused_as_existing(
        fake_es, tmp_path, env={"ES_URL": fake_es.url, "ES_USERNAME": "importer", "ES_PASSWORD": "s3cret"}) == basic
    fake_es.requests.clear()
    assert refused_as_existing(fake_es, tmp_path, *url, "-u", "importer", "-p", "s3cret", "--es-api-key", "a2V5") == (
        "ApiKey a2V5")  # an API key wins, as in eland
    fake_es.requests.clear()
    assert refused_as_existing(fake_es, tmp_path, env={"ES_URL": fake_es.url, "ES_API_KEY": "a2V5"}) == "ApiKey a2V5"
    fake_es.requests.clear()
    assert refused_as_existing(fake_es, tmp_path, *url, "--api-key", "a2V5") == "ApiKey a2V5"  # inferd's spelling


def test_inferd_url_wins_over_es_url(fake_es: FakeElasticsearch, tmp_path: Path) -> None:
    assert refused_as_existing(fake_es, tmp_path, env={"INFERD_URL": fake_es.url, "ES_URL": "http://127.0.0.1:9"}) is (
        None)


def test_a_user_without_a_password_is_a_usage_error(tmp_path: Path) -> None:
    code, output = invoke("--hub-model-id", str(tmp_path), "--es-model-id", "x", "-u", "importer")
    assert code == 2
    assert "no password for user [importer]" in output and "ES_PASSWORD" in output


def test_cloud_id_is_refused(tmp_path: Path) -> None:
    code, output = invoke("--hub-model-id", str(tmp_path), "--cloud-id", "my-deployment:ZXhhbXBsZQ==")
    assert code == 2
    assert "inferd is not Elastic Cloud" in output


def test_the_model_is_named_exactly_once(tmp_path: Path) -> None:
    code, output = invoke(str(tmp_path), "--hub-model-id", str(tmp_path), "--es-model-id", "x")
    assert code == 2 and "not both" in output
    code, output = invoke("--es-model-id", "x")
    assert code == 2 and "--hub-model-id" in output
    code, output = invoke("--hub-model-id", "/./")  # a directory whose name leaves no model id
    assert code == 2 and "no model id can be derived from [/./]" in output


def test_task_types_in_both_spellings_and_auto() -> None:
    assert parse_task_option("auto") is None and parse_task_option("AUTO") is None
    assert parse_task_option("text-classification") is TaskType.TEXT_CLASSIFICATION
    assert parse_task_option("Zero_Shot_Classification") is TaskType.ZERO_SHOT_CLASSIFICATION
    with pytest.raises(typer.BadParameter, match="expected auto, fill_mask"):
        parse_task_option("summarization")


def test_unknown_task_types_are_usage_errors(tmp_path: Path) -> None:
    code, output = invoke(str(tmp_path), "--task-type", "summarization", "--model-id", "x")
    assert code == 2 and "expected auto, fill_mask, ner" in output


def test_help_shows_elands_flags_with_their_defaults_and_variables() -> None:
    code, output = invoke("--help")
    assert code == 0
    flat = " ".join(output.replace("│", " ").split())
    for shown in ["--hub-model-id", "--es-model-id,--model-id", "--es-api-key,--api-key", "-u", "--es-username",
                  "-p", "--es-password", "--ca-certs", "--insecure", "--start", "--quantize", "--ingest-prefix",
                  "--search-prefix", "--hub-access-token", "--cloud-id",
                  "[default: http://localhost:9200]", "[env var: INFERD_URL, ES_URL]",
                  "[env var: INFERD_API_KEY, ES_API_KEY]", "[env var: ES_USERNAME]", "[env var: ES_PASSWORD]",
                  "[env var: HUB_ACCESS_TOKEN]", "[default: (auto)]", "[default: (the tokenizer's)]",
                  "[default: (derived from the hub id or path, as eland does)]"]:
        assert shown in flat, shown


def test_a_directory_is_used_as_it_is_and_a_file_is_refused(tmp_path: Path) -> None:
    source = locate_model(str(tmp_path))
    assert source.directory == tmp_path and not source.from_hub and source.label == tmp_path.name
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelNotFound, match="is a file"):
        locate_model(str(tmp_path / "config.json"))
