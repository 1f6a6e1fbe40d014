"""`inferd builds create|list|show`: a model's numbered, immutable builds, over inferd's `/_inferd/models` routes.

`create` uploads as eland uploads a model, to the build's own routes (docs/rollouts.md): create the build,
then the definition in base64 parts of `--part-size` raw bytes (1 MiB, eland's), then the vocabulary.
The parts are cut by the importer's `iter_definition_parts`, the same code `inferd import` uploads with.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from inferd.cli.credentials import DEFAULT_URL, ApiKeyOption, CaCertsOption, DataDirOption, UrlOption
from inferd.cli.output import OutputFormat, OutputOption, cell, err, fields_table, print_answer, time_text
from inferd.cli.rest import call, client, failures_reported, inferd_path
from inferd.importer import DEFAULT_CHUNK_SIZE, ModelImportError, count_parts, iter_definition_parts
from inferd.units import human_bytes

app = typer.Typer(help="Create and inspect a model's builds (numbered definition, vocabulary and config).",
                  no_args_is_help=True)

ModelArgument = Annotated[str, typer.Argument(metavar="MODEL", help="The model's id.")]


def read_json_object(path: Path, option: str) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise typer.BadParameter(f"cannot read {path} as JSON: {error}", param_hint=option) from None
    if not isinstance(value, dict):
        raise typer.BadParameter(f"{path} holds no JSON object", param_hint=option)
    return value


def read_vocabulary(path: Path) -> dict[str, Any]:
    """The body of Elasticsearch's vocabulary API: `{"vocabulary": [...], "merges"?: [...], "scores"?: [...]}`."""
    vocabulary = read_json_object(path, "--vocabulary")
    if not isinstance(vocabulary.get("vocabulary"), list):
        raise typer.BadParameter(f'{path} has no "vocabulary" list', param_hint="--vocabulary")
    return vocabulary


def read_inference_config(path: Path) -> dict[str, Any]:
    """An `inference_config` object (`{"text_classification": {...}}`), alone or inside a whole model config such
    as the `config.json` a traced model is saved with."""
    config = read_json_object(path, "--inference-config")
    inner = config.get("inference_config", config)
    if not isinstance(inner, dict) or len(inner) != 1:
        raise typer.BadParameter(f"{path} holds no inference_config with one task type", param_hint="--inference-config")
    return inner


def create_body(comment: str | None, inference_config: dict[str, Any] | None) -> dict[str, Any] | None:
    body = {"comment": comment, "inference_config": inference_config}
    return {name: value for name, value in body.items() if value is not None} or None


@app.command("create")
def create(
    model_id: ModelArgument,
    definition: Annotated[Path, typer.Option(
        exists=True, dir_okay=False, readable=True, show_default=False, help="The TorchScript file (.pt).")],
    vocabulary: Annotated[Path, typer.Option(
        exists=True, dir_okay=False, readable=True, show_default=False,
        help='The vocabulary JSON: {"vocabulary": [...], "merges": [...], "scores": [...]}.')],
    inference_config: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, readable=True, show_default="the default build's",
        help="A JSON inference_config (or a whole model config) to replace the default build's.")] = None,
    comment: Annotated[str | None, typer.Option(help="Why this build exists.", show_default="none")] = None,
    part_size: Annotated[int, typer.Option(min=1, help="Raw bytes per definition part.")] = DEFAULT_CHUNK_SIZE,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Create the model's next build: its definition in parts, then its vocabulary; print the build."""
    vocabulary_body = read_vocabulary(vocabulary)
    body = create_body(comment, None if inference_config is None else read_inference_config(inference_config))
    try:
        total_parts = count_parts(definition.stat().st_size, part_size)
    except ModelImportError as error:
        raise typer.BadParameter(str(error), param_hint="--definition") from None
    es = client(url, api_key, data_dir, ca_certs)
    with failures_reported():
        number = call(es, "PUT", inferd_path("models", model_id, "builds"), body=body)["build_number"]
        try:
            _upload(es, model_id, number, definition, part_size, total_parts, vocabulary_body)
        except (ApiError, TransportError):
            err.print(f"build {number} of {escape(model_id)} stays unfinished (uploading): create another")
            raise
        build = call(es, "GET", inferd_path("models", model_id, "builds", number))
    print_answer(build, output, lambda answer: [build_fields(answer)])


def _upload(es: Elasticsearch, model_id: str, number: int, definition: Path, part_size: int, total_parts: int,
            vocabulary: dict[str, Any]) -> None:
    build_path = ("models", model_id, "builds", number)
    columns = (TextColumn(f"Uploading build {number}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        bar = progress.add_task("parts", total=total_parts)
        for part in iter_definition_parts(definition, part_size):
            call(es, "PUT", inferd_path(*build_path, "definition", part.part), body={
                "definition": part.definition, "total_definition_length": part.total_definition_length,
                "total_parts": part.total_parts})
            progress.advance(bar)
    err.print(f"Uploaded the definition of build {number} in {total_parts} part{'s' if total_parts != 1 else ''}")
    call(es, "PUT", inferd_path(*build_path, "vocabulary"), body=vocabulary)
    err.print(f"Uploaded the vocabulary ({len(vocabulary['vocabulary'])} tokens)")


@app.command("list")
def list_builds(
    model_id: ModelArgument,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """A model's builds, newest first, and which one is its default."""
    with failures_reported():
        answer = call(client(url, api_key, data_dir, ca_certs), "GET", inferd_path("models", model_id, "builds"))
    print_answer(answer, output, lambda answer: [builds_table(answer["builds"])])


@app.command("show")
def show(
    model_id: ModelArgument,
    number: Annotated[int, typer.Argument(metavar="BUILD", help="The build's number.")],
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """One build: state, definition, vocabulary, config and the deployments that run it."""
    with failures_reported():
        build = call(client(url, api_key, data_dir, ca_certs), "GET", inferd_path("models", model_id, "builds", number))
    print_answer(build, output, lambda answer: [build_fields(answer)])


def parts_text(build: dict[str, Any]) -> str:
    size = build.get("total_definition_length")
    parts = f"{build.get('stored_parts', 0)}/{build.get('total_parts') or '?'}"
    return parts if size is None else f"{parts} ({human_bytes(size)})"


def deployments_text(build: dict[str, Any]) -> str:
    return ", ".join(f"{d['deployment_id']} ({d['state']})" for d in build.get("deployments") or []) or "-"


def state_text(build: dict[str, Any]) -> str:
    state = str(build.get("state"))
    return f"{state}: {build['failure_reason']}" if build.get("failure_reason") else state


def builds_table(builds: list[dict[str, Any]]) -> Table:
    table = Table("build", "state", "default", "created", "parts", "vocabulary", "deployments", "comment")
    for build in builds:
        table.add_row(cell(build.get("build_number")), cell(state_text(build)), cell(build.get("default")),
                      time_text(build.get("create_time")), cell(parts_text(build)), cell(build.get("has_vocabulary")),
                      cell(deployments_text(build)), cell(build.get("comment")))
    return table


def build_fields(build: dict[str, Any]) -> Table:
    return fields_table([
        ("model", build.get("model_id")),
        ("build", build.get("build_number")),
        ("state", state_text(build)),
        ("default", build.get("default")),
        ("created", time_text(build.get("create_time"))),
        ("comment", build.get("comment")),
        ("task type", build.get("task_type")),
        ("definition", parts_text(build)),
        ("sha256", build.get("definition_sha256")),
        ("vocabulary", build.get("has_vocabulary")),
        ("deployments", deployments_text(build)),
        ("inference config", build.get("inference_config")),
    ])
