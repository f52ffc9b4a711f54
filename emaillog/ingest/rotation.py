"""Following a log across rotation, so cron can name one path.

When the file at a path is not the one read there last time, logrotate has
renamed that one: look for it under the names logrotate gives
(`mail.log.1`, `mail.log.1.gz`, `mail.log.0`, `mail.log-20261128[.gz]`) and
finish it before starting the new file (pygtail does the same). A file is
known by the fingerprint of its first line, so a renamed or compressed copy
is recognised.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..inputs import Input, InputProblem, open_input

# Names a rotated file has: a number, or a date (logrotate's dateext), maybe gzip.
ROTATED = re.compile(r"(?:\.\d+|-\d{8}(?:\d{2})?)(?:\.gz)?$")


def successors(path: str) -> list[Path]:
    """Where logrotate may have put the file that was at `path`, likeliest first."""
    base = Path(path)
    named = [base.with_name(base.name + suffix) for suffix in (".1", ".1.gz", ".0", ".0.gz")]
    dated = sorted((p for p in base.parent.glob(base.name + "-*") if ROTATED.search(p.name[len(base.name):])),
                   key=lambda p: p.name, reverse=True)
    return [p for p in [*named, *dated] if p.is_file()]


def rotated_away(store, inp: Input, current_fingerprint: str | None) -> Input | None:
    """The rotated file holding the rest of what was read at `inp.path`
    last time, when that is not the file there now and it has unread text."""
    last = store.last_read_at(inp.path)
    if last is None or last["fingerprint"] == current_fingerprint or last.get("complete"):
        return None
    for candidate in successors(inp.path):
        try:
            opened = open_input(Input(str(candidate), False))
        except InputProblem:
            continue
        if opened is None:
            continue
        try:
            if opened.fingerprint == last["fingerprint"]:
                return Input(str(candidate), False)
        finally:
            close = getattr(opened.stream, "close", None)
            if close:
                close()
    return None


def looks_rotated(path: str) -> bool:
    """Is this a rotated file's name (no longer being written)?"""
    return bool(ROTATED.search(Path(path).name))
