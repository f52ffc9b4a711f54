"""The parsing half of an ingest: lines -> facts -> send views, in batches.

Runs in the parsing process when the pipeline has two (pipeline.py); it
never touches the database but through `lookup` (tracking tokens).
A parser with `feed_lines` (Postfix) is given text in bulk and talks to the
correlator directly; the others get one line at a time and return facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..correlate import Correlator
from ..events import Reject, Skip
from ..formats.context import ParseContext
from ..inputs import InputProblem, line_defect, read_chunks, read_lines
from ..timestamps import TimestampError


@dataclass
class Batch:
    """What the writer stores in one transaction, and what to count."""

    job: int
    sends: list = field(default_factory=list)
    drops: list = field(default_factory=list)  # sends of copies folded into their originals (hops)
    finished: list = field(default_factory=list)  # handles of sends whose message closed
    events: list = field(default_factory=list)
    rejects: list = field(default_factory=list)
    open_upserts: list = field(default_factory=list)
    open_deletes: list = field(default_factory=list)
    progress: dict | None = None
    position: int = 0
    lines: int = 0
    skipped: int = 0
    soft_facts: int = 0     # soft-bounce facts (attempts, expiries) seen
    repeats: int = 0        # outcome facts of a send that had that outcome already
    notices_skipped: int = 0
    stale_closed: int = 0
    open_count: int = 0
    problems: list = field(default_factory=list)
    file_done: bool = False
    formats: dict = field(default_factory=dict)  # lines read, by format (a syslog file: by program's)


class _Reading:
    """One job being read: where we are, and how to record a reject."""

    def __init__(self, job, fmt: str):
        self.job = job
        self.fmt = fmt
        self.path = job.opened.input.path
        self.fingerprint = job.opened.fingerprint or self.path
        self.seen_at = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.line_no = job.line_no
        self.position = job.offset
        self.batch = Batch(job.index, position=job.offset)
        self.parser = None
        self.counted: dict = {}

    def line_counts(self) -> dict:
        """Lines by format since the last call."""
        parser = self.parser
        if hasattr(parser, "line_counts"):
            now = dict(parser.line_counts())
        else:
            now = {self.fmt: self.line_no - self.job.line_no}
        delta = {k: v - self.counted.get(k, 0) for k, v in now.items() if v != self.counted.get(k, 0)}
        self.counted = now
        return delta

    def reject(self, line_no: int, why: str, text) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        self.batch.rejects.append({"file": self.path, "line_no": line_no, "why": why, "text": text[:2000],
                                   "format": self.fmt, "seen_at": self.seen_at,
                                   "file_fingerprint": self.fingerprint})


class Parsing:
    """Reads jobs in order through one correlator."""

    def __init__(self, config, states: dict, batch_lines: int, lookup=None):
        self.config = config
        self.correlator = Correlator(config, states)
        self.batch_lines = batch_lines
        self.lookup = lookup
        self.latest = None
        self._counted = (0, 0, 0, 0)

    def run(self, jobs):
        for job in jobs:
            yield from self.read(job)

    def read(self, job):
        opened = job.opened
        label = opened.input.label
        parser = job.module.Parser(ParseContext(job.clock, self.config, label, lookup=self.lookup))
        if job.offset and hasattr(parser, "prime"):
            parser.prime(opened.head)  # e.g. a CSV header read in an earlier run
        reading = _Reading(job, job.module.NAME)
        reading.parser = parser
        self.correlator.file = opened.fingerprint
        lines = self._chunks(reading, parser, label) if getattr(parser, "feed_text", None) else \
            self._lines(reading, parser, label)
        try:
            for _ in lines:
                if reading.batch.lines >= self.batch_lines:
                    yield self._finish(reading)
        except InputProblem as problem:
            reading.batch.problems.append({"file": problem.path, "message": problem.message, "fatal": problem.fatal})
        last = self._finish(reading)
        last.file_done = True
        path = opened.input.path
        for warning in getattr(job.clock, "warnings", ()):  # e.g. a year-less date that went backwards
            last.problems.append({"file": path, "message": f"{path}: {warning}", "fatal": False})
        if last.progress is not None and job.final and not any(p["fatal"] for p in last.problems):
            last.progress["complete"] = 1
        yield last

    def _lines(self, reading: _Reading, parser, label: str):
        """One line at a time: parse() -> facts -> the correlator."""
        feed = self.correlator.feed
        for reading.position, raw in read_lines(reading.job.opened, reading.job.offset, final=reading.job.final):
            reading.line_no += 1
            line_no = reading.line_no
            batch = reading.batch
            batch.lines += 1
            defect = line_defect(raw)  # too long, or NULs left by a crash
            if defect:
                reading.reject(line_no, *defect)
                continue
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            try:
                facts = parser.parse(line, f"{label}:{line_no}")
            except TimestampError as exc:
                reading.reject(line_no, str(exc), line)
                continue
            if not facts:
                batch.skipped += 1
            for fact in facts:
                if isinstance(fact, Reject):
                    reading.reject(line_no, fact.why, line)
                elif isinstance(fact, Skip):
                    batch.skipped += 1
                else:
                    ts = getattr(fact, "ts", None)
                    if ts is not None:
                        ts = ts if isinstance(ts, int) else int(ts.timestamp())
                        if self.latest is None or ts > self.latest:
                            self.latest = ts
                    feed(fact)
            yield

    def _chunks(self, reading: _Reading, parser, label: str):
        """Text in bulk, decoded once, given to the parser's feed_text."""
        for reading.position, data in read_chunks(reading.job.opened, reading.job.offset, final=reading.job.final):
            text = data.decode("utf-8", "replace")
            batch = reading.batch
            lines, skipped, rejects, latest = parser.feed_text(text, reading.line_no, self.correlator, label)
            batch.skipped += skipped
            for line_no, why, line in rejects:
                reading.reject(line_no, why, line)
            reading.line_no += lines
            batch.lines += lines
            if latest is not None and (self.latest is None or latest > self.latest):
                self.latest = latest
            yield

    def _finish(self, reading: _Reading) -> Batch:
        """Close the batch being filled and start the next one."""
        batch = reading.batch
        reading.batch = Batch(reading.job.index, position=reading.position)
        correlator = self.correlator
        if self.latest is not None:
            correlator.prune(self.latest)
        batch.sends, batch.events = correlator.collect()
        batch.drops = correlator.collect_drops()
        batch.finished = correlator.collect_finished()
        batch.open_upserts, batch.open_deletes = correlator.open_state_rows()
        opened = reading.job.opened
        if opened.fingerprint and not opened.input.is_stdin:
            batch.progress = {"fingerprint": opened.fingerprint, "path": opened.input.path,
                              "device": opened.device, "inode": opened.inode, "offset": reading.position,
                              "line_no": reading.line_no, "format": reading.fmt, "complete": 0,
                              "cursor": getattr(reading.parser, "cursor", None) or reading.job.cursor}
        batch.position = reading.position
        c = correlator.counters
        now = (c.soft_facts, c.repeats, c.notices_skipped, c.stale_closed)
        batch.soft_facts, batch.repeats, batch.notices_skipped, batch.stale_closed = (
            a - b for a, b in zip(now, self._counted))
        self._counted = now
        batch.open_count = len(correlator.open)
        batch.formats = reading.line_counts()
        return batch
