"""The parsing half of an ingest: lines -> facts -> send views, in batches.

Runs in the parsing process when the pipeline has two (pipeline.py); it
never touches the database but through `lookup` (tracking tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from ..correlate import Correlator
from ..events import Reject, Skip
from ..formats.context import ParseContext
from ..inputs import MAX_LINE, InputProblem, read_lines
from ..timestamps import TimestampError


@dataclass
class Batch:
    """What the writer stores in one transaction, and what to count."""

    job: int
    sends: list = field(default_factory=list)
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


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        inp = opened.input
        module = job.module
        label = inp.label
        parser = module.Parser(ParseContext(job.clock, self.config, label, lookup=self.lookup))
        if job.offset and hasattr(parser, "prime"):
            parser.prime(opened.head)  # e.g. a CSV header read in an earlier run
        fingerprint = opened.fingerprint or inp.path
        line_no = job.line_no
        position = job.offset
        batch = Batch(job.index, position=position)
        correlator = self.correlator
        feed = correlator.feed
        fmt = module.NAME
        seen_at = _now()

        def reject(why: str, text) -> None:
            if isinstance(text, bytes):
                text = text.decode("utf-8", "replace")
            batch.rejects.append({"file": inp.path, "line_no": line_no, "why": why, "text": text[:2000],
                                  "format": fmt, "seen_at": seen_at, "file_fingerprint": fingerprint})

        try:
            for position, raw in read_lines(opened, job.offset, final=job.final):
                line_no += 1
                batch.lines += 1
                if len(raw) > MAX_LINE:
                    reject(f"line longer than {MAX_LINE} bytes", raw[:200])
                    continue
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                try:
                    facts = parser.parse(line, f"{label}:{line_no}")
                except TimestampError as exc:
                    reject(str(exc), line)
                    continue
                if not facts:
                    batch.skipped += 1
                for fact in facts:
                    if isinstance(fact, Reject):
                        reject(fact.why, line)
                    elif isinstance(fact, Skip):
                        batch.skipped += 1
                    else:
                        ts = getattr(fact, "ts", None)
                        if ts is not None:
                            ts = ts if isinstance(ts, int) else int(ts.timestamp())
                            if self.latest is None or ts > self.latest:
                                self.latest = ts
                        feed(fact)
                if batch.lines >= self.batch_lines:
                    yield self._finish(batch, job, position, line_no, fmt)
                    batch = Batch(job.index, position=position)
        except InputProblem as problem:
            batch.problems.append({"file": problem.path, "message": problem.message, "fatal": problem.fatal})
        last = self._finish(batch, job, position, line_no, fmt)
        last.file_done = True
        if last.progress is not None and job.final and not last.problems:
            last.progress["complete"] = 1
        yield last

    def _finish(self, batch: Batch, job, position: int, line_no: int, fmt: str) -> Batch:
        correlator = self.correlator
        if self.latest is not None:
            correlator.prune(self.latest)
        batch.sends, batch.events = correlator.collect()
        batch.open_upserts, batch.open_deletes = correlator.open_state_rows()
        opened = job.opened
        if opened.fingerprint and not opened.input.is_stdin:
            batch.progress = {"fingerprint": opened.fingerprint, "path": opened.input.path,
                              "device": opened.device, "inode": opened.inode, "offset": position,
                              "line_no": line_no, "format": fmt, "complete": 0}
        batch.position = position
        c = correlator.counters
        now = (c.soft_facts, c.repeats, c.notices_skipped, c.stale_closed)
        batch.soft_facts, batch.repeats, batch.notices_skipped, batch.stale_closed = (
            a - b for a, b in zip(now, self._counted))
        self._counted = now
        batch.open_count = len(correlator.open)
        return batch
