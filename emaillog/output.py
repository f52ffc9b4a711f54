"""Listings for scripts: one JSON document, JSON lines or CSV, with stable
columns. Tables for people are in reports.py."""

from __future__ import annotations

import csv
import json
import re
import sys

# json.dumps escapes C0 controls but leaves DEL and the C1 range (one-byte
# CSI and friends, which some terminals obey) raw; escape them too: the
# same JSON value, safe to print.
_C1 = re.compile("[\x7f-\x9f]")


def dumps(value, **kwargs) -> str:
    return _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, ensure_ascii=False, **kwargs))


FORMATS = ("table", "json", "jsonl", "csv")


def write_rows(rows, fmt: str, columns: list[str], *, wrapper: dict | None = None, out=None) -> None:
    """`json` prints one document (`wrapper` plus the rows under "items" when
    given), `jsonl` one object per line, `csv` a header and rows. `rows` may
    be any iterable: jsonl and csv stream it in constant memory."""
    out = out or sys.stdout
    if fmt == "json":
        rows = [{c: row.get(c) for c in columns} for row in rows]
        doc = {**wrapper, "count": len(rows), "items": rows} if wrapper is not None else rows
        out.write(dumps(doc, indent=2) + "\n")
    elif fmt == "jsonl":
        for row in rows:
            out.write(dumps({c: row.get(c) for c in columns}) + "\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([row.get(c) for c in columns] for row in rows)
    else:
        raise ValueError(f"unknown output format {fmt}")


def write_json(doc, out=None) -> None:
    out = out or sys.stdout
    out.write(dumps(doc, indent=2) + "\n")
