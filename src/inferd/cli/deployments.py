"""`inferd deployments ...`: start, resize, roll out, roll back, restart, stop and inspect deployments over REST.

`start` and `update` are Elasticsearch's `_start` and `_update` (elasticsearch-py's typed methods); the
rest are inferd's `/_inferd/deployments` routes (docs/rollouts.md). A stopped deployment keeps its
history and is started again, with its last build and settings, by `start ID --again` (inferd's
`_start`): the same verb a person reaches for, with the flag saying it is not a new deployment.

The rollout verbs (`redeploy`, `rollback`, `restart`) ask the server not to wait (`wait_for=none`) and,
with `--wait` (the default), follow the rollout live on stderr: exit 0 once it is done (the new workers
serve, the old ones drained), 1 when it failed (with the reason), 3 when `--timeout` passed first. Both
forms of `start` wait in the server, as Elasticsearch's `_start` does (`--wait-for`, `--timeout`; a
timeout exits 3 too); `stop` answers once the workers have drained.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, Any

import typer
from elasticsearch import Elasticsearch
from rich.markup import escape
from rich.table import Table

from inferd.cli.credentials import DEFAULT_URL, ApiKeyOption, CaCertsOption, DataDirOption, UrlOption
from inferd.cli.deployment_views import assignment_line, deployments_table, history_table, rollout_text, view_tables
from inferd.cli.output import OutputFormat, OutputOption, err, print_answer
from inferd.cli.progress import Outcome, follow, outcome_line
from inferd.cli.rest import call, client, failures_reported, inferd_path
from inferd.units import parse_time_value

app = typer.Typer(help="Start, change, roll out, roll back, restart, stop and inspect deployments.",
                  no_args_is_help=True)

DEFAULT_TIMEOUT = "5m"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    LOW = "low"


class WaitFor(enum.StrEnum):
    STARTING = "starting"
    STARTED = "started"
    FULLY_ALLOCATED = "fully_allocated"


def _check_timeout(text: str) -> str:
    try:
        parse_time_value(text, "timeout")
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    return text


def timeout_seconds(text: str) -> float | None:
    """`--timeout` in seconds; None for a negative one (`-1`: wait as long as it takes)."""
    seconds = parse_time_value(text, "timeout")
    return None if seconds < 0 else seconds


WaitOption = Annotated[bool, typer.Option(
    "--wait/--no-wait", help="Wait until the change is done, showing it on stderr: exit 1 if it fails, 3 if --timeout "
    "passes first.")]
TimeoutOption = Annotated[str, typer.Option(
    callback=_check_timeout, help="How long --wait waits, e.g. 90s or 10m (-1: no limit).")]
AllowDowntimeOption = Annotated[bool, typer.Option(
    "--allow-downtime", help="When old and new workers do not fit side by side, drain the old ones first.")]
DeploymentArgument = Annotated[str, typer.Argument(metavar="ID", help="The deployment's id.")]


def _option_pair(start_default: str, *declarations: str, help: str | None = None) -> tuple[Any, Any]:
    """An option as `start` shows it (absent: Elasticsearch's default) and as `update`/`redeploy` do (absent: the
    deployment keeps its value)."""
    return (typer.Option(*declarations, help=help, show_default=start_default),
            typer.Option(*declarations, help=help, show_default="unchanged"))


_ALLOCATIONS = _option_pair("1", "--allocations", help="number_of_allocations.")
_THREADS = _option_pair("1", "--threads", help="threads_per_allocation.")
_QUEUE_CAPACITY = _option_pair("1024", help="Documents waiting per node.")
_CACHE_SIZE = _option_pair("the model's size", help="Inference cache, e.g. 10mb (0: none).")
_PRIORITY = _option_pair("normal")
_ADAPTIVE = _option_pair("off", "--adaptive/--no-adaptive", help="Adaptive allocations on (between --min and --max) "
                         "or off.")
_MIN = _option_pair("0", "--min", help="Adaptive allocations' minimum.")
_MAX = _option_pair("32", "--max", help="Adaptive allocations' maximum.")
StartAllocationsOption = Annotated[int | None, _ALLOCATIONS[0]]
AllocationsOption = Annotated[int | None, _ALLOCATIONS[1]]
StartThreadsOption = Annotated[int | None, _THREADS[0]]
ThreadsOption = Annotated[int | None, _THREADS[1]]
StartQueueCapacityOption = Annotated[int | None, _QUEUE_CAPACITY[0]]
QueueCapacityOption = Annotated[int | None, _QUEUE_CAPACITY[1]]
StartCacheSizeOption = Annotated[str | None, _CACHE_SIZE[0]]
CacheSizeOption = Annotated[str | None, _CACHE_SIZE[1]]
StartPriorityOption = Annotated[Priority | None, _PRIORITY[0]]
PriorityOption = Annotated[Priority | None, _PRIORITY[1]]
StartAdaptiveOption = Annotated[bool | None, _ADAPTIVE[0]]
AdaptiveOption = Annotated[bool | None, _ADAPTIVE[1]]
StartMinOption = Annotated[int | None, _MIN[0]]
MinOption = Annotated[int | None, _MIN[1]]
StartMaxOption = Annotated[int | None, _MAX[0]]
MaxOption = Annotated[int | None, _MAX[1]]


def adaptive_allocations(adaptive: bool | None, minimum: int | None, maximum: int | None) -> dict[str, Any] | None:
    """`--adaptive --min --max` as Elasticsearch's `adaptive_allocations` object (None: leave it as it is)."""
    if not adaptive and (minimum is not None or maximum is not None):
        raise typer.BadParameter("--min and --max go with --adaptive")
    if adaptive is None:
        return None
    settings: dict[str, Any] = {"enabled": adaptive}
    if minimum is not None:
        settings["min_number_of_allocations"] = minimum
    if maximum is not None:
        settings["max_number_of_allocations"] = maximum
    return settings


def settings_fields(*, allocations: int | None = None, threads: int | None = None, queue_capacity: int | None = None,
                    cache_size: str | None = None, priority: Priority | None = None,
                    adaptive: dict[str, Any] | None = None) -> dict[str, Any]:
    """The given resource options under the names `_start` and `_redeploy` take; unset ones left out."""
    fields = {"number_of_allocations": allocations, "threads_per_allocation": threads,
              "queue_capacity": queue_capacity, "cache_size": cache_size,
              "priority": None if priority is None else priority.value, "adaptive_allocations": adaptive}
    return {name: value for name, value in fields.items() if value is not None}


def start_wait_for(wait: bool, wait_for: WaitFor | None) -> WaitFor:
    """What `_start` (either one) waits for: --wait-for, else `started`; --no-wait answers once it is created."""
    if not wait:
        if wait_for is not None:
            raise typer.BadParameter("--wait-for waits: it cannot go with --no-wait")
        return WaitFor.STARTING
    return wait_for or WaitFor.STARTED


def view_path(deployment_id: str, *rest: str) -> str:
    return inferd_path("deployments", deployment_id, *rest)


@app.command("list")
def list_deployments(
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Every deployment, stopped ones included: its build, lifecycle, allocations and rollout stage."""
    with failures_reported():
        answer = call(client(url, api_key, data_dir, ca_certs), "GET", inferd_path("deployments"))
    print_answer(answer, output, lambda answer: [deployments_table(answer["deployments"])])


@app.command("show")
def show(
    deployment_id: DeploymentArgument,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """One deployment: build, lifecycle, settings, each route's build and role, the rollout in progress."""
    with failures_reported():
        view = call(client(url, api_key, data_dir, ca_certs), "GET", view_path(deployment_id))
    print_answer(view, output, view_tables)


@app.command("history")
def history(
    deployment_id: DeploymentArgument,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """What happened to a deployment, newest first: who did what, builds and settings before and after."""
    with failures_reported():
        answer = call(client(url, api_key, data_dir, ca_certs), "GET", view_path(deployment_id, "history"))
    print_answer(answer, output, lambda answer: [history_table(answer["history"])])


@app.command("start")
def start(
    target: Annotated[str, typer.Argument(
        metavar="MODEL", help="The model to deploy; with --again, the stopped deployment's id.")],
    again: Annotated[bool, typer.Option(
        "--again", help="Start a stopped deployment again, with its last build and settings (inferd's _start).")] = False,
    deployment_id: Annotated[str | None, typer.Option(
        "--deployment-id", help="The new deployment's id.", show_default="the model id")] = None,
    allocations: StartAllocationsOption = None,
    threads: StartThreadsOption = None,
    queue_capacity: StartQueueCapacityOption = None,
    cache_size: StartCacheSizeOption = None,
    priority: StartPriorityOption = None,
    adaptive: StartAdaptiveOption = None,
    minimum: StartMinOption = None,
    maximum: StartMaxOption = None,
    wait_for: Annotated[WaitFor | None, typer.Option(
        help="What --wait waits for.", show_default="started")] = None,
    wait: WaitOption = True,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Deploy a model (Elasticsearch's _start), or with --again start a stopped deployment again.

    The resource options and --deployment-id are for a new deployment: one started --again runs its last build
    and settings.
    """
    level = start_wait_for(wait, wait_for)
    seconds = timeout_seconds(timeout)
    es = client(url, api_key, data_dir, ca_certs, request_timeout_s=None if seconds is None else seconds + 30)
    if again:
        new_only = {"--deployment-id": deployment_id, "--allocations": allocations, "--threads": threads,
                    "--queue-capacity": queue_capacity, "--cache-size": cache_size, "--priority": priority,
                    "--adaptive/--no-adaptive": adaptive, "--min": minimum, "--max": maximum}
        refused = [name for name, value in new_only.items() if value is not None]
        if refused:
            raise typer.BadParameter(
                f"{', '.join(refused)} cannot go with --again: a deployment starts again with its last build and "
                "settings; change them afterwards with `inferd deployments redeploy`")
        with failures_reported(), err.status(f"Starting {target} again, waiting until it is {level}..."):
            view = call(es, "POST", view_path(target, "_start"), params={"wait_for": level.value, "timeout": timeout})
        print_answer(view, output, view_tables)
        return
    fields = settings_fields(allocations=allocations, threads=threads, queue_capacity=queue_capacity,
                             cache_size=cache_size, priority=priority,
                             adaptive=adaptive_allocations(adaptive, minimum, maximum))
    with failures_reported(), err.status(f"Starting a deployment of {target}, waiting until it is {level}..."):
        answer = es.ml.start_trained_model_deployment(
            model_id=target, deployment_id=deployment_id, wait_for=level.value, timeout=timeout, **fields).body
    print_answer(answer, output, lambda answer: [escape(assignment_line(answer["assignment"]))])


@app.command("update")
def update(
    deployment_id: DeploymentArgument,
    allocations: AllocationsOption = None,
    adaptive: AdaptiveOption = None,
    minimum: MinOption = None,
    maximum: MaxOption = None,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Resize a deployment in place (Elasticsearch's _update): no new worker, no request dropped."""
    adaptive_settings = adaptive_allocations(adaptive, minimum, maximum)
    if allocations is None and adaptive_settings is None:
        raise typer.BadParameter("give --allocations N or --adaptive/--no-adaptive")
    with failures_reported():
        answer = client(url, api_key, data_dir, ca_certs).ml.update_trained_model_deployment(
            model_id=deployment_id, number_of_allocations=allocations, adaptive_allocations=adaptive_settings).body
    print_answer(answer, output, lambda answer: [escape(assignment_line(answer["assignment"]))])


@app.command("redeploy")
def redeploy(
    deployment_id: DeploymentArgument,
    build: Annotated[int | None, typer.Option(
        help="The build to roll out.", show_default="the one it runs")] = None,
    allocations: AllocationsOption = None,
    threads: ThreadsOption = None,
    queue_capacity: QueueCapacityOption = None,
    cache_size: CacheSizeOption = None,
    priority: PriorityOption = None,
    adaptive: AdaptiveOption = None,
    minimum: MinOption = None,
    maximum: MaxOption = None,
    allow_downtime: AllowDowntimeOption = False,
    wait: WaitOption = True,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Roll out a build and/or new resources: new workers start beside the old ones, then take the traffic.

    The old workers drain only once the new ones serve. A change of allocations alone is a live resize.
    """
    body = settings_fields(allocations=allocations, threads=threads, queue_capacity=queue_capacity,
                           cache_size=cache_size, priority=priority,
                           adaptive=adaptive_allocations(adaptive, minimum, maximum))
    body.update(rollout_fields(build, allow_downtime))
    roll_out(client(url, api_key, data_dir, ca_certs), deployment_id, "_redeploy", body, wait, timeout, output)


@app.command("rollback")
def rollback(
    deployment_id: DeploymentArgument,
    to_build: Annotated[int | None, typer.Option(
        "--to-build", help="The build to go back to.", show_default="the one before the current")] = None,
    allow_downtime: AllowDowntimeOption = False,
    wait: WaitOption = True,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Roll back to an earlier build, with the resources it had, the way a redeploy rolls out."""
    body = rollout_fields(to_build, allow_downtime)
    roll_out(client(url, api_key, data_dir, ca_certs), deployment_id, "_rollback", body, wait, timeout, output)


@app.command("restart")
def restart(
    deployment_id: DeploymentArgument,
    allow_downtime: AllowDowntimeOption = False,
    wait: WaitOption = True,
    timeout: TimeoutOption = DEFAULT_TIMEOUT,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Replace every worker, same build and resources, rolling: the deployment keeps answering."""
    body = rollout_fields(None, allow_downtime)
    roll_out(client(url, api_key, data_dir, ca_certs), deployment_id, "_restart", body, wait, timeout, output)


@app.command("stop")
def stop(
    deployment_id: DeploymentArgument,
    output: OutputOption = OutputFormat.TABLE,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Drain and stop a deployment; it stays, with its history, to be started again with `start ID --again`."""
    with failures_reported(), err.status(f"Stopping {deployment_id}: its workers finish what they hold..."):
        view = call(client(url, api_key, data_dir, ca_certs, request_timeout_s=None), "POST",
                    view_path(deployment_id, "_stop"))
    print_answer(view, output, view_tables)


def rollout_fields(build: int | None, allow_downtime: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {} if build is None else {"build": build}
    if allow_downtime:
        fields["allow_downtime"] = True
    return fields


def roll_out(es: Elasticsearch, deployment_id: str, action: str, body: dict[str, Any], wait: bool, timeout: str,
             output: OutputFormat) -> None:
    """POST an inferd deployment action without waiting server-side; with `wait`, follow it and exit by its outcome."""
    with failures_reported():
        answer = call(es, "POST", view_path(deployment_id, action), params={"wait_for": "none"},
                      body=body or None)
        if not wait:
            print_answer(answer, output, rollout_tables)
            err.print(f"{escape(rollout_text(answer.get('rollout')))}; follow it with "
                      f"`inferd deployments show {escape(deployment_id)}`")
            return
        waited = follow(answer, lambda: call(es, "GET", view_path(deployment_id)),
                        lambda: call(es, "GET", view_path(deployment_id, "history"))["history"],
                        timeout_seconds(timeout))
    print_answer({"deployment": waited.view, "rollout": waited.rollout}, output, rollout_tables)
    err.print(outcome_line(waited, timeout))
    if waited.outcome is not Outcome.SUCCEEDED:
        raise typer.Exit(waited.outcome.exit_code)


def rollout_tables(answer: dict[str, Any]) -> list[Table]:
    """A rollout call's answer (`{"deployment", "rollout"}`) for people: the deployment, as `show` draws it."""
    return view_tables(answer["deployment"])
