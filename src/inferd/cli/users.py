"""`inferd users create|delete`: users for HTTP basic authentication, through `_security/user`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from elastic_transport import TransportError
from elasticsearch import ApiError

from inferd.cli.credentials import (
    DEFAULT_URL,
    ApiKeyOption,
    CaCertsOption,
    DataDirOption,
    UrlOption,
    connect,
    report_failure,
)
from inferd.cli.keys import ROLE_PRIVILEGES

app = typer.Typer(help="Create and delete users for basic authentication.", no_args_is_help=True)


@app.command("create")
def create(
    username: Annotated[str, typer.Argument(help="The user's name.")],
    role: Annotated[list[str], typer.Option("--role", help=f"A role ({', '.join(ROLE_PRIVILEGES)}); repeatable.")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input instead of prompting.")] = False,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Create (or update) a user; the server keeps only a scrypt hash of the password."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        answer = connect(url, api_key, data_dir, ca_certs).security.put_user(
            username=username, password=password, roles=role
        )
    except (ApiError, TransportError) as error:
        report_failure(error)
        return
    typer.echo(f"{'created' if answer['created'] else 'updated'} user {username} with roles {', '.join(role)}")


@app.command("delete")
def delete(
    username: Annotated[str, typer.Argument(help="The user's name.")],
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Delete a user; its basic-auth credentials stop working at once."""
    try:
        connect(url, api_key, data_dir, ca_certs).security.delete_user(username=username)
    except (ApiError, TransportError) as error:
        report_failure(error)
        return
    typer.echo(f"deleted user {username}")
