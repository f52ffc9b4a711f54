"""A suppression file as the readers see it: its text, its CSV rows or JSON
values, each with the line it starts on, so that every problem names a line."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from functools import cached_property


# The one cell of a row the csv module could not split (its message follows).
BROKEN = "\0broken: "


@dataclass
class Source:
    """One file's text (a leading byte-order mark removed)."""

    text: str

    @classmethod
    def of(cls, data: str | bytes) -> "Source":
        if isinstance(data, bytes):
            data = data.decode("utf-8-sig", errors="replace")
        return cls(data.removeprefix("\ufeff"))

    @cached_property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    @cached_property
    def first_line(self) -> str:
        return next((line.strip() for line in self.lines if line.strip()), "")

    @cached_property
    def document(self):
        """The whole text as one JSON value, or None when it is not one
        (JSON lines, CSV)."""
        if not self.first_line.startswith(("{", "[")):
            return None
        try:
            return json.loads(self.text)
        except ValueError:
            return None

    @cached_property
    def header(self) -> list[str]:
        """The first CSV row, lower case and trimmed (the header, if any)."""
        rows = self.csv_rows
        return [cell.strip().lower() for cell in rows[0][1]] if rows else []

    @cached_property
    def csv_rows(self) -> list[tuple[int, list[str]]]:
        """(line the row starts on, cells) for each non-blank CSV row; a
        quoted field may span lines."""
        reader = csv.reader(io.StringIO(self.text))
        rows, start = [], 1
        try:
            for cells in reader:
                if any(cell.strip() for cell in cells):
                    rows.append((start, cells))
                start = reader.line_num + 1
        except csv.Error as exc:  # a NUL byte or the like: the rest is one broken row
            rows.append((start, [BROKEN + str(exc)]))
        return rows

    def json_lines(self) -> list[tuple[int, object]]:
        """(line number, value or the ValueError) for each non-blank line."""
        out = []
        for number, line in enumerate(self.lines, 1):
            if not line.strip():
                continue
            try:
                out.append((number, json.loads(line)))
            except ValueError as exc:
                out.append((number, exc))
        return out

    def array_items(self, key: str | None = None) -> list[tuple[int, object]]:
        """(line the item starts on, item) for each item of the document's
        top-level array, or of the array under top-level `key`."""
        doc = self.document
        items = doc if key is None else doc[key]
        start = self._array_start(key)
        decoder, text, at, out = json.JSONDecoder(), self.text, start + 1, []
        line, counted = 1, 0  # newlines are counted once, from where the last item began
        for item in items:
            at = _skip(text, at, " \t\r\n,")
            line, counted = line + text.count("\n", counted, at), at
            _, at = decoder.raw_decode(text, at)
            out.append((line, item))
        return out

    def _array_start(self, key: str | None) -> int:
        """Where the array opens: a top-level array, or the value of `key`
        in the top-level object (found by decoding the object's members in turn)."""
        text, decoder = self.text, json.JSONDecoder()
        at = _skip(text, 0, " \t\r\n")
        if key is None:
            return at
        at += 1  # past "{"
        while True:
            at = _skip(text, at, " \t\r\n,")
            name, at = decoder.raw_decode(text, at)
            at = _skip(text, at, " \t\r\n:")
            if name == key:
                return at
            _, at = decoder.raw_decode(text, at)


def _skip(text: str, at: int, chars: str) -> int:
    while at < len(text) and text[at] in chars:
        at += 1
    return at
