"""Rich renderables for the commands: pure functions, no printing.

Addresses, subjects and diagnostics come from the internet: they are shown
as literal text (rich `Text`, never markup) with control characters made
visible, so `[bold]` or an escape sequence in a bounce text does nothing.
"""

from __future__ import annotations

import re
from datetime import datetime

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .fitted_table import FRAME, Column, fitted_table

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

TYPE_STYLES = {
    "sent": "cyan", "delivered": "green", "soft_bounced": "yellow",
    "hard_bounced": "bold red", "opened": "blue", "clicked": "magenta",
    "unsubscribed": "bold magenta", "complained": "bold red",
    "manual_suppressed": "bold red", "released": "green",
}


def safe(value) -> str:
    """A value as printable text: control characters shown as \\xNN."""
    if value is None:
        return ""
    return CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(value))


def literal(value, style: str = "") -> Text:
    return Text(safe(value), style=style)


def local_time(iso: str | None) -> str:
    """UTC ISO -> the viewer's zone with its offset, for terminals."""
    if not iso:
        return ""
    when = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone()
    return when.strftime("%Y-%m-%d %H:%M:%S %z")


NOTED_TYPES = ("manual_suppressed", "released", "unsubscribed")


def _outcome(row: dict) -> Text:
    parts = [p for p in (row.get("bounce_class"), row.get("reason")) if p]
    if row.get("attempts"):
        parts.append(f"{row['attempts']} attempt{'s' if row['attempts'] != 1 else ''}")
    if row.get("machine"):
        parts.append(f"machine: {row['machine']}")
    if row.get("url"):
        parts.append(row["url"])
    if row.get("note") and row["type"] in NOTED_TYPES:  # an operator's why; a one-click POST
        parts.append(f"note: {row['note']}")
    return literal(", ".join(str(p) for p in parts))


def events_table(rows: list[dict], *, title: str | None = None, show_person: bool = True,
                 width: int | None = None) -> Table:
    """The activity table; on a terminal narrower than 120 columns the
    detail column is left out (it is in --json). Narrower still, times lose
    their year, then the box goes, then the outcome: never an address or a
    campaign's name split across lines."""
    show_detail = width is None or width >= 120
    when = local_time if show_detail else _second
    if title and not show_detail:
        title = f"{title} ({_zone_note()})"
    columns = [
        Column("time", "time", [literal(when(r["ts"])) for r in rows],
               short=[literal(when(r["ts"])[5:]) for r in rows]),
        Column("event", "event", [literal(r["type"], TYPE_STYLES.get(r["type"], "")) for r in rows],
               options={"min_width": 12}),
        *([Column("person", "person", [literal(r["person"]) for r in rows])] if show_person else []),
        Column("campaign", "campaign", [literal(r.get("campaign")) for r in rows], options={"min_width": 8}),
        Column("outcome", "outcome", [_outcome(r) for r in rows], whole=False, min_width=10),
        # one line each: the whole text is in --json / --format jsonl
        *([Column("detail", "detail", [literal(r.get("detail")) for r in rows],
                  options={"overflow": "ellipsis", "max_width": 60})] if show_detail else []),
    ]
    return fitted_table(columns, width=width, give_way=("detail", "time", FRAME, "outcome"),
                        title=literal(title) if title else None, title_justify="left", show_lines=False,
                        expand=False)


def ingest_summary(data: dict) -> Group:
    """The summary `ingest` prints: lines, events by kind, skipped, rejected."""
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("files read", str(data["files_read"]))
    if data.get("journal") is not None:
        table.add_row("journal entries read", str(data["journal"]["entries"]))
    table.add_row("lines read", str(data["lines_read"]))
    by_format = data.get("lines_by_format", {})
    if len(by_format) > 1:  # a file of several programs, or files of several formats
        for fmt, count in by_format.items():
            table.add_row(Text(f"  {fmt}", style="dim"), str(count))
    for kind, count in data["events_added"].items():
        table.add_row(Text(f"  {kind}", style=TYPE_STYLES.get(kind, "")), str(count))
    table.add_row("new events", str(data["events_added_total"]))
    if data["soft_bounce_attempts_merged"]:
        table.add_row("later attempts of a soft bounce", str(data["soft_bounce_attempts_merged"]))
    table.add_row("already known", str(data["events_already_known"]))
    if data.get("resolver_failures_demoted"):
        table.add_row("\"no such domain\" taken as our resolver failing", str(data["resolver_failures_demoted"]))
    table.add_row("lines skipped", str(data["lines_skipped"]))
    table.add_row("lines rejected", str(data["lines_rejected"]))
    if data["notices_skipped"]:
        table.add_row("own bounce notices skipped", str(data["notices_skipped"]))
    table.add_row("messages still open", str(data["open_messages"]))
    for item in data.get("reread", ()):
        table.add_row(Text(f"read again: {safe(item['file'])}"), f"{item['events_removed']} events removed first")
    for item in data.get("rotated_files_finished", ()):
        table.add_row(Text(f"finished rotated {safe(item['file'])}"), "")
    parts = [table]
    for path in data.get("waiting_for_newline", ()):
        parts.append(Text(f"{safe(path)}: its last line has no newline yet; it is read when it has one",
                          style="dim"))
    if data["lines_rejected"]:
        parts.append(Text("see them with: emaillog rejects", style="dim"))
    return Group(*parts)


def rejects_table(rows: list[dict], total: int | None = None) -> Table:
    shown = len(rows)
    title = f"{shown} rejected line(s)" if total in (None, shown) else f"{shown} of {total} rejected line(s)"
    table = Table(title=Text(title), title_justify="left")
    for name in ("file", "line", "why", "text"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(literal(row["file"]), literal(row["line_no"]), literal(row["why"]),
                      literal(row["text"]))
    return table


def _until(value: str | None) -> str:
    return f"until {local_time(value)}" if value else "until released"


def _second(iso: str | None) -> str:
    """The viewer's zone to the second, without the offset (it is in the title)."""
    return local_time(iso)[:19]


def short_time(iso: str | None) -> str:
    """UTC ISO -> the viewer's zone to the minute, for narrow tables."""
    return local_time(iso)[:16]


def _zone_note() -> str:
    return "times " + datetime.now().astimezone().strftime("%z")


def suppressions_table(items: list, *, title: str, width: int | None = None) -> Table:
    """Times to the minute; below 120 columns no event id or detail (both
    are in --json). Narrower still, `since` is the date only, then left out,
    then the reason: never an address or a campaign's name split."""
    wide = width is None or width >= 120
    columns = [
        Column("person", "person", [literal(s.person) for s in items], options={"min_width": 16}),
        Column("scope", "scope", [literal(s.scope or "all campaigns") for s in items]),
        Column("reason", "reason", [literal(s.reason, "bold red") for s in items]),
        Column("since", "since", [literal(short_time(s.since)) for s in items],
               short=[literal(short_time(s.since)[:10]) for s in items]),
        Column("until", "until", [literal(short_time(s.until) if s.until else "until released") for s in items]),
    ]
    if wide:
        columns += [Column("event", "event", [literal(s.event_id) for s in items]),
                    # one line each: the whole text is in --json
                    Column("detail", "detail", [literal(s.detail) for s in items],
                           options={"overflow": "ellipsis", "max_width": 40})]
    return fitted_table(columns, width=width, give_way=("detail", "event", FRAME, "since", "since", "reason"),
                        title=literal(f"{title} ({_zone_note()})"), title_justify="left",
                        box=box.HEAVY_HEAD if wide else None, pad_edge=wide, show_edge=wide)


def _day_minute(iso: str | None) -> str:
    return short_time(iso)[5:]


def retries_table(items: list, *, title: str, width: int | None = None) -> Table:
    """Below 140 columns: no message id or last attempt (both in --json),
    times as month-day hour:minute (a retry window is a day or two).
    Narrower still, `since`, the reason and the attempts give way: never an
    address or a campaign's name split."""
    wide = width is None or width >= 140
    when = short_time if wide else _day_minute
    cells = {
        "person": [literal(r.person) for r in items],
        "campaign": [literal(r.campaign) for r in items],
        "message": [literal(r.message_id or r.queue_id) for r in items],
        "first soft bounce": [literal(when(r.first_soft_bounce)) for r in items],
        "attempts": [literal(r.attempts) for r in items],
        "last attempt": [literal(when(r.last_attempt)) for r in items],
        "last reason": [literal(r.last_reason) for r in items],
        "window closes": [literal(when(r.window_closes)) for r in items],
        "status": [literal(r.status, "yellow" if r.status == "pending" else "dim") for r in items],
    }
    if wide:
        names = list(cells)
        headers: dict[str, str] = {}
        give_way = ("message", "last attempt", FRAME, "first soft bounce", "last reason", "attempts")
    else:
        names = ["person", "campaign", "first soft bounce", "attempts", "last reason", "window closes", "status"]
        headers = {"first soft bounce": "since", "attempts": "tries", "last reason": "reason",
                   "window closes": "closes"}
        give_way = ("first soft bounce", "last reason", "attempts")
    columns = [Column(n, headers.get(n, n), cells[n], whole=n != "message", min_width=20) for n in names]
    return fitted_table(columns, width=width, give_way=give_way,
                        title=literal(f"{title} ({_zone_note()})"), title_justify="left",
                        box=box.HEAVY_HEAD if wide else None, pad_edge=wide, show_edge=wide)


def person_status(address: str, suppressions: list, retries: list) -> Text:
    """The lines `person` prints above the history: may we mail them?"""
    text = Text()
    if not suppressions:
        text.append("Not suppressed", style="bold green")
        text.append(": any campaign may mail ")
        text.append(safe(address))
        text.append(".\n")
    for s in suppressions:
        text.append("Suppressed", style="bold red")
        text.append(f" for {'every campaign' if s.scope is None else 'campaign ' + safe(s.scope)}"
                    f": {s.reason} since {local_time(s.since)}, {_until(s.until)}.\n")
    for r in retries:
        text.append("Pending retry", style="yellow")
        text.append(f": {safe(r.campaign) or 'no campaign'} message {safe(r.message_id or r.queue_id)}, "
                    f"{r.attempts} attempt(s), last reason {safe(r.last_reason)}, "
                    f"window closes {local_time(r.window_closes)}.\n")
    return text
