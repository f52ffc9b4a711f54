"""Listings for scripts: one JSON document, JSON lines or CSV, with stable
columns. Tables for people are in reports.py."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from itertools import islice

# json.dumps escapes C0 controls but leaves DEL and the C1 range (one-byte
# CSI and friends, which some terminals obey) raw; escape them too: the
# same JSON value, safe to print.
_C1 = re.compile("[\x7f-\x9f]")


def dumps(value, **kwargs) -> str:
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False, **kwargs))


FORMATS = ("table", "json", "jsonl", "csv")
# Rows to a write when streaming: a write per row costs a system call each
# when Python's output is unbuffered (PYTHONUNBUFFERED, as under systemd or
# in containers), a tenth of a 250k-row export.
CHUNK = 1000


def write_rows(rows, fmt: str, columns: list[str], *, wrapper: dict | None = None, out=None,
               tuples: bool = False) -> None:
    """`json` prints one document (`wrapper` plus the rows under "items" when
    given), `jsonl` one object per line, `csv` a header and rows. `rows` may
    be any iterable: jsonl and csv stream it in constant memory. Rows are
    dicts, or with `tuples` their values in `columns` order."""
    out = out or sys.stdout
    def as_dict(row) -> dict:
        return dict(zip(columns, row)) if tuples else {c: row.get(c) for c in columns}
    if fmt == "json":
        rows = [as_dict(row) for row in rows]
        doc = {**wrapper, "count": len(rows), "items": rows} if wrapper is not None else rows
        out.write(dumps(doc, indent=2) + "\n")
    elif fmt == "jsonl":
        lines = (dumps(as_dict(row)) + "\n" for row in rows)
        for part in iter(lambda: "".join(islice(lines, CHUNK)), ""):
            out.write(part)
    elif fmt == "csv":
        _write_csv(rows if tuples else ([row.get(c) for c in columns] for row in rows), columns, out)
    else:
        raise ValueError(f"unknown output format {fmt}")


def _write_csv(rows, columns: list[str], out) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    rows = iter(rows)
    for part in iter(lambda: list(islice(rows, CHUNK)), []):
        writer.writerows(part)
        out.write(buffer.getvalue())
        buffer.seek(0)
        buffer.truncate()
    out.write(buffer.getvalue())


def write_json(doc, out=None) -> None:
    out = out or sys.stdout
    out.write(dumps(doc, indent=2) + "\n")
