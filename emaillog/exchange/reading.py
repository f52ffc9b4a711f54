"""What every reader does with a line: turn it into a Record, or say in one
sentence why it cannot, so that no line is dropped silently."""

from __future__ import annotations

from .records import REASONS, Problem, ReadResult, Record, address_of
from .source import BROKEN, Source
from .times import parse_time


class Collector:
    """Records and problems of one file, in line order."""

    def __init__(self, source: str):
        self.source = source
        self.result = ReadResult(provider=source)

    def problem(self, line: int, why: str) -> None:
        self.result.problems.append(Problem(line, why))

    def add(self, line: int, address, reason: str, *, scope: str | None = None, since=None, until=None,
            detail: str | None = None) -> None:
        """Record one suppression, or a problem when its address or a time
        cannot be read."""
        assert reason in REASONS, reason
        person = address_of(address if isinstance(address, str) else None)
        if person is None:
            self.problem(line, _not_an_address(address))
            return
        times = {}
        for name, value in (("since", since), ("until", until)):
            if value is None or (isinstance(value, str) and not value.strip()):
                times[name] = None
                continue
            try:
                times[name] = parse_time(value)
            except ValueError as exc:
                self.problem(line, f"the {'end' if name == 'until' else 'time'} cannot be read: {exc}")
                return
        self.result.records.append(Record(address=person, scope=scope or None, reason=reason,
                                          since=times["since"], until=times["until"],
                                          detail=detail or None, source=self.source, line=line))


def table(source: Source, collect: Collector):
    """(line, {column: cell}) for each data row of a CSV file with a header;
    a row longer than the header is a problem, a shorter one has its last
    columns empty (optional columns may be left off)."""
    header = source.header
    for line, cells in source.csv_rows[1:]:
        if cells and cells[0].startswith(BROKEN):
            collect.problem(line, f"it is not valid CSV ({cells[0].removeprefix(BROKEN)})")
        elif len(cells) > len(header):
            collect.problem(line, f"it has {len(cells)} fields but the header names only {len(header)}")
        else:
            yield line, {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}


def unread(source: Source, collect: Collector, why: str) -> None:
    """One problem for each non-blank line: the file as a whole could not be read."""
    for number, line in enumerate(source.lines, 1):
        if line.strip():
            collect.problem(number, why)


def _not_an_address(value) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "it has no email address"
    text = str(value)
    return f"{text if len(text) <= 80 else text[:77] + '...'!r} is not an email address"
