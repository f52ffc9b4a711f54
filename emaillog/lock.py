"""One ingest at a time per database: overlapping cron runs must not both
write. The lock is an flock on `<db>.lock`, released by the kernel even when
the process is killed. In a shared PostgreSQL database it is an advisory
lock per host (flock cannot span machines): two runs on one host take turns,
different hosts write at the same time; the server releases it when the
run's connection ends, however it ends."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .file_safety import refuse_unsafe
from .store.postgres import is_url


class LockTimeout(RuntimeError):
    """Another ingest held the lock for longer than we were willing to wait."""


class IngestLock:
    def __init__(self, db_path: Path | str, wait_seconds: float):
        self.url = db_path if is_url(db_path) else None
        self.path = None if self.url else Path(str(db_path) + ".lock")
        self.wait_seconds = wait_seconds
        self.fd: int | None = None
        self.conn = None

    def __enter__(self):
        if self.url:
            return self._enter_shared()
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

    def _enter_shared(self):
        from .store import this_host
        from .store.postgres import connect, wait_for_lock
        self.conn = connect(self.url)
        self.name = f"ingest:{this_host()}"
        if not wait_for_lock(self.conn, self.name, self.wait_seconds):
            self.conn.close()
            self.conn = None
            raise LockTimeout(f"another emaillog ingest on this host ({this_host()}) is writing to this database; "
                              f"gave up after {self.wait_seconds:g}s, nothing was read")
        return self

    def __exit__(self, *exc):
        if self.conn is not None:
            self.conn.close()  # the advisory lock ends with the session
            self.conn = None
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False
