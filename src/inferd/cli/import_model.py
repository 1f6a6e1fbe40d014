"""`inferd import`: trace a local Hugging Face model and upload it, as eland's `eland_import_hub_model` does.

Registered on the app by `cli/main.py` as `app.command("import")(import_model)`. Nothing is
downloaded: the model comes from a local directory and the Hugging Face hub is switched offline.
An existing model id is refused before tracing (unless `--clear-previous`), and with
`--clear-previous` the old model is deleted only once the new one has traced.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from elastic_transport import TransportError
from elasticsearch import ApiError, Elasticsearch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from inferd.cli.credentials import DEFAULT_URL, ApiKeyOption, DataDirOption, UrlOption, resolve_api_key
from inferd.importer import (
    DefinitionPart,
    ModelExists,
    ModelImportError,
    TaskType,
    TransformersMissing,
    clear_model,
    connect,
    count_parts,
    model_exists,
    put_config,
    put_definition,
    put_vocabulary,
)

if TYPE_CHECKING:
    from inferd.importer import TracedModel

# Elasticsearch's rule for trained model ids (MlStrings.isValidId), with its 64-character limit.
_MODEL_ID = re.compile(r"[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?")
_MAX_MODEL_ID_LENGTH = 64


def _check_model_id(model_id: str) -> str:
    if len(model_id) > _MAX_MODEL_ID_LENGTH or not _MODEL_ID.fullmatch(model_id):
        raise typer.BadParameter(
            "use lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit, "
            f"at most {_MAX_MODEL_ID_LENGTH} characters"
        )
    return model_id


def import_model(
    path: Annotated[
        Path,
        typer.Argument(
            help="A local Hugging Face model directory (config.json, weights, tokenizer files).",
            exists=True,
            file_okay=False,
            dir_okay=True,
            resolve_path=True,
        ),
    ],
    task_type: Annotated[
        TaskType, typer.Option("--task-type", help="The NLP task the model performs.", case_sensitive=False)
    ],
    model_id: Annotated[
        str, typer.Option("--model-id", help="The id to create, e.g. 'my-minilm'.", callback=_check_model_id)
    ],
    url: UrlOption = DEFAULT_URL,
    clear_previous: Annotated[
        bool, typer.Option("--clear-previous", help="Stop and delete an existing model with this id first.")
    ] = False,
    max_sequence_length: Annotated[
        int | None, typer.Option("--max-sequence-length", min=1, help="Override the tokenizer's maximum input length.")
    ] = None,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
) -> None:
    """Trace a Hugging Face model to TorchScript and upload it: config, definition parts, vocabulary."""
    from inferd.importer import transformers_available  # loads torch: only when a model is imported

    console = Console(highlight=False)
    if not transformers_available():
        _fail(console, TransformersMissing())
    os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is first imported: never reach the hub
    try:
        client = connect(url, api_key=resolve_api_key(url, api_key, data_dir))
        replacing = model_exists(client, model_id)
        if replacing and not clear_previous:
            raise ModelExists(model_id)
        with tempfile.TemporaryDirectory(prefix="inferd-import-") as scratch:
            traced = _trace(console, path, task_type, Path(scratch), max_sequence_length)
            if replacing:
                clear_model(client, model_id)
                console.print(f"Deleted the existing model [bold]{escape(model_id)}[/]")
            _upload(console, client, model_id, traced)
    except ModelImportError as error:
        _fail(console, error)
    except ApiError as error:
        _fail(console, f"the server answered {error.meta.status}: {_reason(error)}")
    except TransportError as error:
        _fail(console, f"cannot reach {url}: {error}")
    console.print(
        f"[green]Imported[/] model [bold]{escape(model_id)}[/]. Start it with "
        f"POST /_ml/trained_models/{escape(model_id)}/deployment/_start"
    )


def _trace(console: Console, path: Path, task: TaskType, scratch: Path, max_sequence_length: int | None) -> TracedModel:
    from inferd.importer import trace_model

    started = time.monotonic()
    with console.status(f"Tracing {escape(str(path))} for {task.value}..."):
        traced = trace_model(
            path,
            task,
            scratch,
            max_sequence_length=max_sequence_length,
            description=f"Model {path.name} for task type '{task.value}'",
        )
    options = traced.config["inference_config"][task.value]
    [(kind, tokenization)] = options["tokenization"].items()
    details = [f"{kind} tokenizer", f"{tokenization['max_sequence_length']} tokens max"]
    if "embedding_size" in options:
        details.append(f"embedding size {options['embedding_size']}")
    if "classification_labels" in options:
        details.append(f"{len(options['classification_labels'])} labels")
    console.print(
        f"Traced [bold]{escape(path.name)}[/] as {task.value} in {time.monotonic() - started:.1f}s: "
        f"{traced.size_bytes / 2**20:.1f} MiB, {', '.join(details)}"
    )
    return traced


def _upload(console: Console, client: Elasticsearch, model_id: str, traced: TracedModel) -> None:
    """eland's order: config, then the definition part by part, then the vocabulary."""
    put_config(client, model_id, traced.config)
    console.print(f"Created model [bold]{escape(model_id)}[/]")
    columns = (TextColumn("Uploading definition"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("parts", total=count_parts(traced.size_bytes))

        def advance(_: DefinitionPart) -> None:
            progress.advance(bar)

        parts = put_definition(client, model_id, traced.definition_path, on_part=advance)
    console.print(f"Uploaded the definition in {parts} part{'s' if parts != 1 else ''}")
    put_vocabulary(client, model_id, traced.vocabulary)
    console.print(f"Uploaded the vocabulary ({len(traced.vocabulary['vocabulary'])} tokens)")


def _reason(error: ApiError) -> str:
    body: Any = error.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("reason") or body["error"].get("type"))
    return str(error.message)


def _fail(console: Console, error: Exception | str) -> NoReturn:
    console.print(f"[red]error:[/] {escape(str(error))}")
    raise typer.Exit(1)
