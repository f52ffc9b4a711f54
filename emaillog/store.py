"""The SQLite database: schema, migrations, batched writes and queries.

One file, WAL mode (readers work while an ingest writes), created readable by
its owner only: it holds personal data. Each ingest batch (events, open
correlation state, rejects and how far each file was read) commits in ONE
transaction, so a run killed at any moment leaves the last committed batch
and nothing half-written.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported when needed: a cron run with nothing new stays quick
    import sqlite_utils


from .events import JSON_FIELDS, SOFT_BOUNCED, Event
from .file_safety import refuse_unsafe

EVENT_COLUMNS = (
    "ts", "type", "person", "campaign", "email", "message_id", "queue_id",
    "source_format", "host", "bounce_class", "reason", "smtp_code", "dsn",
    "detail", "url", "source", "attempts", "last_attempt", "machine", "note",
    "actor", "scope", "until", "send", "dedupe_key",
)

MIGRATIONS = []

MERGE_SOFT = """
    UPDATE events SET
        reason = CASE WHEN :last_attempt >= coalesce(last_attempt, '') THEN :reason ELSE reason END,
        detail = CASE WHEN :last_attempt >= coalesce(last_attempt, '') THEN :detail ELSE detail END,
        smtp_code = CASE WHEN :last_attempt >= coalesce(last_attempt, '') THEN coalesce(:smtp_code, smtp_code)
                         ELSE smtp_code END,
        dsn = CASE WHEN :last_attempt >= coalesce(last_attempt, '') THEN coalesce(:dsn, dsn) ELSE dsn END,
        attempts = max(coalesce(attempts, 0), :attempts),
        last_attempt = max(coalesce(last_attempt, ''), :last_attempt),
        ts = min(ts, :ts)
    WHERE dedupe_key = :dedupe_key"""


def migration(fn):
    """Append a migration to the ordered list; applied names are recorded."""
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_events(db: "sqlite_utils.Database"):
    db.execute("""
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,            -- UTC ISO 8601 (…Z)
            type TEXT NOT NULL,
            person TEXT NOT NULL,        -- lower-cased address
            campaign TEXT, email TEXT, message_id TEXT, queue_id TEXT,
            source_format TEXT, host TEXT,
            bounce_class TEXT, reason TEXT, smtp_code INTEGER, dsn TEXT,
            detail TEXT, url TEXT, source TEXT,
            attempts INTEGER, last_attempt TEXT,
            machine TEXT, note TEXT, actor TEXT,
            scope TEXT,                  -- manual suppressions/releases: a campaign, NULL = all
            until TEXT,                  -- manual suppressions: when it ends, NULL = until released
            send TEXT,                   -- the (message, person) a send event belongs to
            dedupe_key TEXT NOT NULL UNIQUE
        )""")
    db.execute("CREATE INDEX events_person_ts ON events (person, ts)")
    db.execute("CREATE INDEX events_campaign_type_ts ON events (campaign, type, ts)")
    db.execute("CREATE INDEX events_type_ts ON events (type, ts)")


@migration
def m002_ingest_state(db: "sqlite_utils.Database"):
    db.execute("""
        CREATE TABLE files (
            fingerprint TEXT PRIMARY KEY,  -- sha256 of the first line: survives renames and gzip
            path TEXT NOT NULL, device INTEGER, inode INTEGER,
            offset INTEGER NOT NULL,       -- bytes consumed (of the uncompressed text)
            line_no INTEGER NOT NULL,      -- lines consumed
            format TEXT, first_read TEXT, last_read TEXT
        )""")
    db.execute("""
        CREATE TABLE open_messages (
            key TEXT PRIMARY KEY, last_ts TEXT NOT NULL, state TEXT NOT NULL
        )""")
    db.execute("""
        CREATE TABLE rejects (
            id INTEGER PRIMARY KEY, file TEXT NOT NULL, line_no INTEGER,
            why TEXT NOT NULL, text TEXT, format TEXT, seen_at TEXT NOT NULL,
            file_fingerprint TEXT,
            UNIQUE (file_fingerprint, line_no)
        )""")


@migration
def m003_views(db: "sqlite_utils.Database"):
    """Readable views for sqlite-utils and Datasette (see views.py)."""
    from .config import Config
    from .views import sync_views
    defaults = Config()
    sync_views(db.conn, defaults.retry_window_hours, defaults.spam_block_hours)


class StoreError(RuntimeError):
    """A database problem, phrased for the operator."""


def default_db_path() -> Path:
    """`$EMAILLOG_DB`, else `$XDG_DATA_HOME/emaillog/emaillog.db`."""
    if os.environ.get("EMAILLOG_DB"):
        return Path(os.environ["EMAILLOG_DB"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "emaillog" / "emaillog.db"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """The database of one run. `create=False` refuses to make a new file."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        self.path = Path(path)
        self._db = None
        refuse_unsafe(self.path, sqlite=True)  # a file others could write decides nothing
        if not self.path.exists():
            if not create:
                raise StoreError(f"no database at {self.path}: run `emaillog ingest` first, or pass --db")
            self._create_file()
        try:
            self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA foreign_keys=ON")
            # Index pages of a big events table stay in memory during an ingest.
            self.conn.execute("PRAGMA cache_size=-32000")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a usable emaillog database ({exc}); "
                             "move it aside or pass another --db") from exc

    def _create_file(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            os.close(fd)
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create the database {self.path}: {exc.strerror}") from exc

    def _migrate(self) -> None:
        """Apply pending migrations; each checks again inside its own write
        transaction, so two processes opening a new file at once are safe."""
        self.conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
        applied = {r[0] for r in self.conn.execute("SELECT name FROM _migrations")}
        for fn in MIGRATIONS:
            if fn.__name__ in applied:
                continue
            with self.transaction():
                if self.conn.execute("SELECT 1 FROM _migrations WHERE name = ?", (fn.__name__,)).fetchone():
                    continue
                fn(self.db)
                self.conn.execute("INSERT INTO _migrations VALUES (?, ?)", (fn.__name__, _now()))

    @property
    def db(self) -> "sqlite_utils.Database":
        """sqlite-utils' view of the connection, for migrations and queries."""
        if self._db is None:
            import sqlite_utils
            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def close(self) -> None:
        self.conn.close()

    # -- transactions ------------------------------------------------------
    def transaction(self):
        return _Transaction(self.conn)

    def sync_views(self, config) -> None:
        """Bake the configured windows into the views (when they changed)."""
        from .views import sync_views
        with self.transaction():
            sync_views(self.conn, config.retry_window_hours, config.spam_block_hours)

    # -- ingest writes -----------------------------------------------------
    def write_batch(self, events: list[Event], *, rejects: Iterable[dict] = (),
                    open_upserts: Iterable[tuple[str, str, str]] = (), open_deletes: Iterable[str] = (),
                    file_progress: dict | None = None) -> dict[str, int]:
        """Store one batch atomically; returns the count of NEW events by type."""
        with self.transaction():
            cur = self.conn.cursor()
            insert = (f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES "
                      f"({', '.join('?' * len(EVENT_COLUMNS))}) ON CONFLICT(dedupe_key) DO NOTHING")
            rows = [event.row() for event in events]
            last_id = self.conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
            cur.executemany(insert, [[row[c] for c in EVENT_COLUMNS] for row in rows])  # log order
            added = dict(self.conn.execute(
                "SELECT type, count(*) FROM events WHERE id > ? GROUP BY type", (last_id,)))
            # Later deferrals of a known soft bounce: more attempts, newer
            # reason. max() keeps this idempotent when lines are read again.
            cur.executemany(MERGE_SOFT, [row for row in rows if row["type"] == SOFT_BOUNCED])
            cur.executemany("INSERT INTO open_messages (key, last_ts, state) VALUES (?, ?, ?) "
                            "ON CONFLICT(key) DO UPDATE SET last_ts=excluded.last_ts, state=excluded.state",
                            list(open_upserts))
            cur.executemany("DELETE FROM open_messages WHERE key = ?", [(k,) for k in open_deletes])
            cur.executemany(
                "INSERT INTO rejects (file, line_no, why, text, format, seen_at, file_fingerprint) "
                "VALUES (:file, :line_no, :why, :text, :format, :seen_at, :file_fingerprint) "
                "ON CONFLICT DO NOTHING", list(rejects))
            if file_progress:
                self._save_progress(cur, file_progress)
        return added

    @staticmethod
    def _save_progress(cur, p: dict) -> None:
        cur.execute("""
            INSERT INTO files (fingerprint, path, device, inode, offset, line_no, format, first_read, last_read)
            VALUES (:fingerprint, :path, :device, :inode, :offset, :line_no, :format, :now, :now)
            ON CONFLICT(fingerprint) DO UPDATE SET path=excluded.path, device=excluded.device,
                inode=excluded.inode, offset=excluded.offset, line_no=excluded.line_no,
                format=excluded.format, last_read=excluded.last_read""", {"now": _now(), **p})

    # -- ingest reads ------------------------------------------------------
    def file_progress(self, fingerprint: str) -> dict | None:
        row = self.conn.execute(
            "SELECT offset, line_no, path FROM files WHERE fingerprint = ?", (fingerprint,)).fetchone()
        return {"offset": row[0], "line_no": row[1], "path": row[2]} if row else None

    def open_messages(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT state FROM open_messages")]

    # -- queries -----------------------------------------------------------
    def events(self, *, person=None, campaign=None, types=None, since=None, until=None,
               through=None, newest_first=False, limit=None, columns=None) -> list[dict]:
        """Events matching the filters: `since` <= ts < `until`, ts <= `through`.
        `columns` narrows the rows (whole-table queries read less)."""
        where, args = [], []
        if person:
            where.append("person = ?")
            args.append(person.lower())
        if campaign:
            where.append("campaign = ?")
            args.append(campaign)
        if types:  # with a person, `+type` keeps SQLite on the person index
            where.append(f"{'+' if person else ''}type IN ({', '.join('?' * len(types))})")
            args.extend(types)
        if since:
            where.append("ts >= ?")
            args.append(since)
        if until:
            where.append("ts < ?")
            args.append(until)
        if through:
            where.append("ts <= ?")
            args.append(through)
        order = "DESC" if newest_first else "ASC"
        sql = (f"SELECT {', '.join(columns or (*JSON_FIELDS, 'scope', 'until', 'send'))} FROM events"
               + (f" WHERE {' AND '.join(where)}" if where else "")
               + f" ORDER BY ts {order}, id {order}"
               + (f" LIMIT {int(limit)}" if limit else ""))
        cur = self.conn.execute(sql, args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    def send_resolutions(self, sends: list[str], types: tuple[str, ...]) -> dict[str, str]:
        """send -> the earliest time one of `types` happened to it (looked up
        by event key, `<send>|<type>`, through the unique index)."""
        keys = [f"{send}|{kind}" for send in sends for kind in types]
        found: dict[str, str] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            sql = f"SELECT send, ts FROM events WHERE dedupe_key IN ({', '.join('?' * len(chunk))})"
            for send, ts in self.conn.execute(sql, chunk):
                if send not in found or ts < found[send]:
                    found[send] = ts
        return found

    def add_event(self, event: Event) -> int:
        """Store one event (an operator's action); returns its id."""
        row = event.row()
        with self.transaction():
            cur = self.conn.execute(
                f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                [row[c] for c in EVENT_COLUMNS])
        return cur.lastrowid

    def rejects(self, limit: int | None = None) -> list[dict]:
        cur = self.conn.execute(
            "SELECT file, line_no, why, text, format, seen_at FROM rejects ORDER BY id"
            + (f" LIMIT {int(limit)}" if limit else ""))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur]

    def send_by_message_id(self, message_id: str) -> dict | None:
        """The earliest `sent` event of a message (for tracking tokens): by its
        Message-ID with or without <>, or by the Message-ID's local part."""
        token = (message_id or "").strip().strip("<>")
        if not token:
            return None
        like = token.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "@%"
        cur = self.conn.execute(
            f"SELECT {', '.join(JSON_FIELDS)} FROM events WHERE type = 'sent' AND "
            "(message_id IN (?, ?) OR message_id LIKE ? ESCAPE '\\' OR message_id LIKE ? ESCAPE '\\') "
            "ORDER BY ts, id LIMIT 1",
            (token, f"<{token}>", like, "<" + like))
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row)) if row else None


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

