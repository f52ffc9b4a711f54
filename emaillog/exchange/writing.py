"""What every provider's writer needs: the rows to write, one per address
and list, split into files no larger than the provider takes."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable, Iterable

from .records import Entry


@dataclass(frozen=True)
class Row:
    """An entry and where it goes at the provider: its list or reason word."""

    target: str
    entry: Entry


def unique(rows: list[Row], key: Callable[[Row], object]) -> list[Row]:
    """The first row for each key: rows come in precedence order (a hard
    bounce before a complaint before an unsubscribe), so an address on one
    list keeps its strongest reason."""
    seen, out = set(), []
    for row in rows:
        k = key(row)
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out


def chunked(rows: list[Row], size: int):
    """(file-name suffix, rows) per file of at most `size` rows: no suffix
    when one file holds them all, else "-1", "-2", ..."""
    parts = [rows[i:i + size] for i in range(0, len(rows), size)] or [[]]
    for number, part in enumerate(parts, 1):
        yield ("" if len(parts) == 1 else f"-{number}"), part


def csv_text(header: list[str] | None, rows: Iterable[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
