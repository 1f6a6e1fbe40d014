"""The `inferd` console command."""

from __future__ import annotations

from typing import Annotated

import typer

from inferd.cli.demo import demo
from inferd.cli.enrich import enrich
from inferd.cli.import_model import import_model
from inferd.cli import builds, deployments, keys, users
from inferd.cli.ready import ready
from inferd.cli.serve import serve

app = typer.Typer(help="inferd: deploy PyTorch models behind Elasticsearch's trained-model API.", no_args_is_help=True)
app.command()(serve)
app.command()(demo)
app.command()(ready)
app.command("import")(import_model)
app.command()(enrich)
app.add_typer(keys.app, name="keys")
app.add_typer(users.app, name="users")
app.add_typer(builds.app, name="builds")
app.add_typer(deployments.app, name="deployments")


def _print_version(asked: bool) -> None:
    if asked:
        from inferd.build_info import build_info

        typer.echo(build_info().describe())
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="Print inferd's version and exit.")] = False,
) -> None:
    """inferd: deploy PyTorch models behind Elasticsearch's trained-model API."""
