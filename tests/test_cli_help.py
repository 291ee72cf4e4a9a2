"""Every command explains itself (sqlite-utils' habit): --help works and says something for each."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from xznews.cli import app

runner = CliRunner()


def _commands(group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = []
    for name, cmd in group.commands.items():
        out.append((*prefix, name))
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click)
            out.extend(_commands(cmd, (*prefix, name)))
    return out


ROOT = typer.main.get_command(app)
ALL = _commands(ROOT)  # type: ignore[arg-type]


def test_the_cli_offers_every_command_of_the_design():
    names = {" ".join(c) for c in ALL}
    for expected in [
        "run",
        "ingest",
        "seeds load",
        "sources list",
        "sources check",
        "extract",
        "classify",
        "dedupe check",
        "dedupe rebuild",
        "subscribe",
        "watch add",
        "watch remove",
        "watch list",
        "digest preview",
        "digest send",
        "status",
        "config show",
        "demo",
    ]:
        assert expected in names


@pytest.mark.parametrize("command", ALL, ids=[" ".join(c) for c in ALL])
def test_each_command_has_help_text(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    cmd = ROOT
    for part in command:
        cmd = cmd.commands[part]  # type: ignore[attr-defined]
    assert (cmd.help or "").strip(), f"xznews {' '.join(command)} has no help text"
    for param in cmd.params:
        if param.param_type_name == "option" and param.name != "help":
            assert (param.help or "").strip(), f"option {param.opts} of {' '.join(command)} has no help"


def test_top_level_help_lists_the_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "ingest" in result.output and "digest" in result.output
