"""The ingest pipeline: read -> parse -> correlate (-> classify) -> store.

Progress is committed in batches: the events of a batch, the open correlation
state and how far each file was read go in one transaction, so a killed run
resumes exactly where its last batch ended.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

from . import formats
from .config import Config
from .correlate import Correlator, MessageState
from .events import SOFT_BOUNCED, Event, Reject, Skip
from .formats.context import ParseContext
from .inputs import InputProblem, OpenedInput, expand, line_defect, open_input, read_lines
from .store import Store
from .timestamps import Clock, TimestampError

# Lines per committed batch; the environment variable exists for the
# crash-safety tests, which need many commit points in a small file.
BATCH_LINES = int(os.environ.get("EMAILLOG_BATCH_LINES", "20000"))


@dataclass
class Summary:
    """What one ingest run did; printed by the CLI, `--json` as is."""

    files_read: int = 0
    lines_read: int = 0
    events_added: Counter = field(default_factory=Counter)
    events_known: int = 0
    attempts_merged: int = 0  # later deferrals folded into a stored soft bounce
    skipped: int = 0
    rejected: int = 0
    notices_skipped: int = 0
    stale_closed: int = 0
    open_messages: int = 0
    problems: list[dict] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(p["fatal"] for p in self.problems)

    def to_json(self) -> dict:
        return {
            "files_read": self.files_read, "lines_read": self.lines_read,
            "events_added": dict(sorted(self.events_added.items())),
            "events_added_total": sum(self.events_added.values()),
            "events_already_known": self.events_known, "soft_bounce_attempts_merged": self.attempts_merged,
            "lines_skipped": self.skipped,
            "lines_rejected": self.rejected, "notices_skipped": self.notices_skipped,
            "stale_messages_closed": self.stale_closed, "open_messages": self.open_messages,
            "problems": self.problems,
        }


@dataclass
class Options:
    format: str = "auto"
    year: int | None = None
    tz: object = None  # tzinfo or None for local


class Ingest:
    """One run over some inputs into one store."""

    def __init__(self, store: Store, config: Config, options: Options, *, progress=None):
        self.store = store
        self.config = config
        self.options = options
        self.progress = progress  # callable(opened, offset) after each batch, or None
        self.summary = Summary()
        states = [MessageState.from_json(_loads(s)) for s in store.open_messages()]
        self.correlator = Correlator(config, {s.key: s for s in states})
        self.latest: datetime | None = None

    def run(self, paths: list[str]) -> Summary:
        inputs, problems = expand(paths)
        for problem in problems:
            self._problem(problem)
        for inp in inputs:
            try:
                opened = open_input(inp)
            except InputProblem as problem:
                problem.fatal = inp.explicit  # inside a directory: a warning
                self._problem(problem)
                continue
            if opened is not None:
                try:
                    self._read(opened)
                finally:
                    _close(opened)
        self.summary.notices_skipped = self.correlator.counters.notices_skipped
        self.summary.stale_closed = self.correlator.counters.stale_closed
        self.summary.open_messages = len(self.correlator.open)
        return self.summary

    def _problem(self, problem: InputProblem) -> None:
        self.summary.problems.append({"file": problem.path, "message": problem.message, "fatal": problem.fatal})

    def _format(self, opened: OpenedInput):
        if self.options.format != "auto":
            return formats.FORMATS[self.options.format]
        module, why = formats.detect(opened.head)
        if module is None:
            raise InputProblem(opened.input.path, f"{opened.input.path}: not a log format we know ({why}); "
                                                  "pass --format to force one")
        return module

    def _read(self, opened: OpenedInput) -> None:
        inp = opened.input
        try:
            module = self._format(opened)
        except InputProblem as problem:
            problem.fatal = inp.explicit
            self._problem(problem)
            return
        known = self.store.file_progress(opened.fingerprint) if opened.fingerprint else None
        offset, line_no = (known["offset"], known["line_no"]) if known else (0, 0)
        if not opened.compressed and opened.size is not None and opened.size < offset:
            offset, line_no = 0, 0  # copytruncate: the same first line, less text
        clock = Clock(opened.mtime, year=self.options.year, tz=self.options.tz)
        self.label = inp.label
        parser = module.Parser(ParseContext(clock, self.config, inp.label, lookup=self.store.send_by_message_id))
        if offset and hasattr(parser, "prime"):
            parser.prime(opened.head)  # e.g. a CSV header read in an earlier run
        final = opened.compressed or inp.is_stdin
        batch: list[Event] = []
        rejects: list[dict] = []
        self.summary.files_read += 1
        lines_in_batch = 0

        def flush(end: int) -> None:
            self._flush(batch, rejects, opened, module.NAME, end, line_no)
            batch.clear()
            rejects.clear()

        position = offset
        try:
            for position, raw in read_lines(opened, offset, final=final):
                line_no += 1
                lines_in_batch += 1
                self._line(raw, line_no, parser, module.NAME, inp, opened, batch, rejects)
                if lines_in_batch >= BATCH_LINES:
                    flush(position)
                    lines_in_batch = 0
        except InputProblem as problem:
            self._problem(problem)
        flush(position)

    def _line(self, raw: bytes, line_no: int, parser, fmt: str, inp, opened, batch, rejects) -> None:
        self.summary.lines_read += 1
        defect = line_defect(raw)  # too long, or NULs left by a crash
        if defect:
            self._reject(rejects, inp, opened, line_no, fmt, *defect)
            return
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        source = f"{self.label}:{line_no}"
        try:
            facts = parser.parse(line, source)
        except TimestampError as exc:
            self._reject(rejects, inp, opened, line_no, fmt, str(exc), line)
            return
        if not facts:
            self.summary.skipped += 1
            return
        for fact in facts:
            if isinstance(fact, Reject):
                self._reject(rejects, inp, opened, line_no, fmt, fact.why, line)
            elif isinstance(fact, Skip):
                self.summary.skipped += 1
            else:
                ts = getattr(fact, "ts", None)
                if ts is not None and (self.latest is None or ts > self.latest):
                    self.latest = ts
                batch.extend(self.correlator.feed(fact))

    def _reject(self, rejects, inp, opened, line_no, fmt, why, text) -> None:
        self.summary.rejected += 1
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        rejects.append({"file": inp.path, "line_no": line_no, "why": why, "text": text[:2000],
                        "format": fmt, "seen_at": _now(), "file_fingerprint": opened.fingerprint or inp.path})

    def _flush(self, batch, rejects, opened: OpenedInput, fmt: str, end: int, line_no: int) -> None:
        if self.latest is not None:
            self.correlator.prune(self.latest)
        corr = self.correlator
        upserts = [(k, corr.open[k].last_ts.isoformat(), _dumps(corr.open[k].to_json()))
                   for k in corr.dirty if k in corr.open]
        progress = None
        if opened.fingerprint and not opened.input.is_stdin:
            progress = {"fingerprint": opened.fingerprint, "path": opened.input.path,
                        "device": opened.device, "inode": opened.inode, "offset": end,
                        "line_no": line_no, "format": fmt}
        added = self.store.write_batch(batch, rejects=rejects, open_upserts=upserts,
                                       open_deletes=list(corr.closed), file_progress=progress)
        corr.dirty.clear()
        corr.closed.clear()
        self.summary.events_added.update(added)
        repeats = sum(1 for e in batch if e.type == SOFT_BOUNCED) - added.get(SOFT_BOUNCED, 0)
        self.summary.attempts_merged += repeats
        self.summary.events_known += len(batch) - sum(added.values()) - repeats
        if self.progress:
            self.progress(opened, end)


def _close(opened: OpenedInput) -> None:
    close = getattr(opened.stream, "close", None)
    if close and not opened.input.is_stdin:
        close()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(data) -> str:
    return json.dumps(data, separators=(",", ":"))


def _loads(text: str):
    return json.loads(text)
