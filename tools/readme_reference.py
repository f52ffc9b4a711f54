"""Write the README's command reference from the commands' own `--help`.

The text between `<!-- reference:start -->` and `<!-- reference:end -->` is
generated: `emaillog --help`, then each command's help, at 100 columns.
A test fails when it is stale, so the reference never drifts from the code.

    python tools/readme_reference.py          # rewrite README.md
    python tools/readme_reference.py --check  # exit 1 when README.md is stale
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
import typer.main

sys.path.insert(0, str(Path(__file__).resolve().parent))
import readme_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- reference:start -->", "<!-- reference:end -->"
WIDTH = 100


def help_texts() -> list[tuple[str, str]]:
    """[(command line, help text)] for the program and each command, in
    the order `emaillog --help` lists them."""
    from emaillog.cli import app
    # typer.Context, not click.Context: recent typer carries its own copy of click
    group = typer.main.get_command(app)
    top = typer.Context(group, info_name="emaillog", terminal_width=WIDTH, max_content_width=WIDTH)
    out = [("emaillog", group.get_help(top))]
    for name in group.list_commands(top):
        command = group.get_command(top, name)
        ctx = typer.Context(command, info_name=name, parent=top, terminal_width=WIDTH, max_content_width=WIDTH)
        out.append((f"emaillog {name}", command.get_help(ctx)))
    return out


def reference() -> str:
    parts = []
    for title, text in help_texts():
        parts.append(f"### `{title}`\n\n```\n{text.rstrip()}\n```\n")
    return "\n".join(parts)


def updated(readme: str, text: str) -> str:
    return readme_section.replace(readme, START, END, text)


def main() -> int:
    return readme_section.run(README, START, END, reference, what="command reference", tool="readme_reference.py")


if __name__ == "__main__":
    sys.exit(main())
