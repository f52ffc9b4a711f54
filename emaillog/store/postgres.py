"""A PostgreSQL database behind the same small connection interface the
store uses with SQLite (`execute`, `executemany`, `cursor`), so that the
store's SQL is written once.

psycopg 3 is an extra (`pip install 'emaillog[postgres]'`). The connection
runs in autocommit mode and the store brackets its transactions itself, as
with SQLite. Locks that must span machines are advisory locks, named in the
current schema so that two emaillog schemas in one database do not meet.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit, urlunsplit

from .dialect import POSTGRES

URL_SCHEMES = ("postgresql://", "postgres://")
INSTALL = "pip install 'emaillog[postgres]'"


def is_url(target) -> bool:
    """A libpq URL, never a file name (a file named so would need ./)."""
    return isinstance(target, str) and target.startswith(URL_SCHEMES)


_PASSWORD_PARAM = re.compile(r"(^|&)(password=)[^&]*")


def redacted(url: str) -> str:
    """The URL without its password (user:password@ or ?password=), for messages."""
    head, mark, query = url.partition("?")
    parts = urlsplit(head)
    if parts.password is not None:
        netloc = parts.netloc.rpartition("@")
        user = netloc[0].split(":", 1)[0]
        head = urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[2]}"))
    return head + mark + _PASSWORD_PARAM.sub(r"\1\2***", query)


class PostgresProblem(RuntimeError):
    """Connecting or talking to PostgreSQL failed, phrased for the operator."""


# What libpq and psycopg say when the server cannot be reached, is not ready
# yet (or any more), or ends the session under a run.
UNREACHABLE = ("Connection refused", "could not connect", "No such file or directory", "timeout expired",
               "could not translate host name", "failed to resolve host")
NOT_READY = ("the database system is starting up", "the database system is shutting down",
             "the database system is in recovery mode", "the database system is not yet accepting connections")
CUT_OFF = ("terminating connection", "server closed the connection", "connection is lost", "consuming input failed",
           "the connection is closed")


def explain(exc: Exception, url: str) -> str:
    """One sentence for the failures a user meets."""
    text = str(exc).strip()
    where = redacted(url)
    if "password authentication failed" in text or "no password supplied" in text:
        user = re.search(r'for user "([^"]*)"', text)
        return (f"PostgreSQL refused the login{' of ' + user.group(1) if user else ''} at {where}: "
                "check the user and password (in the URL, PGPASSWORD or ~/.pgpass)")
    found = re.search(r'database "([^"]*)" does not exist', text)
    if found:
        return f"the PostgreSQL database {found.group(1)} does not exist: create it (createdb {found.group(1)})"
    found = re.search(r'role "([^"]*)" does not exist', text)
    if found:
        return f"PostgreSQL has no user {found.group(1)}: create it (createuser {found.group(1)}) or use another"
    if "permission denied" in text:
        detail = text.splitlines()[0].removeprefix("ERROR:").strip()
        return f"PostgreSQL denied emaillog what it needs at {where} ({detail}): grant the user rights on its schema"
    if any(phrase in text for phrase in UNREACHABLE):
        return f"cannot reach the PostgreSQL server at {where}: is it running, and is the host and port right?"
    if any(phrase in text for phrase in NOT_READY):
        return f"the PostgreSQL server at {where} is starting up or shutting down: try again in a moment"
    if any(phrase in text for phrase in CUT_OFF):
        return ("the PostgreSQL server closed the connection mid-run (restarted?): what was committed is kept, "
                "the next run resumes from there")
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"PostgreSQL at {where}: {first}"


def connect(url: str) -> "Connection":
    try:
        import psycopg
    except ImportError:
        raise PostgresProblem(f"a PostgreSQL database needs psycopg, which is not installed: {INSTALL}") from None
    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10, application_name="emaillog")
    except psycopg.Error as exc:
        raise PostgresProblem(explain(exc, url)) from exc
    _numbers_as_python(raw)
    return Connection(raw, url)


def _numbers_as_python(raw) -> None:
    """NUMERIC (what sum() over BIGINT gives, and rounded rates) as int or
    float, as SQLite gives them: answers and their JSON do not change with
    the backend."""
    from psycopg.adapt import Loader

    class Number(Loader):
        def load(self, data):
            text = bytes(data).decode()
            try:
                return int(text)
            except ValueError:
                return float(text)

    raw.adapters.register_loader("numeric", Number)


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_IS_PARAM = re.compile(r"\bIS \?")


def translate(sql: str, named: bool) -> str:
    """SQLite's placeholders as psycopg's (`?` -> %s, `:name` -> %(name)s)."""
    sql = sql.replace("%", "%%")
    sql = _IS_PARAM.sub("IS NOT DISTINCT FROM ?", sql)
    if named:
        return _NAMED.sub(r"%(\1)s", sql)
    return sql.replace("?", "%s")


class Cursor:
    """A psycopg cursor that takes the store's SQL."""

    def __init__(self, conn: "Connection"):
        self.conn = conn
        self.raw = conn.raw.cursor()

    def execute(self, sql: str, params=None) -> "Cursor":
        self.conn.run(self.raw.execute, sql, params)
        return self

    def executemany(self, sql: str, seq) -> "Cursor":
        seq = list(seq)
        if seq:
            self.conn.run(self.raw.executemany, sql, seq, many=True)
        return self

    def fetchone(self):
        return self.raw.fetchone()

    def fetchall(self):
        return self.raw.fetchall()

    def fetchmany(self, size: int):
        return self.raw.fetchmany(size)

    @property
    def description(self):
        return self.raw.description

    @property
    def rowcount(self) -> int:
        return self.raw.rowcount

    def __iter__(self):
        return iter(self.raw)

    def close(self) -> None:
        self.raw.close()


class Connection:
    """The store's connection to PostgreSQL."""

    dialect = POSTGRES

    def __init__(self, raw, url: str):
        self.raw = raw
        self.url = url
        self._translated: dict[tuple[str, bool], str] = {}

    def run(self, method, sql: str, params, many: bool = False):
        if sql == "BEGIN IMMEDIATE":
            sql = "BEGIN"
        if params is None or (not many and not params):
            return method(sql) if not many else method(sql, params)
        named = isinstance(params[0] if many else params, dict)
        key = (sql, named)
        query = self._translated.get(key)
        if query is None:
            query = self._translated[key] = translate(sql, named)
        return method(query, params)

    def execute(self, sql: str, params=None) -> Cursor:
        return Cursor(self).execute(sql, params)

    def executemany(self, sql: str, seq) -> Cursor:
        return Cursor(self).executemany(sql, seq)

    def cursor(self) -> Cursor:
        return Cursor(self)

    def copy_rows(self, table: str, columns: tuple[str, ...], rows) -> None:
        """Rows into a table with COPY (the fast path for many rows)."""
        with self.raw.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    @property
    def in_transaction(self) -> bool:
        from psycopg.pq import TransactionStatus
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self.raw.close()


# -- advisory locks ----------------------------------------------------------

def _lock_key(name: str) -> str:
    return f"hashtext(current_schema() || ':emaillog:' || {name})"


def lock_for_migrations(conn: Connection) -> None:
    """Held until the transaction ends: hosts that start together migrate one
    after the other, and the second finds nothing left to do."""
    conn.execute(f"SELECT pg_advisory_xact_lock({_lock_key('?')})", ("migrate",))


def try_lock(conn: Connection, name: str) -> bool:
    """A session lock, released when the connection ends, however it ends."""
    return conn.execute(f"SELECT pg_try_advisory_lock({_lock_key('?')})", (name,)).fetchone()[0]


def unlock(conn: Connection, name: str) -> None:
    conn.execute(f"SELECT pg_advisory_unlock({_lock_key('?')})", (name,))


def wait_for_lock(conn: Connection, name: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not try_lock(conn, name):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def is_postgres_error(exc: BaseException) -> bool:
    """An error psycopg raised (without importing psycopg where it is absent)."""
    return type(exc).__module__.startswith("psycopg")


def is_conflict(exc: BaseException) -> bool:
    """A deadlock, a serialisation failure or a unique key another writer took
    a moment before: the transaction can be tried again."""
    return getattr(exc, "sqlstate", None) in ("40P01", "40001", "23505")
