"""`inferd import`: trace a Hugging Face model and upload it, as eland's `eland_import_hub_model` does.

Registered on the app by `cli/main.py` as `app.command("import")(import_model)`. It takes eland's flags with
eland's meanings and environment variables (`--hub-model-id`, `--es-model-id`, `--task-type auto`, `--url`/
`ES_URL`, `--es-api-key`/`ES_API_KEY`, `-u`/`-p`, `--ca-certs`, `--insecure`, `--start`, `--quantize`, ...),
so a command from eland's docs runs unchanged; inferd's older spellings (a positional PATH, `--model-id`,
`--api-key`, `--max-sequence-length`) keep working. A local directory is traced with the hub switched
offline; any other `--hub-model-id` is downloaded first. An existing model id is refused before tracing
(unless `--clear-previous`), and with `--clear-previous` the old model is deleted only once the new one has
traced.
"""

from __future__ import annotations

import os
import ssl
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from elastic_transport import TlsError, TransportError
from elasticsearch import ApiError, Elasticsearch
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from inferd.cli.credentials import DEFAULT_URL, CaCertsOption, DataDirOption, connect
from inferd.importer import (
    DefinitionPart,
    ModelExists,
    ModelImportError,
    PrefixStrings,
    TaskType,
    TransformersMissing,
    UnsupportedModel,
    clear_model,
    count_parts,
    derive_model_id,
    is_valid_model_id,
    model_exists,
    parse_task_type,
    put_config,
    put_definition,
    put_vocabulary,
)
from inferd.importer.model_ids import MODEL_ID_RULE

if TYPE_CHECKING:
    from inferd.importer import ModelSource, TracedModel

AUTO = "auto"
START_TIMEOUT_S = 60  # eland's wait for `--start`
_MODEL = "Model"
_TASK_CHOICES = ", ".join([AUTO, *sorted(TaskType)])


def _check_model_id(model_id: str | None) -> str | None:
    if model_id is not None and not is_valid_model_id(model_id):
        raise typer.BadParameter(f"use {MODEL_ID_RULE}")
    return model_id


def parse_task_option(value: str) -> TaskType | None:
    """`auto` (None: read it off the model) or a task, in eland's `text_embedding` or `text-embedding` spelling."""
    if value.strip().lower() == AUTO:
        return None
    try:
        return parse_task_type(value)
    except UnsupportedModel as error:
        raise typer.BadParameter(f"expected {_TASK_CHOICES}, not [{value}]") from error


def import_model(
    path: Annotated[Path | None, typer.Argument(
        help="A local Hugging Face model directory (the same as --hub-model-id DIR).", show_default=False,
        exists=True, file_okay=False, dir_okay=True)] = None,
    hub_model_id: Annotated[str | None, typer.Option(
        "--hub-model-id", rich_help_panel=_MODEL, show_default="the PATH argument; one of the two is needed",
        help="The model: a local directory (config.json, weights, tokenizer files), or a Hugging Face hub id such "
             "as sentence-transformers/all-MiniLM-L6-v2, downloaded when the hub can be reached.")] = None,
    es_model_id: Annotated[str | None, typer.Option(
        "--es-model-id", "--model-id", callback=_check_model_id, rich_help_panel=_MODEL,
        show_default="derived from the hub id or path, as eland does",
        help="The trained model id to create, e.g. 'my-minilm'.")] = None,
    task_type: Annotated[TaskType | None, typer.Option(
        "--task-type", parser=parse_task_option, metavar="TASK", show_default=AUTO, rich_help_panel=_MODEL,
        help=f"The NLP task: {_TASK_CHOICES}. auto reads it off the model's architectures as eland does.")] = None,
    max_model_input_length: Annotated[int | None, typer.Option(
        "--max-model-input-length", "--max-sequence-length", min=1, rich_help_panel=_MODEL,
        show_default="the tokenizer's", help="The longest input, in tokens, the model is given.")] = None,
    quantize: Annotated[bool, typer.Option(
        "--quantize", rich_help_panel=_MODEL,
        help="Quantize the linear layers to int8 before tracing (dynamic quantization, as eland's --quantize): a "
             "smaller definition and faster inference on CPU, at some cost in accuracy.")
    ] = False,
    ingest_prefix: Annotated[str | None, typer.Option(
        "--ingest-prefix", rich_help_panel=_MODEL, show_default="none",
        help="Text put before every input at ingest (the config's prefix_strings.ingest).")] = None,
    search_prefix: Annotated[str | None, typer.Option(
        "--search-prefix", rich_help_panel=_MODEL, show_default="none",
        help="Text put before every input at search (the config's prefix_strings.search).")] = None,
    hub_access_token: Annotated[str | None, typer.Option(
        "--hub-access-token", envvar="HUB_ACCESS_TOKEN", rich_help_panel=_MODEL, show_default=False,
        help="A Hugging Face access token, for private and gated hub models.")] = None,
    clear_previous: Annotated[bool, typer.Option(
        "--clear-previous", help="Stop and delete an existing model with this id (once the new one has traced).")
    ] = False,
    start: Annotated[bool, typer.Option(
        "--start", help=f"Start a deployment once uploaded, waiting up to {START_TIMEOUT_S}s for it to start.")
    ] = False,
    url: Annotated[str, typer.Option(
        "--url", envvar=["INFERD_URL", "ES_URL"],
        help="The inferd (or Elasticsearch) server.")] = DEFAULT_URL,
    cloud_id: Annotated[str | None, typer.Option(
        "--cloud-id", show_default="none",
        help="eland's Elastic Cloud id: not supported (inferd is not Elastic Cloud); pass --url.")] = None,
    api_key: Annotated[str | None, typer.Option(
        "--es-api-key", "--api-key", envvar=["INFERD_API_KEY", "ES_API_KEY"],
        show_default="for a local server, the one in DATA_DIR/admin-api-key",
        help="An encoded API key; wins over -u/-p.")] = None,
    es_username: Annotated[str | None, typer.Option(
        "-u", "--es-username", envvar="ES_USERNAME", show_default="none: an API key or the local admin key",
        help="A user name for basic authentication (`inferd users create`).")] = None,
    es_password: Annotated[str | None, typer.Option(
        "-p", "--es-password", envvar="ES_PASSWORD", show_default=False,
        help="The password of the -u/--es-username user.")] = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
    insecure: Annotated[bool, typer.Option(
        "--insecure",
        help="Do not verify the server's TLS certificate (anyone on the way can read and change the traffic).")
    ] = False,
) -> None:
    """Trace a Hugging Face model to TorchScript and upload it: config, definition parts, vocabulary."""
    from inferd.importer import transformers_available  # loads torch: only when a model is imported

    console = Console(highlight=False)
    if cloud_id is not None:
        raise typer.BadParameter("inferd is not Elastic Cloud; pass its address with --url", param_hint="--cloud-id")
    model_name = _model_name(path, hub_model_id)
    basic_auth = _basic_auth(es_username, es_password)
    model_id = es_model_id or _derived_model_id(console, model_name)
    if not transformers_available():
        _fail(console, TransformersMissing())
    if insecure:
        console.print(f"[yellow]warning:[/] --insecure: the certificate of {escape(url)} is not verified")
    try:
        client = connect(url, api_key, data_dir, ca_certs, basic_auth=basic_auth, verify_certs=not insecure)
        replacing = model_exists(client, model_id)
        if replacing and not clear_previous:
            raise ModelExists(model_id)
        source = _locate(console, model_name, hub_access_token)
        task = task_type or _detect_task(console, source)
        prefixes = PrefixStrings(ingest=ingest_prefix, search=search_prefix)
        with tempfile.TemporaryDirectory(prefix="inferd-import-") as scratch:
            traced = _trace(console, source, task, Path(scratch), max_model_input_length, quantize, prefixes)
            if replacing:
                clear_model(client, model_id)
                console.print(f"Deleted the existing model [bold]{escape(model_id)}[/]")
            _upload(console, client, model_id, traced)
        if start:
            _start(console, client, model_id)
    except ModelImportError as error:
        _fail(console, error)
    except ApiError as error:
        _fail(console, f"the server answered {error.meta.status}: {_reason(error)}")
    except TlsError as error:
        _fail(console, f"the TLS connection to {url} failed ({_tls_reason(error)}); pass --ca-certs with the "
                       "certificate that signed the server's, or --insecure not to verify it")
    except TransportError as error:
        _fail(console, f"cannot reach {url}: {error}")
    if start:
        console.print(f"[green]Imported[/] model [bold]{escape(model_id)}[/] and started its deployment")
    else:
        console.print(
            f"[green]Imported[/] model [bold]{escape(model_id)}[/]. Start it with `inferd deployments start "
            f"{escape(model_id)}` or POST /_ml/trained_models/{escape(model_id)}/deployment/_start "
            "(or import with --start)"
        )


def _model_name(path: Path | None, hub_model_id: str | None) -> str:
    """The model as the user named it: the positional directory or --hub-model-id, exactly one of them."""
    if path is not None and hub_model_id is not None:
        raise typer.BadParameter("give the model once: a PATH or --hub-model-id, not both", param_hint="--hub-model-id")
    if path is None and hub_model_id is None:
        raise typer.BadParameter("which model? Pass --hub-model-id (a directory or hub id) or a PATH",
                                 param_hint="--hub-model-id")
    return str(path) if path is not None else str(hub_model_id)


def _basic_auth(username: str | None, password: str | None) -> tuple[str, str] | None:
    if username is None:
        return None
    if password is None:
        raise typer.BadParameter(f"no password for user [{username}]: pass -p/--es-password or set ES_PASSWORD",
                                 param_hint="-p/--es-password")
    return username, password


def _derived_model_id(console: Console, model_name: str) -> str:
    model_id = derive_model_id(model_name)
    if not model_id:
        raise typer.BadParameter(f"no model id can be derived from [{model_name}]; pass one",
                                 param_hint="--es-model-id")
    console.print(
        f"Model id [bold]{escape(model_id)}[/] (derived from {escape(model_name)}; set it with --es-model-id)"
    )
    return model_id


def _locate(console: Console, model_name: str, access_token: str | None) -> ModelSource:
    from inferd.importer import locate_model

    with console.status(f"Looking for {escape(model_name)}..."):
        source = locate_model(model_name, access_token=access_token)
    if not source.from_hub:
        os.environ["HF_HUB_OFFLINE"] = "1"  # before transformers is first imported: a local model never reaches the hub
    return source


def _detect_task(console: Console, source: ModelSource) -> TaskType:
    from inferd.importer import detect_task

    task = detect_task(source.directory, source.name)
    console.print(f"Task type [bold]{task.value}[/] (read off the model's config; set it with --task-type)")
    return task


def _trace(
    console: Console,
    source: ModelSource,
    task: TaskType,
    scratch: Path,
    max_sequence_length: int | None,
    quantize: bool,
    prefixes: PrefixStrings,
) -> TracedModel:
    from inferd.importer import trace_model

    started = time.monotonic()
    label = escape(source.label)
    with console.status(f"Tracing {label} for {task.value}{' (quantized)' if quantize else ''}..."):
        traced = trace_model(
            source.directory,
            task,
            scratch,
            max_sequence_length=max_sequence_length,
            description=f"Model {source.label} for task type '{task.value}'",
            quantize=quantize,
            prefix_strings=prefixes,
        )
    options = traced.config["inference_config"][task.value]
    [(kind, tokenization)] = options["tokenization"].items()
    details = [f"{kind} tokenizer", f"{tokenization['max_sequence_length']} tokens max"]
    if "embedding_size" in options:
        details.append(f"embedding size {options['embedding_size']}")
    if "classification_labels" in options:
        details.append(f"{len(options['classification_labels'])} labels")
    if quantize:
        details.append("int8 linear layers")
    console.print(
        f"Traced [bold]{label}[/] as {task.value} in {time.monotonic() - started:.1f}s: "
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


def _start(console: Console, client: Elasticsearch, model_id: str) -> None:
    """eland's `--start`: a deployment with the server's defaults, waited for until started."""
    with console.status(f"Starting a deployment of {escape(model_id)}..."):
        try:
            client.options(request_timeout=START_TIMEOUT_S + 30).ml.start_trained_model_deployment(
                model_id=model_id, wait_for="started", timeout=f"{START_TIMEOUT_S}s"
            )
        except ApiError as error:
            _fail(console, f"model {model_id} is imported, but its deployment did not start: the server answered "
                           f"{error.meta.status}: {_reason(error)}")


def _reason(error: ApiError) -> str:
    body: Any = error.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("reason") or body["error"].get("type"))
    return str(error.message)


def _tls_reason(error: BaseException) -> str:
    """The SSL error under the client's wrapping, in its own words: 'certificate verify failed: self-signed
    certificate'."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {cause.verify_message}"
        if isinstance(cause, ssl.SSLError):
            return str(cause)
        cause = cause.__cause__ or cause.__context__
    return str(error)


def _fail(console: Console, error: Exception | str) -> NoReturn:
    console.print(f"[red]error:[/] {escape(str(error))}")
    raise typer.Exit(1)
