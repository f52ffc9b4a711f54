"""A generated section of README.md (the text between a start and an end
marker) and the command line its generators share: rewrite it, or with
--check exit 1 when it is stale."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable


def replace(readme: str, start: str, end: str, text: str) -> str:
    """`readme` with `text` (ending in a newline) between the markers."""
    before, rest = readme.split(start, 1)
    _, after = rest.split(end, 1)
    return f"{before}{start}\n{text}{end}{after}"


def run(path: Path, start: str, end: str, generate: Callable[[], str], *, what: str, tool: str) -> int:
    readme = path.read_text()
    new = replace(readme, start, end, generate())
    if "--check" in sys.argv:
        if new != readme:
            print(f"README.md's {what} is stale: run python tools/{tool}", file=sys.stderr)
            return 1
        return 0
    path.write_text(new)
    return 0
