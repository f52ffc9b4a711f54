"""The command line. Thin commands; the only place that prints errors and
picks exit codes (0 ok, 1 not sendable or runtime error, 2 usage error,
3 `check` cannot answer, 75 another ingest holds the lock)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from .cli_help import ReadableHelpCommand

app = typer.Typer(
    add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Turn raw mail-server logs into per-person email activity: sends, deliveries, "
         "bounces, suppression and retries. Data lives in one SQLite file, or one PostgreSQL database for many servers.",
)

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_CANNOT_ANSWER, EXIT_LOCKED = 0, 1, 2, 3, 75
SQLITE_MAX_INT = 2**63 - 1  # the largest LIMIT SQLite takes


class Fatal(Exception):
    """An error to print as one sentence, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_FAIL):
        super().__init__(message)
        self.code = code


class CannotAnswer(Exception):
    """`check` could not read the state (its cause says why): exit 3, never
    1, so that a sending script tells "do not send" from "could not ask"."""

    def __init__(self, address: str):
        super().__init__(address)
        self.address = address


class ListFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


@dataclass
class Globals:
    db: Optional[str]
    config_path: Optional[Path]
    opened: list = field(default_factory=list)

    @property
    def db_path(self) -> Path | str:
        """The database: a file's Path, or a postgresql:// URL."""
        from .store import db_target, default_db_path
        return db_target(self.db) if self.db else default_db_path()

    def config(self):
        from .config import load_config
        return load_config(self.config_path)

    def store(self, *, create: bool = False):
        """The store, closed when the command ends (see close)."""
        from .store import Store
        from .progress import migration_progress
        with migration_progress() as progress:
            store = Store(self.db_path, create=create, progress=progress)
        self.opened.append(store)
        return store

    def close(self) -> None:
        """Close the stores the command opened: a PostgreSQL connection
        left open lingers on the server until the process exits."""
        while self.opened:
            self.opened.pop().close()


def _console(stderr: bool = False):
    """Tables print with crop=False: one wider than the terminal (an address
    longer than the room left) is printed whole for the terminal to wrap,
    not cut at its edge."""
    from rich.console import Console
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Optional[str] = typer.Option(None, "--db", metavar="PATH|URL",
                                     help="SQLite database file, or postgresql://... for a shared PostgreSQL one "
                                          "[default: $EMAILLOG_DB, else ~/.local/share/emaillog/emaillog.db]"),
    config: Optional[Path] = typer.Option(None, "--config", metavar="FILE",
                                          help="TOML settings [default: $EMAILLOG_CONFIG, else ~/.config/emaillog/config.toml]"),
):
    ctx.obj = Globals(db, config)
    ctx.call_on_close(ctx.obj.close)


def _count(value: Optional[int], option: str, *, least: Optional[int] = None) -> Optional[int]:
    """A count option (`--limit`, `--top`) SQLite can take, or a usage error."""
    if value is not None and least is not None and value < least:
        raise Fatal(f"{option} must be at least {least}", EXIT_USAGE)
    if value is not None and value > SQLITE_MAX_INT:
        raise Fatal(f"{option} is too large (at most {SQLITE_MAX_INT})", EXIT_USAGE)
    return value


def _when(text: Optional[str], tz_name: Optional[str] = None):
    """A user-given time to an ISO string in UTC, or None."""
    if text is None:
        return None
    from .events import iso
    from .timestamps import parse_when, zone
    return iso(parse_when(text, tz=zone(tz_name)))


# -- ingest -----------------------------------------------------------------

@app.command(cls=ReadableHelpCommand)
def ingest(
    ctx: typer.Context,
    paths: Optional[list[str]] = typer.Argument(None, metavar="PATH...", help="Log files, directories (read recursively) or - for standard input. Plain or gzip."),
    format: str = typer.Option("auto", "--format", "-f", metavar="FORMAT", help="Input format, or auto to detect it per file (see `emaillog formats`)."),
    year: Optional[int] = typer.Option(None, "--year", metavar="YEAR", help="Year of year-less syslog stamps [default: from each file's modification time]."),
    tz: Optional[str] = typer.Option(None, "--tz", metavar="ZONE", help="Zone of zone-less stamps, e.g. Europe/Berlin or UTC [default: this machine's]."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing unless something is wrong (for cron)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as one JSON document."),
    strict: bool = typer.Option(False, "--strict", help="Exit 1 when any line was rejected, or any file or directory skipped."),
    wait: float = typer.Option(60.0, "--wait", metavar="SECONDS", help="How long to wait for another ingest of the same database to finish."),
    reread: Optional[list[str]] = typer.Option(None, "--reread", metavar="FILE", help="Remove what FILE produced and read it again from the start (after a wrong --year or --tz). Repeatable."),
    journal: bool = typer.Option(False, "--journal", help="Also read the systemd journal (journalctl -o json), from the entry after the last one read; the first run reads all it holds."),
    journal_unit: Optional[list[str]] = typer.Option(None, "--journal-unit", metavar="UNIT", help="With --journal: only this unit's entries (journalctl --unit), e.g. 'postfix@*'. Repeatable."),
    journal_file: Optional[list[str]] = typer.Option(None, "--journal-file", metavar="FILE", help="With --journal: read this journal file instead of the system journal (journalctl --file). Repeatable."),
):
    """Read mail logs, classify what happened, store the events.

    Idempotent: each file's position is remembered (across renames and
    gzip), and an event already stored is never stored twice. When the file
    at a path was rotated since the last run, the rest of the rotated file
    (mail.log.1, mail.log.1.gz, mail.log-DATE) is read first, so cron can
    name one path. Prints what it read: lines, new events by type, skipped
    and rejected lines.

    --journal reads the systemd journal through journalctl and remembers
    the cursor of the last entry it stored, so each run reads only new
    entries. `journalctl -o json` output saved to a file, or piped to -, is
    detected like any log.
    """
    from . import formats
    from .ingest import Ingest, Options
    from .lock import IngestLock
    from .timestamps import YEARS, zone

    g: Globals = ctx.obj
    if format != "auto" and format not in formats.FORMATS:
        raise Fatal(f"unknown format {format!r}; known: auto, {', '.join(formats.FORMATS)}", EXIT_USAGE)
    if year is not None and year not in YEARS:
        raise Fatal(f"--year takes a year of four digits, such as 2026 (not {year})", EXIT_USAGE)
    reread = list(reread or [])
    paths = [*(paths or []), *(p for p in reread if p not in (paths or []))]
    if (journal_unit or journal_file) and not journal:
        raise Fatal(f"{'--journal-unit' if journal_unit else '--journal-file'} goes with --journal", EXIT_USAGE)
    if not paths and not journal:
        raise Fatal("name the logs to read (PATH...), --journal, or a file to read again with --reread FILE",
                    EXIT_USAGE)
    from .ingest.journal import Journal
    options = Options(format=format, year=year, tz=zone(tz), reread=tuple(reread),
                      journal=Journal(tuple(journal_file or ()), tuple(journal_unit or ())) if journal else None)
    config = g.config()
    show_progress = not quiet and not json_out and sys.stderr.isatty()
    with IngestLock(g.db_path, wait):
        store = g.store(create=True)
        try:
            store.sync_views(config)
            if show_progress:
                from .progress import IngestProgress
                with IngestProgress(paths) as progress:
                    summary = Ingest(store, config, options, progress=progress).run(paths)
            else:
                summary = Ingest(store, config, options).run(paths)
        finally:
            store.close()
    data = summary.to_json()
    err = _console(stderr=True) if summary.problems or (quiet and summary.rejected) else None
    for problem in summary.problems:
        err.print(f"emaillog: {'error' if problem['fatal'] else 'warning'}: ", end="", style="bold red" if problem["fatal"] else "yellow")
        err.out(problem["message"], highlight=False)
    if json_out:
        from .output import write_json
        write_json(data)
    elif not quiet:
        from .reports import ingest_summary
        _console().print(ingest_summary(data))
    elif summary.rejected:
        err.out(f"emaillog: {summary.rejected} line(s) rejected; see `emaillog rejects`", highlight=False)
    if summary.failed or (strict and (summary.rejected or summary.problems)):
        raise typer.Exit(EXIT_FAIL)


# -- reading ----------------------------------------------------------------

EVENT_COLUMNS = [
    "id", "ts", "type", "person", "campaign", "email", "message_id", "queue_id",
    "source_format", "host", "bounce_class", "reason", "smtp_code", "dsn", "detail",
    "url", "source", "attempts", "last_attempt", "machine", "note", "actor",
]


@app.command(cls=ReadableHelpCommand)
def events(
    ctx: typer.Context,
    person: Optional[str] = typer.Option(None, "--person", metavar="EMAIL", help="Only this address (case-insensitive)."),
    campaign: Optional[str] = typer.Option(None, "--campaign", metavar="CAMPAIGN", help="Only this campaign."),
    type_: Optional[list[str]] = typer.Option(None, "--type", metavar="TYPE", help="Only these event types (repeatable): sent, delivered, hard_bounced, soft_bounced, opened, clicked, unsubscribed, complained."),
    since: Optional[str] = typer.Option(None, "--since", metavar="TIME", help="From this time on (ISO 8601, or -2d)."),
    until: Optional[str] = typer.Option(None, "--until", metavar="TIME", help="Before this time."),
    limit: Optional[int] = typer.Option(None, "--limit", metavar="N", help="At most this many events [default: a screenful in a table, all otherwise]."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", metavar="FORMAT", help="Output format: table, json, jsonl or csv."),
    json_out: bool = typer.Option(False, "--json", help="Same as --format json."),
):
    """The raw event stream, oldest first, with filters."""
    from .events import EVENT_TYPES
    for t in type_ or []:
        if t not in EVENT_TYPES:
            raise Fatal(f"unknown event type {t!r}; known: {', '.join(EVENT_TYPES)}", EXIT_USAGE)
    since, until, limit = _when(since), _when(until), _count(limit, "--limit")
    store = ctx.obj.store()
    filters = dict(person=person, campaign=campaign, types=type_, since=since, until=until)
    fmt = ListFormat.json if json_out else fmt
    if fmt is ListFormat.table:
        from .reports import events_table
        con = _console()
        shown = limit or _screenful(con)
        rows = list(store.reader.events(**filters, limit=shown))
        total = len(rows) if len(rows) < shown else store.reader.count(**filters)
        con.print(events_table(rows, title=f"{_counted(len(rows), total, 'event(s)')}", width=con.width),
                  crop=False)
        _more(con, len(rows), total if limit is None else len(rows), "events")
    else:
        from .output import write_rows
        write_rows(store.reader.events(**filters, limit=limit), fmt.value, EVENT_COLUMNS)


def _screenful(con) -> int:
    """Rows a table shows by default: a screen's worth on a terminal."""
    if con.is_terminal:
        return max(10, con.height - 6)
    return 50


def _counted(shown: int, total: int, noun: str) -> str:
    return f"{shown} {noun}" if shown == total else f"{shown} of {total} {noun}"


def _more(con, shown: int, total: int, command: str) -> None:
    if total > shown:
        limit = f"--limit {total} or " if command in ("events", "rejects") else ""
        con.print(f"{total - shown} more; see them with {limit}--format jsonl or csv "
                  f"(emaillog {command} --format csv > {command}.csv)", markup=False, highlight=False)


@app.command(cls=ReadableHelpCommand)
def person(
    ctx: typer.Context,
    email: str = typer.Argument(..., metavar="EMAIL", help="The person's address (case-insensitive)."),
    at: Optional[str] = typer.Option(None, "--at", metavar="TIME", help="Evaluate status at this time [default: now]."),
    json_out: bool = typer.Option(False, "--json", help="One JSON document."),
):
    """A person's status (suppressed? pending retries?) and activity log, newest first."""
    from .events import person_of
    from .state import StateQueries
    g: Globals = ctx.obj
    store = g.store()
    address = person_of(email)
    at_iso = _at(at)
    queries = StateQueries(store, g.config())
    sups = queries.suppressions(at_iso, person=address)
    pending = queries.retries(at_iso, person=address)
    rows = store.events(person=address, through=at_iso, newest_first=True)
    erasures = queries.erasures(address) if address else []
    if json_out:
        from .output import write_json
        write_json({"person": address, "at": at_iso, "suppressed": bool(sups),
                    "forgotten": erasures[-1]["at"] if erasures else None,
                    "suppressions": [s.to_json() for s in sups],
                    "pending_retries": [r.to_json() for r in pending],
                    "events": [{c: r.get(c) for c in EVENT_COLUMNS} for r in rows]})
        return
    from .reports import events_table, person_status
    con = _console()
    if erasures:
        from .reports import local_time
        con.print(f"Forgotten on {local_time(erasures[-1]['at'])} (emaillog forget): its events were erased; "
                  "only a keyed hash of the address is kept, with the suppressions then in force.",
                  markup=False, highlight=False)
    con.print(person_status(address, sups, pending))
    if not rows:
        from .reports import safe
        con.print(f"No events for {safe(address)}.", markup=False)
        return
    con.print(events_table(rows, title=f"{address}: {len(rows)} event(s), newest first", show_person=False,
                           width=con.width), crop=False)
    from .charts import activity_chart
    from .stats import Filters, activity
    bucket, items = activity(store, Filters(until=at_iso if at else None), "auto", person=address)
    if items:
        con.print(activity_chart(items[-30:], bucket=bucket, width=min(60, max(10, con.width - 58)),
                                 title=f"Activity per {bucket}"))


def _at(text: Optional[str]) -> str:
    """`--at` as UTC ISO, default now."""
    from datetime import datetime, timezone

    from .events import iso
    return _when(text) if text else iso(datetime.now(timezone.utc))


@app.command(cls=ReadableHelpCommand)
def suppressed(
    ctx: typer.Context,
    at: Optional[str] = typer.Option(None, "--at", metavar="TIME", help="Evaluate at this time [default: now]."),
    campaign: Optional[str] = typer.Option(None, "--campaign", metavar="CAMPAIGN", help="Only suppressions that stop this campaign (all-campaign ones included)."),
    reason: Optional[str] = typer.Option(None, "--reason", metavar="REASON", help="Only this reason: hard_bounce, spam_block, unsubscribed, complained, manual."),
    person: Optional[str] = typer.Option(None, "--person", metavar="EMAIL", help="Only this address."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", metavar="FORMAT", help="Output format: table, json, jsonl or csv."),
    json_out: bool = typer.Option(False, "--json", help="Same as --format json."),
    for_: Optional[str] = typer.Option(None, "--for", metavar="PROVIDER", help="Write the file this provider imports instead: ses, sendgrid, mailgun or postmark (see docs/exchange.md)."),
    layout: Optional[str] = typer.Option(None, "--layout", metavar="LAYOUT", help="With --for: ses csv or jsonl, sendgrid global or csv [default: the first]."),
    output: Optional[Path] = typer.Option(None, "--output", metavar="DIR", help="With --for: write the file(s) into this folder [default: standard output, when it is one file]."),
):
    """Who must not be mailed now (or --at), with scope, reason, since and until.

    Forgotten people (emaillog forget) are counted, not listed: only a keyed
    hash of their address is kept. With --for, writes the provider's own
    suppression file instead; what that provider cannot take (spam blocks,
    one-campaign suppressions) is named on standard error.
    """
    from .events import person_of
    from .state import REASONS, StateQueries, Suppression, columns
    if reason and reason not in REASONS:
        raise Fatal(f"unknown reason {reason!r}; known: {', '.join(REASONS)}", EXIT_USAGE)
    if for_ is None and (layout or output):
        raise Fatal("--layout and --output go with --for PROVIDER", EXIT_USAGE)
    if for_ is not None and (json_out or fmt is not ListFormat.table):
        raise Fatal("--for writes the provider's own file; --format and --json do not apply", EXIT_USAGE)
    g: Globals = ctx.obj
    at_iso = _at(at)
    address = person_of(person)
    queries = StateQueries(g.store(), g.config())
    fmt = ListFormat.json if json_out else fmt
    con = _console() if fmt is ListFormat.table and for_ is None else None
    rows = None  # the export's rows straight from the database, in place of items
    if con is not None and address is None:  # a screenful of what may be hundreds of thousands
        items, total = queries.suppressions_page(at_iso, _screenful(con), campaign=campaign, reason=reason)
    elif address is None and for_ is None and fmt is not ListFormat.table:  # streamed: every row, constant memory
        rows = queries.suppression_rows(at_iso, campaign=campaign, reason=reason)
        items = total = None
    else:
        items = queries.suppressions(at_iso, person=address)
        items = [s for s in items if s.matches(campaign, reason)]
        total = len(items)
    forgotten = 0 if address else queries.forgotten_people(at_iso, campaign=campaign, reason=reason)
    if for_ is not None:
        _export_suppressions(for_, layout, output, items, forgotten)
        return
    note = (f"and {forgotten} forgotten {'person' if forgotten == 1 else 'people'} suppressed, not listed: only a "
            "keyed hash of each address is kept (emaillog check EMAIL answers for one)") if forgotten else None
    if fmt is ListFormat.table:
        from .reports import suppressions_table
        shown = items[:_screenful(con)]
        con.print(suppressions_table(shown, title=f"{_counted(len(shown), total, 'suppression(s)')} at {at_iso}",
                                     width=con.width), crop=False)
        _more(con, len(shown), total, "suppressed")
        if note:
            con.print(note, markup=False, highlight=False)
        return
    from .output import write_rows
    write_rows(rows if rows is not None else (s.as_row() for s in items), fmt.value,
               columns(Suppression), wrapper={"at": at_iso, "forgotten_people": forgotten}, tuples=True)
    if note and fmt is not ListFormat.json:
        print(f"emaillog: {note}", file=sys.stderr)


def _export_suppressions(provider: str, layout: Optional[str], output: Optional[Path], items, forgotten: int) -> None:
    """`suppressed --for`: the files to stdout (one) or into a folder; what
    was left out, and why, on stderr."""
    from .exchange import PROVIDERS, export_for
    from .reports import safe
    if provider not in PROVIDERS:
        raise Fatal(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}", EXIT_USAGE)
    module = PROVIDERS[provider]
    if layout is not None and layout not in module.LAYOUTS:
        raise Fatal(f"{provider} has no layout {layout!r}; it has {', '.join(module.LAYOUTS)}", EXIT_USAGE)
    result = export_for(provider, [s.to_json() for s in items], layout=layout)
    if output is None and len(result.files) > 1:
        raise Fatal(f"{module.TITLE} takes {len(result.files)} files here ({', '.join(result.files)}); "
                    "pass --output DIR to write them", EXIT_USAGE)
    notes = []
    if output is None:
        _write_machine(next(iter(result.files.values())))
    else:
        from .metrics import write_textfile
        output.mkdir(parents=True, exist_ok=True, mode=0o700)
        for name, text in result.files.items():
            write_textfile(output / name, text, mode=0o600)  # addresses: readable by the owner only
            print(f"wrote {safe(output / name)}")
    notes.append(f"{len(result.exported)} of {len(items)} suppression(s) exported for {module.TITLE}")
    reasons = {}
    for skipped in result.skipped:
        reasons.setdefault(skipped.why, []).append(skipped.entry)
    for why, entries in reasons.items():
        notes.append(f"skipped {len(entries)}: {safe(why)}: " + ", ".join(
            safe(e.address) + (f" ({safe(e.scope)})" if e.scope else "") for e in entries[:5])
            + (f" and {len(entries) - 5} more" if len(entries) > 5 else ""))
    if result.outlasting:
        notes.append(f"{len(result.outlasting)} exported suppression(s) end (--until) but {module.TITLE}'s list "
                     "does not: remove them there when they end: "
                     + ", ".join(f"{safe(e.address)} (until {e.until})" for e in result.outlasting[:5])
                     + (f" and {len(result.outlasting) - 5} more" if len(result.outlasting) > 5 else ""))
    if forgotten:
        notes.append(f"{forgotten} forgotten {'person is' if forgotten == 1 else 'people are'} not in the file: "
                     "only a keyed hash of the address is kept")
    for line in notes:
        print(f"emaillog: {line}", file=sys.stderr)


def _write_machine(text: str) -> None:
    """A machine format to standard output: exact in a pipe or file; on a
    terminal, control characters from the logs are shown as \\xNN."""
    if sys.stdout.isatty():
        from .reports import CONTROL
        text = CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    sys.stdout.write(text)


@app.command("retries", cls=ReadableHelpCommand)
def list_retries(
    ctx: typer.Context,
    at: Optional[str] = typer.Option(None, "--at", metavar="TIME", help="Evaluate at this time [default: now]."),
    include_given_up: bool = typer.Option(False, "--include-given-up", help="Also list sends whose retry window closed undelivered."),
    person: Optional[str] = typer.Option(None, "--person", metavar="EMAIL", help="Only this address."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", metavar="FORMAT", help="Output format: table, json, jsonl or csv."),
    json_out: bool = typer.Option(False, "--json", help="Same as --format json."),
):
    """Soft-bounced sends still being retried, soonest window close first."""
    from .events import person_of
    from .state import Retry, StateQueries, columns
    g: Globals = ctx.obj
    at_iso = _at(at)
    queries = StateQueries(g.store(), g.config())
    fmt = ListFormat.json if json_out else fmt
    if fmt is ListFormat.table:
        items = queries.retries(at_iso, person=person_of(person), include_given_up=include_given_up)
        from .reports import retries_table
        con = _console()
        shown = items[:_screenful(con)]
        noun = "retry" if len(items) == 1 else "retries"
        con.print(retries_table(shown, title=f"{_counted(len(shown), len(items), noun)} at {at_iso}", width=con.width),
                  crop=False)
        _more(con, len(shown), len(items), "retries")
        return
    from .output import write_rows
    items = queries.ordered_retries(at_iso, person=person_of(person), include_given_up=include_given_up)
    write_rows((r.as_row() for r in items), fmt.value, columns(Retry), wrapper={"at": at_iso}, tuples=True)


class Bucket(str, Enum):
    auto = "auto"
    day = "day"
    hour = "hour"


@app.command(cls=ReadableHelpCommand)
def stats(
    ctx: typer.Context,
    campaign: Optional[str] = typer.Option(None, "--campaign", metavar="CAMPAIGN", help="Only this campaign."),
    since: Optional[str] = typer.Option(None, "--since", metavar="TIME", help="Events from this time on (ISO 8601, or -7d)."),
    until: Optional[str] = typer.Option(None, "--until", metavar="TIME", help="Events before this time."),
    at: Optional[str] = typer.Option(None, "--at", metavar="TIME", help="Judge retries given up at this time [default: now]."),
    by: Bucket = typer.Option(Bucket.auto, "--by", metavar="PERIOD", help="Activity per day, hour, or auto: per hour when it all fits in two days."),
    top: int = typer.Option(10, "--top", metavar="N", help="How many bounce reasons and domains to list (at least 1)."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", metavar="FORMAT", help="Output format: table, json, jsonl or csv (jsonl and csv: one row per campaign)."),
    json_out: bool = typer.Option(False, "--json", help="Same as --format json."),
):
    """Per-campaign funnel and rates: sent, delivered, bounces by class, opens, clicks, unsubscribes.

    Also the top bounce reasons, the top receiving domains with their
    failure rates, and a chart of activity per day (or hour).
    """
    from .stats import CSV_COLUMNS, Filters, campaign_stats
    g: Globals = ctx.obj
    filters = Filters(campaign=campaign, since=_when(since), until=_when(until))
    at_iso, top = _at(at), _count(top, "--top", least=1)
    result = campaign_stats(g.store(), g.config(), at_iso, filters, top=top, bucket=by.value)
    fmt = ListFormat.json if json_out else fmt
    if fmt is ListFormat.table:
        from .fitted_table import FittedTable
        from .stats_tables import stats_view
        con = _console()
        for part in stats_view(result, con.width).renderables:  # the chart is cut at the edge, as before
            con.print(part, crop=not isinstance(part, FittedTable))
    elif fmt is ListFormat.json:
        from .output import write_json
        write_json(result.to_json())
    else:
        from .output import write_rows
        write_rows(result.campaigns, fmt.value, list(CSV_COLUMNS))


@app.command(cls=ReadableHelpCommand)
def report(
    ctx: typer.Context,
    html: Path = typer.Option(..., "--html", metavar="FILE", help="Where to write the report (one self-contained HTML file)."),
    campaign: Optional[str] = typer.Option(None, "--campaign", metavar="CAMPAIGN", help="Only this campaign."),
    since: Optional[str] = typer.Option(None, "--since", metavar="TIME", help="Events from this time on (ISO 8601, or -30d)."),
    until: Optional[str] = typer.Option(None, "--until", metavar="TIME", help="Events before this time."),
    at: Optional[str] = typer.Option(None, "--at", metavar="TIME", help="Suppressions and retries as of this time [default: now]."),
    title: str = typer.Option("Email activity report", "--title", metavar="TEXT", help="The report's heading."),
):
    """Write an HTML report: funnel, daily chart, bounce reasons, suppressions.

    The file needs no network to view: styles and charts (SVG) are inline.
    """
    from .html_report import write_report
    from .stats import Filters
    g: Globals = ctx.obj
    filters = Filters(campaign=campaign, since=_when(since), until=_when(until))
    size = write_report(html, g.store(), g.config(), _at(at), filters, title=title)
    print(f"wrote {html} ({size // 1024 + 1} KB)")


@app.command(cls=ReadableHelpCommand)
def check(
    ctx: typer.Context,
    email: str = typer.Argument(..., metavar="EMAIL", help="The address to be mailed."),
    campaign: Optional[str] = typer.Option(None, "--campaign", metavar="CAMPAIGN", help="The campaign that wants to mail (spam blocks are per campaign)."),
    at: Optional[str] = typer.Option(None, "--at", metavar="TIME", help="Evaluate at this time [default: now]."),
    json_out: bool = typer.Option(False, "--json", help="One JSON document."),
):
    """May this campaign mail this person now? Exit 0 yes, 1 no (and says why).

    Exit 3 when it cannot answer (no database, or one that is unreadable,
    damaged, locked or unsafe, or a bad config): a sending script should
    then not send, and tell someone. Exit 2 for a usage error.
    """
    from .events import person_of
    from .reports import local_time, safe
    from .state import StateQueries
    g: Globals = ctx.obj
    address = person_of(email)
    if not address or "@" not in address:
        raise Fatal(f"{email!r} is not an email address", EXIT_USAGE)
    at_iso = _at(at)
    try:
        blocks = StateQueries(g.store(), g.config()).check(address, campaign, at_iso)
    except Exception as exc:  # noqa: BLE001 - whatever it was, there is no answer
        raise CannotAnswer(address) from exc
    if json_out:
        from .output import write_json
        write_json({"person": address, "campaign": campaign, "at": at_iso, "sendable": not blocks,
                    "suppressions": [s.to_json() for s in blocks]})
    elif not blocks:
        print(f"ok: {safe(address)} may be mailed{' by campaign ' + safe(campaign) if campaign else ''}")
    else:
        s = blocks[0]
        until = f"until {local_time(s.until)}" if s.until else "until released"
        scope = "every campaign" if s.scope is None else f"campaign {safe(s.scope)}"
        forgotten = "; the address was forgotten, its hash kept" if s.event_id is None else ""
        print(f"no: {safe(address)} is suppressed for {scope} ({s.reason}, since {local_time(s.since)}, {until}"
              f"{forgotten})")
    if blocks:
        raise typer.Exit(EXIT_FAIL)


def _actor() -> str:
    import getpass
    import socket
    try:
        return f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # noqa: BLE001 - no user name is not a reason to refuse
        return "unknown"


def _operator_event(ctx, kind: str, email: str, campaign, note, until=None) -> None:
    import uuid
    from datetime import datetime, timezone

    from .events import Event, person_of
    address = person_of(email)
    if not address or "@" not in address:
        raise Fatal(f"{email!r} is not an email address", EXIT_USAGE)
    now = datetime.now(timezone.utc)
    until_dt = None
    if until:
        from .timestamps import parse_when
        until_dt = parse_when(until)
    event = Event(ts=now, type=kind, person=address, key=f"{kind}|{address}|{uuid.uuid4()}",
                  campaign=campaign, scope=campaign, note=note, actor=_actor(), until=until_dt,
                  source_format="operator", source="emaillog " + kind.replace("manual_", ""))
    store = ctx.obj.store(create=True)
    event_id = store.add_event(event, ctx.obj.config())
    scope = f"campaign {campaign}" if campaign else "every campaign"
    lifted = f" (and lifted {store.lifted} kept from when the address was forgotten)" if store.lifted else ""
    print(f"recorded event {event_id}: {kind} {address} for {scope}{lifted}")


@app.command(cls=ReadableHelpCommand)
def suppress(
    ctx: typer.Context,
    email: Optional[str] = typer.Argument(None, metavar="EMAIL", help="The address not to mail (or --import FILE)."),
    campaign: Optional[str] = typer.Option(None, "--campaign", metavar="CAMPAIGN", help="Only for this campaign [default: every campaign]."),
    until: Optional[str] = typer.Option(None, "--until", metavar="TIME", help="When it ends (ISO 8601 or +30d) [default: until released]."),
    note: Optional[str] = typer.Option(None, "--note", metavar="TEXT", help="Why (kept with the record); required with EMAIL."),
    import_: Optional[str] = typer.Option(None, "--import", metavar="FILE", help="Record every address of a suppression list instead: an export of SES, SendGrid, Mailgun or Postmark, or our own suppressed --format csv (- for standard input)."),
    from_: Optional[str] = typer.Option(None, "--from", metavar="PROVIDER", help="With --import: read the file as this provider's (ses, sendgrid, mailgun, postmark, emaillog) [default: detected from its header]."),
    json_out: bool = typer.Option(False, "--json", help="With --import: print the summary, and each line not read, as one JSON document."),
):
    """Suppress a person by hand; recorded as an event with who and why.

    With --import FILE, every address of a provider's suppression list is
    recorded as a manual suppression, in one transaction, with the
    provider's reason in its note; importing the same file again adds
    nothing. Lines that cannot be read are counted and listed.
    """
    if import_ is not None:
        if email is not None or campaign is not None or until is not None or note is not None:
            raise Fatal("--import takes no EMAIL, --campaign, --until or --note: each record has its own "
                        "scope, end and reason", EXIT_USAGE)
        _import_suppressions(ctx, import_, from_, json_out)
        return
    if from_ is not None or json_out:
        raise Fatal("--from and --json go with --import FILE", EXIT_USAGE)
    if email is None:
        raise Fatal("name the address to suppress (EMAIL), or --import FILE", EXIT_USAGE)
    if not note:
        raise Fatal("say why with --note TEXT: it is kept with the record", EXIT_USAGE)
    _operator_event(ctx, "manual_suppressed", email, campaign, note, until)


def _import_suppressions(ctx, path: str, provider: Optional[str], json_out: bool) -> None:
    from datetime import datetime, timezone

    from .exchange import READERS, read_export
    from .reports import safe
    from .store.imports import record_imports
    if provider is not None and provider not in READERS:
        raise Fatal(f"unknown provider {provider!r}; known: {', '.join(READERS)}", EXIT_USAGE)
    if path == "-":
        data, name = sys.stdin.buffer.read(), "stdin"
    else:
        with open(path, "rb") as f:
            data = f.read()
        name = os.path.basename(path)
    got = read_export(data, from_=provider)
    g: Globals = ctx.obj
    result = record_imports(g.store(create=True), got.records, file_name=name, actor=_actor(), config=g.config(),
                            now=datetime.now(timezone.utc))
    summary = {"file": path, "provider": got.provider, "records": len(got.records), "added": result.added,
               "already_recorded": result.known, "kept_for_forgotten": result.forgotten,
               "not_read": len(got.problems), "problems": [{"line": p.line, "why": p.why} for p in got.problems]}
    if json_out:
        from .output import write_json
        write_json(summary)
    else:
        for problem in got.problems[:50]:
            why = problem.why.removeprefix("not read: ")
            print(f"emaillog: {safe(name)} line {problem.line} not read: {safe(why)}", file=sys.stderr)
        if len(got.problems) > 50:
            print(f"emaillog: and {len(got.problems) - 50} more line(s) not read (all in --json)", file=sys.stderr)
        forgotten = f", {result.forgotten} of them kept under a forgotten person's hash" if result.forgotten else ""
        print(f"{safe(path)} ({got.provider or 'not recognised'}): {len(got.records)} suppression(s) read, "
              f"{result.added} recorded{forgotten}, {result.known} already recorded; "
              f"{len(got.problems)} line(s) not read")
    if got.problems and not got.records:
        raise typer.Exit(EXIT_FAIL)


@app.command(cls=ReadableHelpCommand)
def release(
    ctx: typer.Context,
    email: str = typer.Argument(..., metavar="EMAIL", help="The address to release."),
    campaign: Optional[str] = typer.Option(None, "--campaign", metavar="CAMPAIGN", help="Only lift suppressions for this campaign [default: all]."),
    note: str = typer.Option(..., "--note", metavar="TEXT", help="Why (kept with the record)."),
):
    """Lift a person's suppressions (hard bounce, unsubscribe, manual): recorded, audited."""
    _operator_event(ctx, "released", email, campaign, note)


@app.command(cls=ReadableHelpCommand)
def forget(
    ctx: typer.Context,
    email: Optional[str] = typer.Argument(None, metavar="EMAIL", help="The address to erase (any case)."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation (for scripts)."),
    note: Optional[str] = typer.Option(None, "--note", metavar="TEXT", help="Kept in the audit record, e.g. the request's ticket (it must not name the address)."),
    list_: bool = typer.Option(False, "--list", help="List the erasures recorded instead: when, by whom, the hash."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", metavar="FORMAT", help="With --list: table, json, jsonl or csv."),
    json_out: bool = typer.Option(False, "--json", help="With --list: same as --format json."),
    wait: float = typer.Option(60.0, "--wait", metavar="SECONDS", help="How long to wait for a running ingest to finish, and for readers to let go of old pages."),
):
    """Erase a person on request (GDPR article 17), keeping what stops mailing them.

    Removes every send and event of the address, and the text of rejected
    lines, open message state and any other stored text that names it. Kept:
    a keyed hash of the address (HMAC-SHA256 with this database's own
    secret) with the suppressions in force now, so that check still says no,
    suppressed counts them and person says when it was forgotten. Each
    erasure is recorded (when, by whom, the hash; see --list). Afterwards the
    address is in none of the database's files, its WAL and free space
    included. Asks first unless --yes.
    """
    g: Globals = ctx.obj
    if list_:
        if email is not None or note is not None or yes:
            raise Fatal("--list takes no EMAIL, --note or --yes", EXIT_USAGE)
        _list_erasures(g.store(), ListFormat.json if json_out else fmt)
        return
    if json_out or fmt is not ListFormat.table:
        raise Fatal("--format and --json go with --list", EXIT_USAGE)
    from .events import person_of
    from .lock import IngestLock
    from .reports import local_time, safe
    from .store import forget as erasure
    from .store.codec import iso
    address = person_of(email)
    if not address or "@" not in address:
        raise Fatal(f"{email!r} is not an email address" if email else "name the address to forget (EMAIL)",
                    EXIT_USAGE)
    if note and erasure.Needle(address).matches(note):
        raise Fatal("the --note names the address being erased; the audit record must not", EXIT_USAGE)
    store = g.store()
    if store.is_shared:
        store.close()
        raise Fatal("forget works on a SQLite database only, for now: in PostgreSQL erased rows stay in the "
                    "table files until VACUUM FULL and in the WAL and its archives, which emaillog cannot check")
    if not yes:
        import time
        planned = erasure.plan(store.conn, address)
        kept = erasure.kept_now(store.conn, address, int(time.time()))
        question = (f"Erase {safe(address)}: {planned['events']} event(s), {planned['rejected_lines']} rejected "
                    f"line(s), {planned['open_messages']} open message(s); keep {len(kept)} suppression(s) under a "
                    "keyed hash. This cannot be undone. Go ahead?")
        try:
            go = typer.confirm(question, default=False, err=True)
        except (typer.Abort, EOFError):
            go = False
        if not go:
            raise Fatal("not confirmed, nothing was erased (pass --yes in scripts)")
    with IngestLock(g.db_path, wait):  # an ingest holds open message state in memory
        store.conn.execute("PRAGMA secure_delete = ON")
        with store.transaction():
            done = erasure.erase(store.conn, address, actor=_actor(), note=note, config=g.config())
        finished = erasure.finish(store.conn, g.db_path, address, wait=wait)
    print(f"forgot {safe(address)}: erased {_erased_text(done.erased)}")
    kept_text = "; ".join(
        f"{k.reason} for {'every campaign' if k.scope is None else 'campaign ' + safe(k.scope)}"
        + (f" until {local_time(iso(k.until))}" if k.until else "") for k in done.kept)
    print(f"kept {len(done.kept)} suppression(s) under hash {done.hash[:16]}...{': ' + kept_text if kept_text else ''}")
    print(f"recorded as erasure {done.id} (emaillog forget --list)"
          + ("; the database was vacuumed to clear old copies from free space" if finished.vacuumed else ""))
    if finished.found_in:
        raise Fatal(f"the erasure is committed, but {', '.join(finished.found_in)} still hold(s) the address"
                    + ("" if finished.checkpointed else ": another process keeps the database open, so its "
                       "write-ahead log could not be emptied")
                    + "; run the same command again when nothing else uses the database")


ERASED_WORDS = {"events": "event(s)", "rejected_lines": "rejected line text(s)", "open_messages": "open message state(s)",
                "texts": "other text(s) naming the address", "other_values": "other value(s)",
                "suppressions_kept": "suppression(s) kept"}


def _erased_text(counts: dict) -> str:
    """An erasure's counts in words (sends and other events are in `events`)."""
    return ", ".join(f"{n} {ERASED_WORDS[k]}" for k, n in counts.items() if k in ERASED_WORDS) or "nothing was stored"


def _list_erasures(store, fmt: ListFormat) -> None:
    import json
    from .store.codec import iso
    rows = [{"id": id_, "at": iso(ts), "by": actor, "hash": digest, "note": note, "erased": erased}
            for id_, ts, actor, digest, note, erased in store.conn.execute(
                "SELECT id, ts, actor, hash, note, erased FROM erasures ORDER BY id")]
    columns = ["id", "at", "by", "hash", "note", "erased"]
    if fmt is ListFormat.table:
        from rich.table import Table
        from .reports import literal, local_time
        if not rows:
            print("No erasures recorded.")
            return
        table = Table(title=f"{len(rows)} erasure(s)", title_justify="left")
        for column in ("id", "when", "by", "hash", "erased", "note"):
            table.add_column(column, overflow="fold")
        for r in rows:
            table.add_row(str(r["id"]), local_time(r["at"]), literal(r["by"]), r["hash"][:16],
                          literal(_erased_text(json.loads(r["erased"]))), literal(r["note"]))
        _console().print(table)
        return
    from .output import write_rows
    if fmt is not ListFormat.csv:
        rows = [{**r, "erased": json.loads(r["erased"])} for r in rows]
    write_rows(rows, fmt.value, columns, wrapper={})


@app.command(cls=ReadableHelpCommand)
def metrics(
    ctx: typer.Context,
    output: Optional[Path] = typer.Option(None, "--output", metavar="FILE", help="Replace this file atomically (for node_exporter's textfile collector: name it *.prom) [default: standard output]."),
    at: Optional[str] = typer.Option(None, "--at", metavar="TIME", help="Evaluate the gauges at this time [default: now]."),
):
    """Prometheus metrics: events, hard bounces, suppressions, pending retries.

    Text exposition format 0.0.4: emaillog_events_total by type and
    campaign, emaillog_hard_bounces_total by class and reason, the gauges
    emaillog_suppressions by reason and emaillog_pending_retries by campaign,
    and the time of the newest event. The counters count the events in the
    database (an erasure can lower them).
    """
    from .metrics import render, write_textfile
    from .stats import prometheus_figures
    g: Globals = ctx.obj
    text = render(prometheus_figures(g.store(), g.config(), _at(at)))
    if output is None:
        _write_machine(text)
    else:
        write_textfile(output, text)


@app.command(cls=ReadableHelpCommand)
def rejects(
    ctx: typer.Context,
    limit: Optional[int] = typer.Option(None, "--limit", metavar="N", help="At most this many [default: a screenful in a table, all otherwise]."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", metavar="FORMAT", help="Output format: table, json, jsonl or csv."),
    json_out: bool = typer.Option(False, "--json", help="Same as --format json."),
):
    """Lines that looked relevant but could not be parsed, with file and line."""
    limit = _count(limit, "--limit")
    store = ctx.obj.store()
    fmt = ListFormat.json if json_out else fmt
    if fmt is ListFormat.table:
        con = _console()
        shown = limit or _screenful(con)
        rows = store.rejects(shown)
        if not rows:
            print("No rejected lines.")
            return
        total = len(rows) if len(rows) < shown else store.count_rejects()
        from .reports import rejects_table
        con.print(rejects_table(rows, total))
        _more(con, len(rows), total if limit is None else len(rows), "rejects")
    else:
        from .output import write_rows
        write_rows(store.iter_rejects(limit), fmt.value, ["file", "line_no", "why", "text", "format", "seen_at"])


@app.command(cls=ReadableHelpCommand)
def migrate(
    ctx: typer.Context,
    rebuild: bool = typer.Option(False, "--rebuild", help="Also compute the derived state (hourly counts, suppression intervals) again from the events."),
    to: Optional[str] = typer.Option(None, "--to", metavar="URL", help="Copy this SQLite database into the PostgreSQL database at URL (postgresql://...), for many servers; copying again adds nothing."),
    json_out: bool = typer.Option(False, "--json", help="With --to: print what was copied as one JSON document."),
):
    """Bring the database up to date with this version's layout.

    Any command does this when it opens an older database; this one says what
    it did. A database of the first release is converted (every event, the
    open messages and the rejected lines are kept), with a progress bar.

    With --to URL, the database is copied into a shared PostgreSQL one, in
    one transaction, with a progress bar. Rows are matched by what they are,
    not by id, so the target may hold other hosts' data and a second copy
    adds nothing. File positions go under this host's name ($EMAILLOG_HOST,
    else the host name): run it on the machine that wrote the file, then
    point that machine's ingest at the URL and it goes on where it stopped.
    """
    from .lock import IngestLock
    g: Globals = ctx.obj
    if to is not None:
        _copy_to(g, to, json_out)
        return
    if json_out:
        raise Fatal("--json goes with --to URL", EXIT_USAGE)
    with IngestLock(g.db_path, 60.0):
        store = g.store()
        try:
            if store.applied:
                print(f"{store.name}: applied {', '.join(store.applied)}")
            else:
                print(f"{store.name}: up to date")
            if rebuild:
                sizes = store.rebuild(g.config())
                print(f"rebuilt: {sizes['counts']} hourly counts, {sizes['domain_counts']} domain counts, "
                      f"{sizes['suppressions']} suppression intervals")
        finally:
            store.close()


def _copy_to(g: "Globals", url: str, json_out: bool) -> None:
    """migrate --to: both databases locked against this host's ingest while copying."""
    from .lock import IngestLock
    from .progress import migration_progress
    from .store import Store, is_url
    from .store.copy import Copy, CopyRefused
    if not is_url(url):
        raise Fatal(f"--to takes a postgresql:// URL, not {url!r}", EXIT_USAGE)
    if is_url(g.db_path):
        raise Fatal("migrate --to copies a SQLite database: pass its file with --db", EXIT_USAGE)
    with IngestLock(g.db_path, 60.0), IngestLock(url, 60.0):
        source = g.store()
        target = Store(url)
        g.opened.append(target)
        config = g.config()
        with migration_progress("copying into PostgreSQL") as progress:
            try:
                with target.transaction():
                    copied = Copy(source, target, config, progress).run()
            except CopyRefused as exc:
                raise Fatal(f"cannot copy into {target.name}: {exc}") from None
    kinds = ("persons", "sends", "actions", "file positions", "open messages", "rejects", "erasures")
    summary = {"from": source.name, "to": target.name, "host": target.host,
               "added": {k: copied.added[k] for k in kinds},
               "already_there": {k: copied.present[k] for k in kinds[:3]}}
    if json_out:
        from .output import write_json
        write_json(summary)
        return
    added = ", ".join(f"{n} {what}" for what, n in copied.added.items() if n) or "nothing"
    present = sum(copied.present.values())
    print(f"copied {source.name} into {target.name} as host {target.host}: added {added}"
          + (f"; {present} row(s) were there already" if present else ""))


@app.command("formats", cls=ReadableHelpCommand)
def list_formats(json_out: bool = typer.Option(False, "--json", help="One JSON document.")):
    """The supported input formats (with a sample line each on a wide terminal, and in --json)."""
    from . import formats
    items = [{"name": m.NAME, "description": m.DESCRIPTION, "sample": m.SAMPLES[0]} for m in formats.FORMATS.values()]
    if json_out:
        from .output import write_json
        write_json(items)
        return
    from rich.table import Table
    from .reports import literal
    con = _console()
    wide = con.width >= 140  # a sample line each only where it fits; all in --json
    table = Table(title="Input formats (ingest --format NAME; auto detects per file)", title_justify="left")
    for col in ("name", "description") + (("sample",) if wide else ()):
        table.add_column(col, overflow="fold")
    for item in items:
        table.add_row(literal(item["name"]), literal(item["description"]), *([literal(item["sample"])] if wide else []))
    con.print(table)


@app.command(cls=ReadableHelpCommand)
def classify(
    replies: Optional[list[str]] = typer.Argument(None, metavar="REPLY...", help="SMTP replies or diagnostics; read from standard input (one per line) when none is given."),
    json_out: bool = typer.Option(False, "--json", help="One JSON object per reply, one per line."),
):
    """Show how a bounce reply is classified, and which rule decided."""
    from .classify import classify_text
    from .output import dumps
    texts = replies or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    con = _console()
    for text in texts:
        v = classify_text(text)
        kind = "hard" if v.hard else "soft"
        if json_out:
            print(dumps({"reply": text, "bounce": kind, "bounce_class": v.bounce_class,
                         "reason": v.reason, "rule": v.rule}))
        else:
            from .reports import safe
            label = f"{kind} ({v.bounce_class})" if v.hard else kind
            con.out(f"{label}\t{v.reason}\t{safe(v.rule)}\t{safe(text)}", highlight=False)


# -- entry point ------------------------------------------------------------

def main() -> None:
    """Run the app; turn known failures into one sentence and an exit code."""
    try:
        app()  # click itself reports usage errors (exit 2) and --help
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)
    except KeyboardInterrupt:
        _fail("interrupted; everything up to the last committed batch is stored", 130)
    except CannotAnswer as exc:
        message, _ = _explain(exc.__cause__)
        _fail(f"cannot tell whether {exc.address} may be mailed: {message}", EXIT_CANNOT_ANSWER)
    except Exception as exc:  # noqa: BLE001 - never a traceback for users
        _fail(*_explain(exc))


def _explain(exc: Exception) -> tuple[str, int]:
    """A failure as one sentence and its exit code."""
    import sqlite3

    from .config import ConfigError
    from .file_safety import UnsafeFile
    from .lock import LockTimeout
    from .store import StoreError
    from .store.postgres import PostgresProblem, explain, is_postgres_error
    from .timestamps import TimestampError

    if isinstance(exc, Fatal):
        return str(exc), exc.code
    if isinstance(exc, LockTimeout):
        return str(exc), EXIT_LOCKED
    if isinstance(exc, (StoreError, ConfigError, UnsafeFile, PostgresProblem)):
        return str(exc), EXIT_FAIL
    if is_postgres_error(exc):
        return explain(exc, _redacted_db()), EXIT_FAIL
    if isinstance(exc, TimestampError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc)
        hint = (" (is the disk full or read-only?)" if any(w in text for w in ("disk", "readonly", "read-only"))
                else "")
        return f"database error: {exc}{hint}", EXIT_FAIL
    if isinstance(exc, sqlite3.DatabaseError):
        return f"database error: {exc}; the database file may be damaged", EXIT_FAIL
    if isinstance(exc, OSError):
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror or exc}", EXIT_FAIL
    if os.environ.get("EMAILLOG_DEBUG"):
        raise exc
    return f"internal error: {exc!r} (run with EMAILLOG_DEBUG=1 for details, and please report it)", EXIT_FAIL


def _redacted_db() -> str:
    """The database this run was given (`--db URL`, `--db=URL`, else the
    default), without its password."""
    from .store import default_db_path
    from .store.postgres import redacted
    for i, arg in enumerate(sys.argv):
        if arg == "--db" and i + 1 < len(sys.argv):
            return redacted(sys.argv[i + 1])
        if arg.startswith("--db="):
            return redacted(arg.removeprefix("--db="))
    return redacted(str(default_db_path()))


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"emaillog: {message}\n")
    sys.exit(code)


if __name__ == "__main__":
    main()
