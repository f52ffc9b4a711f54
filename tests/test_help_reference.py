"""Every command and every option explains itself in `--help`, and the
README's command reference is exactly what `--help` says."""

from __future__ import annotations

import re
import sys

import typer
import typer.main

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import readme_reference  # noqa: E402


def missing_help(app: typer.Typer) -> list[str]:
    """Commands without a help text, and parameters without one, over the
    whole command tree: the program's own options and any sub-groups too."""
    problems: list[str] = []

    def walk(command, path: str) -> None:
        if not (command.help or "").strip():
            problems.append(f"command {path}")
        for param in command.params:
            if not (getattr(param, "help", None) or "").strip():
                problems.append(f"{path} {param.opts[0] if param.opts else param.name}")
        for name, sub in getattr(command, "commands", {}).items():  # a group's commands
            walk(sub, f"{path} {name}")

    walk(typer.main.get_command(app), "emaillog")
    return problems


def test_every_command_and_option_has_help():
    from emaillog.cli import app
    assert missing_help(app) == []


def test_the_help_check_can_fail():
    """A command, an argument, an option, a program option or a sub-group
    without help is each reported."""
    app = typer.Typer(help="A program.")

    @app.callback()
    def main(verbose: bool = typer.Option(False, "--verbose")):
        """A program."""

    @app.command()
    def documented(flag: bool = typer.Option(False, "--flag", help="Does a thing.")):
        """Has help."""

    @app.command()
    def bare(name: str = typer.Argument(...), count: int = typer.Option(1, "--count")):
        pass

    sub = typer.Typer()
    app.add_typer(sub, name="group")

    @sub.command()
    def leaf():
        pass

    assert missing_help(app) == [
        "emaillog --verbose", "command emaillog bare", "emaillog bare name", "emaillog bare --count",
        "command emaillog group", "command emaillog group leaf"]


def test_readme_reference_is_current():
    readme = readme_reference.README.read_text()
    assert readme_reference.updated(readme, readme_reference.reference()) == readme, (
        "README's command reference is stale: run python tools/readme_reference.py")


def test_reference_lists_every_command():
    from emaillog.cli import app
    group = typer.main.get_command(app)
    text = readme_reference.reference()
    ctx = typer.Context(group)
    for name in group.list_commands(ctx):
        assert f"### `emaillog {name}`" in text
    assert "\x1b" not in text  # plain text, no terminal styling


def test_check_mode_flags_a_stale_readme(tmp_path, monkeypatch, capsys):
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{readme_reference.START}\nold help\n{readme_reference.END}\n\n## After\n")
    monkeypatch.setattr(readme_reference, "README", readme)
    monkeypatch.setattr(sys, "argv", ["readme_reference.py", "--check"])
    assert readme_reference.main() == 1
    assert "run python tools/readme_reference.py" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["readme_reference.py"])
    assert readme_reference.main() == 0  # rewrites it
    monkeypatch.setattr(sys, "argv", ["readme_reference.py", "--check"])
    assert readme_reference.main() == 0
    text = readme.read_text()
    assert text.startswith("# x\n") and text.endswith("\n## After\n") and "old help" not in text


# What the framework prints when a parameter has no name a person reads:
# <str>, <int range>, <list[str]>, <table|json|jsonl|csv>, {PATH...}...,
# [[REPLY]...]..., [default: 10; x>=1].
ARTEFACTS = re.compile(r"<[^>\s]*( range)?>|\{[^}\s]*\}|\[\[|\]\.\.\.\]|list\[|x[<>]=")


def test_help_shows_no_framework_artefacts():
    found = [(title, m.group()) for title, text in readme_reference.help_texts() for m in ARTEFACTS.finditer(text)]
    assert found == []


def test_the_artefact_check_can_fail():
    for text in ("--person <str>", "email <str>", "PATH... <list[str]>", "--top <int range>",
                 "--format <table|json|jsonl|csv>", "ingest [OPTIONS] {PATH...}...", "[[REPLY]...]...",
                 "[default: 10; x>=1]"):
        assert ARTEFACTS.search(text), text
    assert not ARTEFACTS.search("--person EMAIL  Only this address. [default: table]")


def test_usage_lines_name_the_arguments():
    usage = {title: text.splitlines()[0] for title, text in readme_reference.help_texts()}
    assert usage["emaillog ingest"] == "Usage: emaillog ingest [OPTIONS] [PATH...]"  # or --reread FILE alone
    assert usage["emaillog person"] == "Usage: emaillog person [OPTIONS] EMAIL"
    assert usage["emaillog classify"] == "Usage: emaillog classify [OPTIONS] [REPLY...]"


def test_every_option_with_a_value_has_a_metavar():
    from emaillog.cli import app
    group = typer.main.get_command(app)
    missing = [f"{name} {p.opts[0]}" for name, command in [("emaillog", group), *group.commands.items()]
               for p in command.params
               if p.param_type_name == "option" and not p.is_flag and not (p.metavar or "").isupper()]
    assert missing == []
