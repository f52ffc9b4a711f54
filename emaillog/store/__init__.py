"""The database: one SQLite file in WAL mode (readers work while an ingest
writes), created readable by its owner only: it holds personal data; or a
PostgreSQL database that many hosts write into (postgres.py, a libpq URL).

Each ingest batch (sends and other events, the derived state, open
correlation state, rejects and how far each file was read) commits in ONE
transaction, so a run killed at any moment leaves the last committed batch
and nothing half-written. The layout is in schema.py; writer.py writes
batches, reader.py gives the SPEC's event stream back.
"""

from __future__ import annotations

import os
import socket
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from ..file_safety import refuse_unsafe
from .dialect import POSTGRES, SQLITE
from .postgres import PostgresProblem, is_url, redacted
from .schema import MIGRATIONS


NOT_A_LOG = "-"  # files.format of a file looked at that is not a log


class StoreError(RuntimeError):
    """A database problem, phrased for the operator."""


def default_db_path() -> Path | str:
    """`$EMAILLOG_DB` (a file or a postgresql:// URL), else
    `$XDG_DATA_HOME/emaillog/emaillog.db`."""
    if os.environ.get("EMAILLOG_DB"):
        return db_target(os.environ["EMAILLOG_DB"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "emaillog" / "emaillog.db"


def db_target(value: str | os.PathLike) -> Path | str:
    """A URL stays a URL; anything else is a file name."""
    return value if is_url(value) else Path(value)


def this_host() -> str:
    """The name this machine writes under in a shared database."""
    return os.environ.get("EMAILLOG_HOST") or socket.gethostname()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """The database of one run. `create=False` refuses to make a new file.
    Opening a database of an older layout brings it up to date (`progress`,
    a callable(done, total), is told how the conversion goes)."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True, progress=None):
        self._reader = None
        self.applied: list[str] = []  # migrations this open applied
        if is_url(path):
            self._open_postgres(path, progress, create)
            return
        self.path = Path(path)
        self.name = str(self.path)
        self.dialect = SQLITE
        self.host = None
        self.prefix = ""  # one machine's file: fingerprints and message keys as they are
        refuse_unsafe(self.path, sqlite=True)  # a file others could write decides nothing
        if not self.path.exists():
            if not create:
                raise StoreError(f"no database at {self.path}: run `emaillog ingest` first, or pass --db")
            self._create_file()
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA temp_store=MEMORY")
            # Index pages of a big store stay in memory during an ingest.
            self.conn.execute("PRAGMA cache_size=-16000")
            # The WAL is copied into the database every 16,000 pages (64 MB), not every
            # 1,000: an ingest rewrites the same index pages batch after batch, and
            # each checkpoint writes a page once however often it changed.
            self.conn.execute("PRAGMA wal_autocheckpoint=16000")
            # A deleted or rewritten row's bytes are zeroed where that costs no
            # extra I/O, so an erased address rarely lingers in free space
            # (`emaillog forget` checks the files and vacuums when it does).
            self.conn.execute("PRAGMA secure_delete=FAST")
            self._migrate(progress)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable emaillog database ({exc}); "
                             "move it aside or pass another --db") from exc

    def _open_postgres(self, url: str, progress, create: bool) -> None:
        """A shared database: what one host reads (file positions, open
        messages) is kept under its name, so hosts never read each other's."""
        from .postgres import connect
        self.path = url  # what --db was given: a file's Path, or this URL
        self.name = redacted(url)
        self.dialect = POSTGRES
        self.host = this_host()
        self.prefix = f"{self.host}:"
        try:
            self.conn = connect(url)
        except PostgresProblem as exc:
            raise StoreError(str(exc)) from None
        try:
            if not create and not self.dialect.has_table(self.conn, "_migrations"):
                raise StoreError(f"no emaillog database at {self.name} (the schema is empty): "
                                 "run `emaillog ingest` first, or pass --db")
            self._migrate(progress)
        except BaseException:
            self.conn.close()
            raise

    def file_key(self, fingerprint: str | None) -> str | None:
        """files.fingerprint of an input read on this host."""
        return None if fingerprint is None else self.prefix + fingerprint

    def _create_file(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create the database {self.path}: {exc.strerror}") from exc

    def pending_migrations(self) -> list[str]:
        have = self.dialect.has_table(self.conn, "_migrations")
        applied = {r[0] for r in self.conn.execute("SELECT name FROM _migrations")} if have else set()
        return [fn.__name__ for fn in MIGRATIONS if fn.__name__ not in applied]

    def _migrate(self, progress=None) -> None:
        """Apply pending migrations; each checks again inside its own write
        transaction, so two processes opening a new file at once are safe."""
        if not self.pending_migrations():
            return
        with self.transaction():
            self._lock_for_migrations()
            self.conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        from . import convert
        convert.PROGRESS = progress
        for fn in MIGRATIONS:
            with self.transaction():
                self._lock_for_migrations()
                if self.conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (fn.__name__,)).fetchone():
                    continue
                fn(self.conn)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?)", (fn.__name__, _now()))
                self.applied.append(fn.__name__)
        convert.PROGRESS = None
        if self.applied:  # the views of the layout now in place (ingest adjusts them to the config)
            from ..config import Config
            from .views import sync_views
            defaults = Config()
            with self.transaction():
                self._lock_for_migrations()  # hosts opening a new database at once: one makes the views
                sync_views(self.conn, defaults.retry_window_hours, defaults.spam_block_hours)

    def _lock_for_migrations(self) -> None:
        """PostgreSQL: hosts changing the layout or the views take turns, until
        the transaction ends (one SQLite writer at a time needs no lock)."""
        if self.dialect is POSTGRES:
            from .postgres import lock_for_migrations
            lock_for_migrations(self.conn)

    def close(self) -> None:
        self.conn.close()

    def transaction(self):
        return _Transaction(self.conn)

    @property
    def is_shared(self) -> bool:
        """Other hosts may write at the same time (PostgreSQL)."""
        return self.dialect is POSTGRES

    # -- settings the derived state depends on ------------------------------
    def sync_config(self, config) -> bool:
        """Bring the views and the suppression intervals in line with the
        configured windows (when they changed); True when anything changed."""
        from .views import sync_views, windows
        wanted = windows(config)
        with self.transaction():
            self._lock_for_migrations()  # hosts starting at once: one replaces the views, the others find them done
            have = self.conn.execute("SELECT value FROM meta WHERE key = 'windows'").fetchone()
            changed = sync_views(self.conn, config.retry_window_hours, config.spam_block_hours)
            if have is None or have[0] != wanted:
                from .suppressions import rebuild
                rebuild(self.conn, config)
                self.conn.execute("INSERT INTO meta VALUES ('windows', ?) "
                                  "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (wanted,))
                changed = True
        return changed

    sync_views = sync_config  # the name the first release used

    # -- writing -------------------------------------------------------------
    def writer(self, config):
        from .writer import Writer
        return Writer(self.conn, config, prefix=self.prefix)

    def add_event(self, event, config=None) -> int:
        """Store one event (an operator's action); returns its event id. A
        release also lifts what was kept for the address when it was forgotten."""
        from ..config import Config
        with self.transaction():
            writer = self.writer(config or Config())
            writer.write([], [event])
            if event.type == "released":
                from .forget import release
                self.lifted = release(self.conn, event.person, writer.name("campaign", event.scope),
                                      int(event.ts.timestamp()))
        return writer.last_action * 4 + 3

    lifted = 0  # suppressions of a forgotten person the last add_event lifted

    def rebuild(self, config) -> dict:
        """The derived state (a soft bounce's copy of its send's person and
        campaign, hourly counts, suppression intervals) computed again from
        the sends and actions, in one transaction; returns how
        many rows each table holds after."""
        from .schema import SOFT_FROM_SENDS
        from .suppressions import rebuild as rebuild_suppressions
        with self.transaction():
            self.conn.execute(SOFT_FROM_SENDS)
            self.writer(config).rebuild_counts()
            rebuild_suppressions(self.conn, config)
        return {t: self.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("counts", "domain_counts", "suppressions")}

    # -- ingest reads --------------------------------------------------------
    def file_progress(self, fingerprint: str) -> dict | None:
        row = self.conn.execute('SELECT "offset", line_no, path, complete, format, cursor FROM files '
                                "WHERE fingerprint = ?", (self.file_key(fingerprint),)).fetchone()
        return {"offset": row[0], "line_no": row[1], "path": row[2], "complete": row[3], "format": row[4],
                "cursor": row[5]} if row else None

    def last_read_at(self, path: str) -> dict | None:
        """The file last read under this path (before a rotation, say)."""
        row = self.conn.execute('SELECT fingerprint, "offset", line_no, complete FROM files WHERE path = ? '
                                "AND substr(fingerprint, 1, ?) = ? ORDER BY last_read DESC LIMIT 1",
                                (path, len(self.prefix), self.prefix)).fetchone()
        return {"fingerprint": row[0][len(self.prefix):], "offset": row[1], "line_no": row[2],
                "complete": row[3]} if row else None

    def remember_not_a_log(self, fingerprint: str, path: str, size: int | None) -> bool:
        """Note that this file was looked at and is not a log; False when that
        was known already (for the same text), so the warning is said once."""
        row = self.conn.execute('SELECT format, "offset" FROM files WHERE fingerprint = ?',
                                (self.file_key(fingerprint),)).fetchone()
        if row and row[0] == NOT_A_LOG and row[1] == (size or 0):
            return False
        from .writer import save_progress
        with self.transaction():
            save_progress(self.conn.cursor(), {"fingerprint": self.file_key(fingerprint), "path": path, "device": None,
                                               "inode": None, "offset": size or 0, "line_no": 0,
                                               "format": NOT_A_LOG})
        return True

    def forget_file(self, fingerprint: str, config) -> int:
        """Remove what one input produced (its events, rejects and read
        position), so it can be read again; returns how many events went."""
        with self.transaction():
            return self.writer(config).remove_source(self.file_key(fingerprint))

    def open_messages(self) -> list[str]:
        """The open correlation state this host left."""
        return [r[0] for r in self.conn.execute("SELECT state FROM open_messages WHERE substr(key, 1, ?) = ?",
                                                (len(self.prefix), self.prefix))]

    def count_open_messages(self) -> int:
        return self.conn.execute("SELECT count(*) FROM open_messages WHERE substr(key, 1, ?) = ?",
                                 (len(self.prefix), self.prefix)).fetchone()[0]

    # -- queries -------------------------------------------------------------
    @property
    def reader(self):
        if self._reader is None:
            from .reader import Reader
            self._reader = Reader(self.conn)
        return self._reader

    def events(self, **filters) -> list[dict]:
        """Events matching the filters (see Reader.events), as a list."""
        return list(self.reader.events(**filters))

    def send_by_message_id(self, message_id: str) -> dict | None:
        return self.reader.send_by_message_id(message_id)

    def rejects(self, limit: int | None = None) -> list[dict]:
        return list(self.iter_rejects(limit))

    def iter_rejects(self, limit: int | None = None):
        cur = self.conn.execute(
            "SELECT file, line_no, why, text, format, seen_at FROM rejects ORDER BY id"
            + (f" LIMIT {int(limit)}" if limit else ""))
        names = [d[0] for d in cur.description]
        return (dict(zip(names, row)) for row in cur)

    def count_rejects(self) -> int:
        return self.conn.execute("SELECT count(*) FROM rejects").fetchone()[0]


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.conn.execute("COMMIT")
        elif self.conn.in_transaction:  # SQLite may have rolled back already (disk full)
            self.conn.execute("ROLLBACK")
        return False
