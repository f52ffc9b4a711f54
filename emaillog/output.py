"""Listings for scripts: one JSON document, JSON lines or CSV, with stable
columns. Tables for people are in reports.py."""

from __future__ import annotations

import csv
import json
import sys

FORMATS = ("table", "json", "jsonl", "csv")


def write_rows(rows: list[dict], fmt: str, columns: list[str], *, wrapper: dict | None = None, out=None) -> None:
    """`json` prints one document (`wrapper` plus the rows under "items" when
    given), `jsonl` one object per line, `csv` a header and rows."""
    out = out or sys.stdout
    rows = [{c: row.get(c) for c in columns} for row in rows]
    if fmt == "json":
        doc = {**wrapper, "count": len(rows), "items": rows} if wrapper is not None else rows
        json.dump(doc, out, indent=2, ensure_ascii=False)
        out.write("\n")
    elif fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        raise ValueError(f"unknown output format {fmt}")


def write_json(doc, out=None) -> None:
    out = out or sys.stdout
    json.dump(doc, out, indent=2, ensure_ascii=False)
    out.write("\n")
