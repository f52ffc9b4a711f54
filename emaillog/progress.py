"""A progress bar with rate and ETA for big ingests on a terminal; never in
cron output (only when stderr is a TTY and the input is large)."""

from __future__ import annotations

import os

MIN_BYTES = 20 * 1024 * 1024


class IngestProgress:
    """Context manager; call it as `progress(opened, offset)` after each batch."""

    def __init__(self, paths: list[str]):
        self.sizes = {}
        for path in paths:
            for root, _, files in (os.walk(path) if os.path.isdir(path) else [("", None, [path])]):
                for name in files:
                    full = os.path.join(root, name) if root else name
                    try:
                        self.sizes[full] = os.path.getsize(full)
                    except OSError:
                        pass
        self.done: dict[str, int] = {}
        self.bar = None

    @property
    def total(self) -> int:
        return sum(self.sizes.values())

    def __enter__(self):
        if self.total >= MIN_BYTES:
            from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn,
                                       TimeRemainingColumn, TransferSpeedColumn)
            self.bar = Progress(TextColumn("ingest"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                                TimeRemainingColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("ingest", total=self.total)
        return self

    def __call__(self, opened, offset: int) -> None:
        if self.bar is None or opened.input.path not in self.sizes:
            return  # (the journal: no size to count against)
        raw = getattr(opened.stream, "fileobj", None)  # gzip: position in the compressed file
        self.done[opened.input.path] = raw.tell() if raw is not None else offset
        self.bar.update(self.task, completed=sum(self.done.values()))

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


class migration_progress:
    """A progress bar for converting an older database (on a terminal);
    yields the callable(done, total) Store wants, or None."""

    def __init__(self, label: str = "converting the database"):
        self.label = label

    def __enter__(self):
        import sys
        self.bar = None
        if not sys.stderr.isatty():
            return None
        return self.update

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
            self.bar = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), transient=True)
            self.bar.start()
            self.task = self.bar.add_task("convert", total=total)
        self.bar.update(self.task, completed=done)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False
