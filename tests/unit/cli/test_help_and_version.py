"""`inferd --version`, and every command's `--help` showing each option's default."""

from __future__ import annotations

from importlib.metadata import version

from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from inferd.cli.main import app

runner = CliRunner()


def _commands(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every leaf command under `group` with its path (typer's own copy of click: its classes are not click's)."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if hasattr(command, "commands"):
            found += _commands(command, path)
        else:
            found.append((path, command))
    return found


COMMANDS = _commands(typer.main.get_command(app))


def test_version_names_inferd_and_what_it_runs_on() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith(f"inferd {version('inferd')} (torch {version('torch')}, Python ")


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(path) for path, _ in COMMANDS])
def test_every_option_with_a_value_shows_its_default(path: tuple[str, ...], command: Any) -> None:
    """An option has a default typer prints, says what its absence means (`show_default="..."`), writes it into its
    help escaped from rich's markup, or is a flag or a secret (`show_default=False` and no default in its help)."""
    for param in command.params:
        if param.param_type_name != "option" or param.is_flag or param.required:
            continue
        name, help_text = f"inferd {' '.join(path)} {max(param.opts, key=len)}", param.help or ""
        assert "[default" not in help_text.replace("\\[default", ""), f"{name}: rich markup eats [default: ...]"
        if param.show_default is False and "\\[default: " not in help_text:
            assert any(word in name for word in ("key", "password", "token")), f"{name}: no default shown, not a secret"
            continue
        assert param.default is not None or isinstance(param.show_default, str) or "\\[default: " in help_text, (
            f"{name}: no default shown; give show_default a description")


def test_serve_help_shows_the_settings_defaults() -> None:
    result = runner.invoke(app, ["serve", "--help"], env={"COLUMNS": "200", "TERMINAL_WIDTH": "200"})
    assert result.exit_code == 0
    for default in ("[default: 127.0.0.1]", "[default: 9200]", "[default: data]", "[default: 86400.0]",
                    "[default: this machine's]"):
        assert default in result.output
