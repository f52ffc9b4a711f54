"""Every command and every option explains itself in `--help`, and the
README's command reference is exactly what `--help` says."""

from __future__ import annotations

import sys

import click
import typer
import typer.main

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import readme_reference  # noqa: E402


def missing_help(app: typer.Typer) -> list[str]:
    """Commands without a help text, and their parameters without one."""
    group = typer.main.get_command(app)
    problems = []
    for name, command in group.commands.items():
        if not (command.help or "").strip():
            problems.append(f"command {name}")
        for param in command.params:
            if not (getattr(param, "help", None) or "").strip():
                problems.append(f"{name} {param.opts[0] if param.opts else param.name}")
    return problems


def test_every_command_and_option_has_help():
    from emaillog.cli import app
    assert missing_help(app) == []


def test_the_help_check_can_fail():
    app = typer.Typer()

    @app.command()
    def documented(flag: bool = typer.Option(False, "--flag", help="Does a thing.")):
        """Has help."""

    @app.command()
    def bare(count: int = typer.Option(1, "--count")):
        pass

    assert missing_help(app) == ["command bare", "bare --count"]


def test_readme_reference_is_current():
    readme = readme_reference.README.read_text()
    assert readme_reference.updated(readme, readme_reference.reference()) == readme, (
        "README's command reference is stale: run python tools/readme_reference.py")


def test_reference_lists_every_command():
    from emaillog.cli import app
    group = typer.main.get_command(app)
    text = readme_reference.reference()
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        assert f"### `emaillog {name}`" in text
    assert "\x1b" not in text  # plain text, no terminal styling
