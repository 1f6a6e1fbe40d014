"""`inferd keys create|list|invalidate`: API keys, through the server's `_security/api_key` REST API.

`inferd keys reset-admin` is the exception: it replaces a lost admin key, so it cannot authenticate to the server
and works on the store in the data dir instead (whoever can write the data dir owns the server anyway).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from elastic_transport import TransportError
from elasticsearch import ApiError
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from inferd.cli.credentials import (
    DEFAULT_URL,
    ApiKeyOption,
    CaCertsOption,
    DataDirOption,
    UrlOption,
    connect,
    report_failure,
)
from inferd.settings import Settings

app = typer.Typer(help="Create, list and invalidate API keys.", no_args_is_help=True)
err = Console(stderr=True, highlight=False)

# Elasticsearch's built-in roles, as the role descriptors the server takes (the server's table is
# control/security/privileges.py; the CLI is a REST client and does not import it; a unit test keeps them equal).
ROLE_PRIVILEGES: dict[str, list[str]] = {
    "superuser": ["all"],
    "machine_learning_admin": ["manage_ml"],
    "machine_learning_user": ["monitor_ml"],
}


def _time(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return datetime.datetime.fromtimestamp(epoch_ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The key's name.")],
    role: Annotated[list[str] | None, typer.Option(
        "--role", help=f"Limit the key to a built-in role ({', '.join(ROLE_PRIVILEGES)}); repeatable.",
        show_default="the creator's privileges")] = None,
    privilege: Annotated[list[str] | None, typer.Option(
        "--privilege", help="Limit the key to a cluster privilege (monitor_ml, manage_ml, ...); repeatable.",
        show_default="the creator's privileges")] = None,
    expiration: Annotated[str | None, typer.Option(
        help="Lifetime, e.g. 30d or 12h.", show_default="never expires")] = None,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Create a key and print it, encoded for `Authorization: ApiKey ...` (shown once; only a hash is stored).

    Without --role or --privilege the key has the privileges of the key or user that creates it.
    """
    descriptors: dict[str, Any] = {}
    for name_ in role or []:
        if name_ not in ROLE_PRIVILEGES:
            raise typer.BadParameter(f"unknown role [{name_}]; one of {', '.join(ROLE_PRIVILEGES)}", param_hint="--role")
        descriptors[name_] = {"cluster": ROLE_PRIVILEGES[name_]}
    if privilege:
        descriptors["inferd_privileges"] = {"cluster": list(privilege)}
    try:
        created = connect(url, api_key, data_dir, ca_certs).security.create_api_key(
            name=name, expiration=expiration, role_descriptors=descriptors or None
        )
    except (ApiError, TransportError) as error:
        report_failure(error)
        return
    err.print(f"created API key [bold]{escape(created['name'])}[/] (id {created['id']}, expires "
              f"{_time(created.get('expiration'))}); send it as 'Authorization: ApiKey <key>':")
    typer.echo(created["encoded"])


@app.command("list")
def list_keys(
    name: Annotated[str | None, typer.Option(
        help="Only keys of this name (a trailing * matches a prefix).", show_default="every key")] = None,
    active_only: Annotated[bool, typer.Option("--active-only", help="Leave out invalidated and expired keys.")] = False,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """List the API keys (never their secrets)."""
    try:
        keys = connect(url, api_key, data_dir, ca_certs).security.get_api_key(
            name=name, active_only=active_only or None
        )["api_keys"]
    except (ApiError, TransportError) as error:
        report_failure(error)
        return
    table = Table("id", "name", "owner", "created", "expires", "invalidated", "privileges")
    for key in keys:
        privileges = sorted({p for d in key.get("role_descriptors", {}).values() for p in d.get("cluster", [])})
        table.add_row(key["id"], escape(key["name"]), escape(f"{key['username']} ({key['realm']})"),
                      _time(key["creation"]), _time(key.get("expiration")),
                      _time(key.get("invalidation")) if key["invalidated"] else "no",
                      ", ".join(privileges) or "(its owner's)")
    Console(highlight=False, width=200).print(table)


@app.command("invalidate")
def invalidate(
    ids: Annotated[list[str] | None, typer.Argument(help="Ids of the keys to invalidate.")] = None,
    name: Annotated[str | None, typer.Option(
        help="Invalidate the keys of this name instead.", show_default="the key ids given")] = None,
    url: UrlOption = DEFAULT_URL,
    api_key: ApiKeyOption = None,
    data_dir: DataDirOption = Path("data"),
    ca_certs: CaCertsOption = None,
) -> None:
    """Invalidate keys at once: the server refuses them from its next request."""
    if not ids and not name:
        raise typer.BadParameter("give key ids or --name")
    try:
        answer = connect(url, api_key, data_dir, ca_certs).security.invalidate_api_key(ids=ids or None, name=name)
    except (ApiError, TransportError) as error:
        report_failure(error)
        return
    for key_id in answer["invalidated_api_keys"]:
        typer.echo(f"invalidated {key_id}")
    for key_id in answer["previously_invalidated_api_keys"]:
        typer.echo(f"already invalidated {key_id}")
    if not answer["invalidated_api_keys"] and not answer["previously_invalidated_api_keys"]:
        err.print("no key matched")
        raise typer.Exit(1)


@app.command("generate")
def generate() -> None:
    """Print a new random API key, encoded, without contacting a server: give it to a first start in the file
    INFERD_BOOTSTRAP_API_KEY_FILE names, so that whoever deploys the server knows its admin key beforehand."""
    from inferd.control.security import generate_encoded_key

    typer.echo(generate_encoded_key())


@app.command("reset-admin")
def reset_admin(data_dir: DataDirOption = Path("data")) -> None:
    """Replace a lost or leaked admin key: invalidate it and write a new one to DATA_DIR/admin-api-key (0600).

    Works on the data dir's store directly (or INFERD_STORE_URL's), with the server stopped or running: a running
    server refuses the old key within a second. Run it as the user the server runs as, who owns the data dir.
    """
    # The data-dir tool works on the store itself: it alone of the key commands loads the control plane.
    from inferd.clock import SystemClock
    from inferd.control.security import ADMIN_KEY_FILE, ApiKeys, reset_admin_key
    from inferd.store import SecurityStore, open_store

    settings = Settings(data_dir=data_dir)
    data_dir = settings.data_dir  # absolute, as the server resolves it
    if not data_dir.is_dir() or (settings.store_url is None and not (data_dir / "inferd.db").is_file()):
        err.print(f"[red]error:[/] no inferd store in [{escape(str(data_dir))}]; give the server's --data-dir")
        raise typer.Exit(1)
    owner = data_dir.stat().st_uid
    if owner != os.geteuid():
        err.print(f"[red]error:[/] [{escape(str(data_dir))}] belongs to user id {owner}: run this as that user, so "
                  "that the server can still use the files this writes")
        raise typer.Exit(1)
    engine = open_store(settings.resolved_store_url)
    try:
        created, invalidated = reset_admin_key(ApiKeys(SecurityStore(engine), SystemClock(), ()), data_dir)
    finally:
        engine.dispose()
    err.print(f"invalidated the admin key(s) [{', '.join(invalidated) or 'none was active'}]; the new one (id "
              f"{created.record.key_id}) is in {escape(str(data_dir / ADMIN_KEY_FILE))} and printed once here:")
    typer.echo(created.encoded)
