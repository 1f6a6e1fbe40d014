"""How the REST commands print what the server answered: `-o table` for people, `-o json` for scripts.

`json` writes the server's JSON and nothing else on stdout, so `| jq` always works; everything said to a
person (progress, outcomes, hints) goes to stderr through `err`.
"""

from __future__ import annotations

import datetime
import enum
import json
from collections.abc import Callable, Iterable
from typing import Annotated, Any

import typer
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.table import Table

err = Console(stderr=True, highlight=False, soft_wrap=True)
"""For people; lines are not cut at 80 columns when stderr is a log rather than a terminal."""


class OutputFormat(enum.StrEnum):
    TABLE = "table"
    JSON = "json"


OutputOption = Annotated[OutputFormat, typer.Option(
    "--output", "-o", case_sensitive=False, help="table for people, json (the server's answer) for scripts.")]


def print_json(answer: Any) -> None:
    typer.echo(json.dumps(answer, indent=2))


def print_answer(answer: Any, output: OutputFormat, tables: Callable[[Any], Iterable[RenderableType]]) -> None:
    """The server's answer as is for `json`, or the tables `tables` draws from it for people."""
    if output is OutputFormat.JSON:
        print_json(answer)
    else:
        print_tables(*tables(answer))


def print_tables(*renderables: RenderableType) -> None:
    """Tables on stdout, wide enough not to wrap ids."""
    console = Console(highlight=False, width=200)
    for renderable in renderables:
        console.print(renderable)


def time_text(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "-"
    return datetime.datetime.fromtimestamp(epoch_ms / 1000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")


def duration_text(start_ms: int | None, end_ms: int | None) -> str:
    if start_ms is None or end_ms is None:
        return "-"
    return f"{(end_ms - start_ms) / 1000:.1f}s"


def cell(value: Any) -> str:
    """A value as a table shows it: `-` for nothing, JSON for structures, escaped for rich markup."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return escape(json.dumps(value))
    return escape(str(value))


def fields_table(rows: Iterable[tuple[str, Any]]) -> Table:
    """One object as a two-column table (`show` commands)."""
    table = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, cell(value))
    return table
