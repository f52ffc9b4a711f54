"""Tables that fit the terminal without splitting an address or a campaign
name across lines.

Rich fits a table that is too wide by wrapping cells at any character
(`carol@example.` / `com`) and crops what still does not fit. Here each
column says whether its text stays whole (addresses, campaigns, times,
counts) or may wrap (outcome text), and each table lists what gives way
first when it is too wide: a column named there is shortened the first time
(when it has a short form, such as a time without the year) and left out the
next; FRAME drops the box. What is left out is in --json. When even the
columns that never give way do not fit, the table is as wide as they need:
the terminal wraps the line, but the address is whole in what was printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich import box as boxes
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

FRAME = "(frame)"  # a give-way step: the table without its box


class FittedTable(Table):
    """A table sized by `fitted_table`: print it with crop=False, as it is
    wider than the terminal only to keep addresses and names whole."""


@dataclass
class Column:
    """One column: a cell per row, its header, and how it may give way."""

    key: str                          # named in a table's give-way list
    header: str
    cells: list
    whole: bool = True                # one line, never wrapped or cut
    min_width: int = 10               # how narrow a column that may wrap can get
    short: list | None = None         # shorter cells, tried before leaving it out
    options: dict[str, Any] = field(default_factory=dict)  # for Table.add_column

    def width(self, shortened: bool) -> int:
        """Columns this needs, without padding."""
        cells = self.short if shortened and self.short is not None else self.cells
        texts = [self.header, *cells] + ([self.options["footer"]] if "footer" in self.options else [])
        natural = max(_width(t) for t in texts)
        natural = max(natural, self.options.get("min_width") or 0)
        if self.options.get("max_width"):
            natural = min(natural, self.options["max_width"])
        return natural if self.whole else min(natural, self.min_width)


def fitted_table(columns: list[Column], *, width: int | None, give_way: tuple[str, ...] = (),
                 **table_options) -> FittedTable:
    """A table of `columns` that fits `width` (None: no limit), giving way
    in the order of `give_way`."""
    shown = list(columns)
    shortened: set[str] = set()
    for step in give_way:
        if width is None or _needed(shown, shortened, table_options) <= width:
            break
        if step == FRAME:
            table_options.update(box=None, show_edge=False, pad_edge=False)
        elif step in shortened or all(c.short is None for c in shown if c.key == step):
            shown = [c for c in shown if c.key != step]
        else:
            shortened.add(step)
    needed = _needed(shown, shortened, table_options)
    if width is not None and needed > width:
        table_options["width"] = needed  # wider than the terminal, addresses whole
    table = FittedTable(**table_options)
    for column in shown:
        options = {"no_wrap": True} if column.whole else {"overflow": "fold"}
        table.add_column(column.header, **{**options, **column.options})
    rows = [c.short if c.key in shortened and c.short is not None else c.cells for c in shown]
    for cells in zip(*rows):
        table.add_row(*cells)
    return table


def _needed(columns: list[Column], shortened: set[str], table_options: dict) -> int:
    """The width the table needs: its columns, their padding (Rich's default,
    one space each side) and the box (Rich's default, HEAVY_HEAD)."""
    box = table_options.get("box", boxes.HEAVY_HEAD)
    pad_edge, show_edge = table_options.get("pad_edge", True), table_options.get("show_edge", True)
    padding = 2 * len(columns) - (0 if pad_edge else 2)
    frame = (len(columns) - 1 + (2 if show_edge else 0)) if box else 0
    return sum(c.width(c.key in shortened) for c in columns) + max(padding, 0) + frame


def _width(value) -> int:
    text = value.plain if isinstance(value, Text) else str(value)
    return max((cell_len(line) for line in text.splitlines()), default=0)
