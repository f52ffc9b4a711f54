"""The ingest pipeline: read -> parse -> correlate (-> classify) -> store.

Reading, parsing and correlating (`parse.py`) produce batches; the store
writes each batch in one transaction with the open correlation state and
how far each file was read, so a killed run resumes exactly where its last
batch ended. A big input runs the two halves in two processes (`pipeline.py`):
one parses while the other writes.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from ..config import Config
from ..correlate import MessageState
from ..inputs import Input, InputProblem, expand, open_input
from .rotation import rotated_away
from ..store import Store
from ..store.postgres import is_conflict
from .jobs import Job, plan

# Lines per committed batch (about a third of a second of a big ingest).
# The peak memory follows it: a batch is parsed while the one before is in
# the pipe and another is written; 40,000 rather than 60,000 lines peaks at
# 126 instead of 146 MB on a 3.8 M-line log, in the same time. The
# environment variable exists for the crash-safety tests, which need many
# commit points in a small file.
BATCH_LINES = int(os.environ.get("EMAILLOG_BATCH_LINES", "40000"))
CONFLICT_RETRIES = 8  # tries of a batch another host's transaction got in the way of


@dataclass
class Summary:
    """What one ingest run did; printed by the CLI, `--json` as is."""

    files_read: int = 0
    lines_read: int = 0
    lines_by_format: Counter = field(default_factory=Counter)
    events_added: Counter = field(default_factory=Counter)
    events_known: int = 0
    attempts_merged: int = 0  # later deferrals folded into a stored soft bounce
    skipped: int = 0
    rejected: int = 0
    notices_skipped: int = 0
    stale_closed: int = 0
    open_messages: int = 0
    waiting: list[str] = field(default_factory=list)   # files whose partial last line waits for its newline
    rotated: list[dict] = field(default_factory=list)  # rotated files finished before their successor
    reread: list[dict] = field(default_factory=list)   # files whose events were removed to read them again
    problems: list[dict] = field(default_factory=list)
    journal: dict | None = None  # ingest --journal: entries read, and the cursor it goes on after
    conflicts_retried: int = 0  # batches tried again after another host's write got in the way
    resolver_demoted: int = 0  # "no such domain" for a domain that accepted mail: soft (rules/resolver.py)

    @property
    def failed(self) -> bool:
        return any(p["fatal"] for p in self.problems)

    def to_json(self) -> dict:
        return {
            "files_read": self.files_read, "lines_read": self.lines_read,
            "lines_by_format": dict(sorted(self.lines_by_format.items())),
            "events_added": dict(sorted(self.events_added.items())),
            "events_added_total": sum(self.events_added.values()),
            "events_already_known": self.events_known, "soft_bounce_attempts_merged": self.attempts_merged,
            "lines_skipped": self.skipped,
            "lines_rejected": self.rejected, "notices_skipped": self.notices_skipped,
            "stale_messages_closed": self.stale_closed, "open_messages": self.open_messages,
            "waiting_for_newline": self.waiting, "rotated_files_finished": self.rotated, "reread": self.reread,
            "problems": self.problems, "journal": self.journal, "conflicts_retried": self.conflicts_retried,
            "resolver_failures_demoted": self.resolver_demoted,
        }


@dataclass
class Options:
    format: str = "auto"
    year: int | None = None
    tz: object = None  # tzinfo or None for local
    reread: tuple = ()  # paths to forget and read again from the start
    journal: object = None  # a journal.Journal to read too (ingest --journal), or None


class Ingest:
    """One run over some inputs into one store."""

    def __init__(self, store: Store, config: Config, options: Options, *, progress=None):
        self.store = store
        self.config = config
        self.options = options
        self.progress = progress  # callable(opened, offset) after each batch, or None
        self.summary = Summary()
        self.writer = None

    def run(self, paths: list[str]) -> Summary:
        for path in self.options.reread:
            self._forget(path)
        inputs, problems = expand(paths)
        for problem in problems:
            if not self._after_rotation(problem, inputs):
                self._problem(problem)
        jobs: list[Job] = []
        planned: set[str] = set()
        for inp in inputs:
            try:
                opened = open_input(inp)
            except InputProblem as problem:
                problem.fatal = inp.explicit  # inside a directory: a warning
                self._problem(problem)
                continue
            if opened is None:
                continue
            if inp.explicit and not inp.is_stdin:
                rest = rotated_away(self.store, inp, opened.fingerprint)
                if rest is not None and rest.path not in planned:
                    self._plan(rest, jobs, planned, rotated_from=inp.path)
            self._plan_opened(opened, jobs, planned)
        journal = None
        if self.options.journal is not None:
            journal = self._plan_journal(jobs)
        states = {}
        if jobs:
            for text in self.store.open_messages():
                state = MessageState.from_json(_loads(text))
                states[state.key] = state
            self.writer = self.store.writer(self.config)
            from .pipeline import run_jobs
            ok = False
            try:
                run_jobs(jobs, states, self)
                ok = True
            finally:
                for job in jobs:
                    if job.opened.waiting:
                        self.summary.waiting.append(job.opened.input.path)
                    _close(job.opened)
                if journal is not None:
                    self._finish_journal(journal, jobs[-1], ok=ok)
        else:
            self.summary.open_messages = self.store.count_open_messages()
        return self.summary

    def _plan_journal(self, jobs: list):
        """Start journalctl from the stored cursor; its output is the last job."""
        from .journal import JournalReader
        reader = JournalReader(self.options.journal)
        try:
            jobs.append(reader.job(self.store, len(jobs)))
        except InputProblem as problem:
            self._problem(problem)
            return None
        return reader

    def _finish_journal(self, reader, job, *, ok: bool) -> None:
        for problem in reader.finish(ok=ok):
            self._problem(problem)
        if not ok:
            return  # the run failed: its error says why, not the summary
        known = self.store.file_progress(job.opened.fingerprint) or {}
        self.summary.journal = {"entries": (known.get("line_no") or 0) - job.line_no,
                                "cursor": known.get("cursor")}

    def _plan(self, inp: Input, jobs: list, planned: set, *, rotated_from: str | None = None) -> None:
        try:
            opened = open_input(inp)
        except InputProblem as problem:
            self._problem(problem)
            return
        if opened is not None:
            if rotated_from and self._plan_opened(opened, jobs, planned):
                self.summary.rotated.append({"file": inp.path, "rotated_from": rotated_from})
            elif not rotated_from:
                self._plan_opened(opened, jobs, planned)

    def _plan_opened(self, opened, jobs: list, planned: set) -> bool:
        """Plan one opened input; True when it has something to read."""
        inp = opened.input
        planned.add(inp.path)
        job = plan(opened, self.store, self.options, len(jobs))
        if isinstance(job, InputProblem):
            _close(opened)
            if not inp.explicit and opened.fingerprint and "not a log format" in job.message:
                if not self.store.remember_not_a_log(opened.fingerprint, inp.path, opened.size):
                    return False  # said once already, for this same file
            job.fatal = inp.explicit
            self._problem(job)
            return False
        self.summary.files_read += 1
        if job is None:
            _close(opened)  # nothing new
            return False
        jobs.append(job)
        return True

    def _after_rotation(self, problem: InputProblem, inputs: list) -> bool:
        """A named file that is missing right after its rotation: read the
        rotated file's rest instead, with a warning, not an error."""
        if not problem.fatal or problem.path == "-" or os.path.isdir(problem.path) or \
                self.store.last_read_at(problem.path) is None:
            return False
        rest = rotated_away(self.store, Input(problem.path, True), None)
        if rest is None:
            return False
        inputs.insert(0, rest)
        self.summary.rotated.append({"file": rest.path, "rotated_from": problem.path})
        self._problem(InputProblem(problem.path, f"{problem.path}: not there (rotated a moment ago?); "
                                                 f"read the rest of {rest.path}"))
        return True

    def _forget(self, path: str) -> None:
        """--reread: remove what this file produced, so it is read again."""
        try:
            opened = open_input(Input(path, True))
        except InputProblem as problem:
            problem.fatal = True
            self._problem(problem)
            return
        if opened is None or not opened.fingerprint:
            if opened is not None:
                _close(opened)
            return
        _close(opened)
        removed = self.store.forget_file(opened.fingerprint, self.config)
        self.summary.reread.append({"file": path, "events_removed": removed})

    def _problem(self, problem: InputProblem) -> None:
        self.summary.problems.append({"file": problem.path, "message": problem.message, "fatal": problem.fatal})

    # -- called by the pipeline, in the writing process --------------------
    def write(self, batch) -> None:
        """Store one batch in one transaction and count what it did."""
        result = self._write(batch)
        s = self.summary
        s.events_added.update(result.added)
        s.events_known += result.known + batch.repeats
        s.attempts_merged += batch.soft_facts - result.added.get("soft_bounced", 0) + result.resolver_soft
        s.resolver_demoted += result.resolver_demoted
        s.lines_read += batch.lines
        s.lines_by_format.update(batch.formats)
        s.skipped += batch.skipped
        s.rejected += len(batch.rejects)
        s.notices_skipped += batch.notices_skipped
        s.stale_closed += batch.stale_closed
        s.open_messages = batch.open_count
        s.problems.extend(batch.problems)
        if self.progress and batch.job is not None:
            self.progress(batch.job.opened, batch.position)


    def _write(self, batch):
        """One transaction. In a shared database another host's transaction
        can get in the way (both adding the same new person, a deadlock
        between their counts): the batch is rolled back whole, then tried
        again with nothing remembered from the failed try."""
        writer = self.writer
        for attempt in range(CONFLICT_RETRIES + 1):
            kept = (set(writer.seen), writer.new_persons) if self.store.is_shared else None
            try:
                with self.store.transaction():
                    return writer.write(batch.sends, batch.events, drops=batch.drops, rejects=batch.rejects,
                                        open_upserts=batch.open_upserts, open_deletes=batch.open_deletes,
                                        progress=batch.progress, finished=batch.finished)
            except Exception as exc:
                if kept is None or attempt == CONFLICT_RETRIES or not is_conflict(exc):
                    raise
                writer.forget()
                writer.seen, writer.new_persons = kept
                self.summary.conflicts_retried += 1
                time.sleep(random.uniform(0, 0.05 * 2 ** attempt))


def _close(opened) -> None:
    close = getattr(opened.stream, "close", None)
    if close and not opened.input.is_stdin:
        close()
        raw = getattr(opened.stream, "fileobj", None)
        if raw is not None:
            raw.close()


def _loads(text: str):
    import json
    return json.loads(text)
