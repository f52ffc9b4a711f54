"""Which inputs need reading, from where, and as which format."""

from __future__ import annotations

from dataclasses import dataclass

from .. import formats
from ..inputs import InputProblem, OpenedInput
from ..store import NOT_A_LOG
from ..timestamps import Clock
from .rotation import looks_rotated

FINISHED_AFTER = 3600  # seconds without a write after which a log is finished


@dataclass
class Job:
    """One input to read: from `offset` (bytes of its text) and `line_no`."""

    index: int
    opened: OpenedInput
    module: object          # the format module
    offset: int
    line_no: int
    clock: Clock
    cursor: str | None = None  # the journal: the __CURSOR it resumes after

    @property
    def final(self) -> bool:
        """No longer written: a last line without its newline is complete.
        A compressed file or standard input cannot grow; a file with a
        rotated name, or not written for an hour, is finished."""
        opened = self.opened
        if opened.final is not None:
            return opened.final
        if opened.compressed or opened.input.is_stdin or looks_rotated(opened.input.path):
            return True
        from datetime import datetime, timezone
        return (datetime.now(timezone.utc) - opened.mtime).total_seconds() > FINISHED_AFTER

    @property
    def remaining(self) -> int:
        size = self.opened.size or 0
        return max(size - self.offset, 0) if not self.opened.compressed else size * 4


def detect(opened: OpenedInput, forced: str) -> object | InputProblem:
    if forced != "auto":
        return formats.FORMATS[forced]
    module, why = formats.detect_file(opened.head)
    if module is None:
        return InputProblem(opened.input.path, f"{opened.input.path}: not a log format we know ({why}); "
                                               "pass --format to force one")
    return module


def plan(opened: OpenedInput, store, options, index: int = 0) -> Job | InputProblem | None:
    """The job for an opened input, a problem, or None when nothing is new."""
    module = detect(opened, options.format)
    if isinstance(module, InputProblem):
        return module
    known = store.file_progress(opened.fingerprint) if opened.fingerprint else None
    if known and known.get("format") == NOT_A_LOG:
        known = None  # looked at before, not a log then; it is one now
    offset, line_no = (known["offset"], known["line_no"]) if known else (0, 0)
    if known and known.get("complete") and opened.compressed:
        return None  # a compressed file never grows: read to its end before
    if not opened.compressed and opened.size is not None:
        if opened.size < offset:
            offset, line_no = 0, 0  # copytruncate: the same first line, less text
        elif opened.size == offset and offset:
            return None
    clock = Clock(opened.mtime, year=options.year, tz=options.tz)
    return Job(index, opened, module, offset, line_no, clock)
