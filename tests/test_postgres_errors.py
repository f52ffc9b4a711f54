"""What a user meets when a PostgreSQL --db goes wrong: the installed
command exits non-zero with one sentence on stderr that names the problem,
never a traceback and never the password. The server down, a wrong
password, a missing database, missing rights, the server restarting
mid-run (the run fails cleanly, the next one resumes), psycopg not
installed, and `forget`, which stays SQLite's.

Tests that need psycopg or the server take `server`: skipped without one,
failed under CI=true, as conftest's postgres_url does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from conftest import LOGS, ROOT, emaillog_command, postgres_url

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate_postfix import generate  # noqa: E402

LOG = LOGS / "postfix" / "scenario.log"
SECRET = "s3cret-pw-42"  # must never be printed
INSTALL = "pip install 'emaillog[postgres]'"


def env_for(tmp_path, extra=None) -> dict:
    """The test's environment, with no $EMAILLOG_DB and a home of its own."""
    env = {k: v for k, v in os.environ.items() if k != "EMAILLOG_DB"}
    env.update({"EMAILLOG_CONFIG": "", "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
                "XDG_DATA_HOME": str(tmp_path / "data"), "TZ": "UTC", "COLUMNS": "200"})
    return {**env, **(extra or {})}


def emaillog(tmp_path, *args, env=None, cwd=None, timeout=60) -> subprocess.CompletedProcess:
    """The installed command."""
    return subprocess.run([*emaillog_command(), *map(str, args)], capture_output=True, text=True,
                          env=env_for(tmp_path, env), cwd=cwd, timeout=timeout)


def one_sentence(result: subprocess.CompletedProcess) -> str:
    """The message of a failed run: one line on stderr, as the CLI writes it."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("emaillog: "), result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr and SECRET not in result.stdout
    return lines[0]


@dataclass
class Server:
    """The test server, and a fresh schema in it (dropped after the test)."""
    url: str  # the fresh schema's URL, as postgres_url gives it
    schema: str
    host: str
    port: int
    dbname: str
    user: str

    def url_for(self, *, user=None, password=None, dbname=None, schema=None) -> str:
        """A URL of this server with another user, password, database or schema."""
        auth = quote(user or self.user, safe="") + (f":{quote(password, safe='')}" if password else "")
        params = {}
        if self.host.startswith("/"):  # a socket directory
            netloc = f"{auth}@"
            params.update(host=self.host, port=self.port)
        else:
            host = f"[{self.host}]" if ":" in self.host else self.host
            netloc = f"{auth}@{host}:{self.port}"
        if schema:
            params["options"] = f"-csearch_path={schema}"
        query = f"?{urlencode(params)}" if params else ""
        return f"postgresql://{netloc}/{quote(dbname or self.dbname, safe='')}{query}"


@pytest.fixture
def server(request) -> Server:
    import psycopg
    url = postgres_url(request)
    with psycopg.connect(url) as conn:
        schema = conn.execute("SELECT current_schema()").fetchone()[0]
        info = conn.info
        return Server(url, schema, info.host, info.port, info.dbname, info.user)


def refuses_password(server: Server) -> bool:
    import psycopg
    try:
        psycopg.connect(server.url_for(password="not-" + SECRET), connect_timeout=5).close()
    except psycopg.OperationalError:
        return True
    return False  # the server trusts this client: it asks no password


# -- connecting ---------------------------------------------------------------

@pytest.mark.parametrize(("url", "command"), [
    (f"postgresql://root:{SECRET}@localhost:1/x", ("ingest", LOG)),
    (f"postgresql://root@/x?host=/nonexistent-errtest&password={SECRET}&port=5432", ("stats",)),
], ids=["tcp-ingest", "socket-stats"])
def test_server_down(server, tmp_path, url, command):
    message = one_sentence(emaillog(tmp_path, "--db", url, *command))
    assert "cannot reach the PostgreSQL server" in message and "is it running" in message


# What the server says in cases the tests cannot bring about on demand.
SAID = [
    ("failed to resolve host 'db.invalid': [Errno -2] Name or service not known", "cannot reach the PostgreSQL server"),
    ("connection timeout expired", "cannot reach the PostgreSQL server"),
    ('connection failed: connection to server at "127.0.0.1", port 5440 failed: FATAL:  the database system is '
     "starting up", "is starting up or shutting down: try again"),
    ("FATAL:  the database system is shutting down", "is starting up or shutting down: try again"),
    ("server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally",
     "closed the connection mid-run"),
    ("consuming input failed: server closed the connection unexpectedly", "closed the connection mid-run"),
]


@pytest.mark.parametrize(("said", "sentence"), SAID, ids=["dns", "timeout", "starting", "stopping", "closed", "input"])
def test_what_the_server_says_is_told_in_one_sentence(said, sentence):
    from emaillog.store.postgres import explain
    message = explain(RuntimeError(said), f"postgresql://root:{SECRET}@db.invalid/x")
    assert sentence in message and "\n" not in message and SECRET not in message


@pytest.mark.parametrize(("url", "shown"), [
    (f"postgresql://root:{SECRET}@db/x", "postgresql://root:***@db/x"),
    (f"postgresql://root@db/x?sslmode=require&password={SECRET}", "postgresql://root@db/x?sslmode=require&password=***"),
    (f"postgresql://?password={SECRET}&options=-cx", "postgresql://?password=***&options=-cx"),
    ("postgresql://?options=-csearch_path%3Dt", "postgresql://?options=-csearch_path%3Dt"),
])
def test_messages_show_the_url_without_its_password(url, shown):
    from emaillog.store.postgres import redacted
    assert redacted(url) == shown


def test_wrong_password(server, tmp_path):
    if not refuses_password(server):
        pytest.skip(f"the server at {server.host}:{server.port} trusts this client: no password is checked")
    message = one_sentence(emaillog(tmp_path, "--db", server.url_for(password=SECRET), "ingest", LOG))
    assert f"PostgreSQL refused the login of {server.user}" in message
    assert "check the user and password" in message


def test_database_missing(server, tmp_path):
    message = one_sentence(emaillog(tmp_path, "--db", server.url_for(dbname="errtest_nonexistent"), "ingest", LOG))
    assert "the PostgreSQL database errtest_nonexistent does not exist" in message
    assert "createdb errtest_nonexistent" in message


@pytest.fixture
def reader(server, request) -> str:
    """A URL of the fresh schema as errtest_reader, who may use the schema
    but not create anything in it."""
    import psycopg
    with psycopg.connect(server.url, autocommit=True) as conn:
        try:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'errtest_reader'").fetchone():
                _drop_reader(server.url)  # left by a run that was killed
            conn.execute(f"CREATE ROLE errtest_reader LOGIN PASSWORD '{SECRET}'")
        except psycopg.errors.InsufficientPrivilege:
            pytest.skip(f"{server.user} may not create roles")
        request.addfinalizer(lambda: _drop_reader(server.url))
        conn.execute(f"GRANT USAGE ON SCHEMA {server.schema} TO errtest_reader")
    return server.url_for(user="errtest_reader", password=SECRET, schema=server.schema)


def _drop_reader(url: str) -> None:
    import psycopg
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP OWNED BY errtest_reader")  # its grant on the schema
        conn.execute("DROP ROLE errtest_reader")


@pytest.mark.parametrize("spelling", ["--db URL", "--db=URL", "EMAILLOG_DB"])
def test_permission_denied(server, reader, tmp_path, spelling):
    if spelling == "EMAILLOG_DB":
        result = emaillog(tmp_path, "ingest", LOG, env={"EMAILLOG_DB": reader})
    else:
        db = ["--db", reader] if spelling == "--db URL" else [f"--db={reader}"]
        result = emaillog(tmp_path, *db, "ingest", LOG)
    message = one_sentence(result)
    assert "PostgreSQL denied emaillog what it needs" in message
    assert f"permission denied for schema {server.schema}" in message
    assert "postgresql://errtest_reader:***@" in message  # where, and as whom


# -- the server restarts mid-run --------------------------------------------

@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    """A generated Postfix log in 30 consecutive pieces, read in order: a
    transaction (or two) each, where one file would be one big transaction
    (the Postfix reader takes 1 MiB at a time, whatever EMAILLOG_BATCH_LINES)."""
    folder = tmp_path_factory.mktemp("big")
    whole = folder / "whole.log"
    truth = generate(str(whole), messages=600, seed=11)
    lines = whole.read_bytes().splitlines(keepends=True)
    whole.unlink()
    step = -(-len(lines) // 30)
    pieces = []
    for n, start in enumerate(range(0, len(lines), step)):
        piece = folder / f"mail-{n:02d}.log"
        piece.write_bytes(b"".join(lines[start:start + step]))
        pieces.append(piece)
    return pieces, truth


def answers(tmp_path, db) -> dict:
    """What events and stats say, without the database's own ids and the clock."""
    events = json.loads(emaillog(tmp_path, "--db", db, "events", "--json").stdout)
    stats = json.loads(emaillog(tmp_path, "--db", db, "stats", "--json").stdout)
    stats.pop("at")
    return {"events": sorted(json.dumps({k: v for k, v in e.items() if k != "id"}, sort_keys=True)
                             for e in events),
            "stats": stats}


def test_server_restart_mid_run_fails_cleanly_and_the_next_run_resumes(server, big_log, tmp_path):
    import psycopg
    pieces, truth = big_log
    reference = tmp_path / "alone.db"
    assert emaillog(tmp_path, "--db", reference, "ingest", "-q", *pieces).returncode == 0
    expected = answers(tmp_path, reference)

    run = subprocess.Popen([*emaillog_command(), "--db", server.url, "ingest", "-q", *map(str, pieces)],
                           env=env_for(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with psycopg.connect(server.url, autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while run.poll() is None and time.monotonic() < deadline:
                try:  # a first piece committed: the run is under way
                    if watcher.execute("SELECT count(*) FROM sends").fetchone()[0]:
                        break
                except psycopg.errors.UndefinedTable:
                    pass
                time.sleep(0.01)
            # What a restart does to the run's sessions (this database's only: other checkouts' runs go on).
            ended = watcher.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE application_name = 'emaillog' AND datname = current_database() "
                                    "AND pid <> pg_backend_pid()").fetchall()
            out, err = run.communicate(timeout=60)
            stored = watcher.execute("SELECT count(*) FROM sends").fetchone()[0]
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
    assert ended, "the run ended before its connection could be cut"
    assert 0 < stored < truth["sent"]  # cut mid-run
    message = one_sentence(subprocess.CompletedProcess(run.args, run.returncode, out, err))
    assert "closed the connection mid-run" in message and "the next run resumes" in message

    resumed = emaillog(tmp_path, "--db", server.url, "ingest", "--json", *pieces)  # the next cron run
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["events_already_known"] == 0  # nothing of a cut transaction was kept
    assert 0 < summary["lines_read"] < truth["lines"]  # it went on where the committed ones end
    assert answers(tmp_path, server.url) == expected


# -- without psycopg ----------------------------------------------------------

@pytest.mark.parametrize("command", [("ingest", LOG), ("stats",), ("forget", "ann@example.com", "--yes")],
                         ids=["ingest", "stats", "forget"])
def test_without_psycopg_a_url_says_what_to_install(tmp_path, command):
    blocker = tmp_path / "no_psycopg"
    blocker.mkdir()
    (blocker / "psycopg.py").write_text('raise ImportError("psycopg is blocked for this test")\n')
    result = emaillog(tmp_path, "--db", f"postgresql://root:{SECRET}@localhost:1/x", *command,
                      env={"PYTHONPATH": str(blocker)})
    message = one_sentence(result)
    assert "needs psycopg, which is not installed" in message and INSTALL in message


# -- forget, and what is not a URL ------------------------------------------

def test_forget_on_postgresql_refuses_in_one_sentence(server, tmp_path):
    from emaillog.store import Store
    Store(server.url).close()  # the layout, as an ingest leaves it
    message = one_sentence(emaillog(tmp_path, "--db", server.url, "forget", "ann@example.com", "--yes"))
    assert "forget works on a SQLite database only" in message


@pytest.mark.parametrize("name", ["postgresql", "postgresql.db", "postgresql:backup.db", "old-postgresql://x.db"])
def test_a_name_is_a_url_only_with_the_scheme_first(name):
    from emaillog.store import db_target
    assert db_target(name) == Path(name)
    assert db_target("postgresql://db/x") == "postgresql://db/x" and db_target("postgres://db/x") == "postgres://db/x"


def test_a_file_named_postgresql_something_is_a_sqlite_file(tmp_path):
    result = emaillog(tmp_path, "--db", "postgresql:backup.db", "ingest", "-q", LOG, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "postgresql:backup.db").read_bytes().startswith(b"SQLite format 3\0")
