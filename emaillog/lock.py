"""One ingest at a time per database: overlapping cron runs must not both
write. The lock is an flock on `<db>.lock`, released by the kernel even when
the process is killed."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .file_safety import refuse_unsafe


class LockTimeout(RuntimeError):
    """Another ingest held the lock for longer than we were willing to wait."""


class IngestLock:
    def __init__(self, db_path: Path, wait_seconds: float):
        self.path = Path(str(db_path) + ".lock")
        self.wait_seconds = wait_seconds
        self.fd: int | None = None

    def __enter__(self):
        refuse_unsafe(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600)
        deadline = time.monotonic() + self.wait_seconds
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise LockTimeout(
                        f"another emaillog ingest is writing to this database (lock {self.path}); "
                        f"gave up after {self.wait_seconds:g}s, nothing was read") from None
                time.sleep(0.1)

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False
