"""Our own suppression list, as `emaillog suppressed --format csv` writes it:
the columns of emaillog/state.py Suppression, scope "*" for every campaign."""

from __future__ import annotations

from .reading import Collector, table, unread
from .records import ALL_CAMPAIGNS, REASONS
from .source import Source

NAME = "emaillog"
TITLE = "emaillog"
COLUMNS = ["person", "scope", "reason", "since", "until", "event_id", "detail"]
NEEDED = {"person", "scope", "reason", "since"}


def sniff(source: Source) -> bool:
    return not source.first_line.startswith(("{", "[")) and NEEDED <= set(source.header)


def read(source: Source, collect: Collector) -> None:
    if not sniff(source):
        unread(source, collect, f"not read: the header is not emaillog's ({','.join(COLUMNS)})")
        return
    for line, row in table(source, collect):
        if row["reason"] not in REASONS:
            collect.problem(line, f"the reason {row['reason']!r} is not one of ours ({', '.join(REASONS)})")
        elif not row["since"]:
            collect.problem(line, "it has no since time")
        else:
            scope = row["scope"]
            collect.add(line, row["person"], row["reason"], scope=None if scope in ("", ALL_CAMPAIGNS) else scope,
                        since=row["since"], until=row.get("until"), detail=row.get("detail"))
