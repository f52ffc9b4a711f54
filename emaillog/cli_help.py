"""`--help` as a person reads it: each argument shown by its metavar
(`PATH...`, `EMAIL`, `[REPLY]...`), never with the framework's type labels
(`<list[str]>`) or its usage brackets (`{PATH...}...`). Options show their
own metavars (`--since TIME`), which every option with a value sets."""

from __future__ import annotations

from typer.core import TyperCommand


class ReadableHelpCommand(TyperCommand):
    """A command whose usage line and Arguments section use metavars as written."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(_label(param) if param.required else f"[{_label(param)}]")
        return pieces

    def format_options(self, ctx, formatter) -> None:
        params = [p for p in self.get_params(ctx) if not getattr(p, "hidden", False)]
        arguments = [(_label(p), getattr(p, "help", None) or "") for p in params if p.param_type_name == "argument"]
        options = [record for p in params if p.param_type_name == "option" and (record := p.get_help_record(ctx))]
        for title, rows in (("Arguments", arguments), ("Options", options)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


def _label(param) -> str:
    return param.metavar or param.name.upper()
