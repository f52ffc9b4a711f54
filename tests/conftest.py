"""Shared test helpers: run logs through the real pipeline into a temp DB."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emaillog.config import Config
from emaillog.ingest import Ingest, Options
from emaillog.store import Store

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "tests" / "logs"
CORPUS = ROOT.parent / "shared" / "corpus"


def run_ingest(db: Path, paths, config: Config | None = None, **options):
    """Ingest `paths` into `db`; returns (store, summary)."""
    store = Store(db)
    options.setdefault("tz", __import__("datetime").timezone.utc)
    summary = Ingest(store, config or Config(), Options(**options)).run([str(p) for p in paths])
    return store, summary


# -- the two backends ---------------------------------------------------------
# Storage and command tests take `database`: a fresh SQLite file, and a fresh schema
# in PostgreSQL when one is reachable (the PG* variables, as pg_virtualenv
# sets them, or EMAILLOG_TEST_PG=URL). Under CI=true an unreachable server
# is a failure: .ci/run starts one.

def _postgres_base() -> str | None:
    url = os.environ.get("EMAILLOG_TEST_PG")
    if url:
        return url
    return "postgresql://" if os.environ.get("PGHOST") or os.environ.get("PGDATABASE") else None


def _postgres_problem() -> str | None:
    base = _postgres_base()
    if base is None:
        return "no PostgreSQL server named (set PGHOST or EMAILLOG_TEST_PG, or run under pg_virtualenv)"
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install '.[test]')"
    try:
        psycopg.connect(base, connect_timeout=5).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {base} is not reachable: {str(exc).strip().splitlines()[0]}"
    return None


_PG_STATE: dict = {}


def postgres_url(request) -> str:
    """A URL of a fresh, empty schema for this test (dropped after it)."""
    if "problem" not in _PG_STATE:
        _PG_STATE["problem"] = _postgres_problem()
    problem = _PG_STATE["problem"]
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests cannot run in CI: {problem}")
        pytest.skip(problem)
    import uuid

    import psycopg
    base = _postgres_base()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    request.addfinalizer(lambda: _drop_schema(base, schema))
    join = "&" if "?" in base else "?"
    return f"{base}{join}options=-csearch_path%3D{schema}"


def _drop_schema(base: str, schema: str) -> None:
    import psycopg
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: about the database file itself (its mode, lock file, damage)")


def pytest_generate_tests(metafunc):
    """Every test that takes `database` (or `ingest`, `cli`, `run`) runs on both
    backends, unless it is marked sqlite_only. Without a server (and not in
    CI) the PostgreSQL runs are left out, with one line in the summary."""
    if "backend" in metafunc.fixturenames:
        backends = ["sqlite"]
        if not metafunc.definition.get_closest_marker("sqlite_only"):
            if "problem" not in _PG_STATE:
                _PG_STATE["problem"] = _postgres_problem()
            if not _PG_STATE["problem"] or os.environ.get("CI") == "true":
                backends.append("postgresql")
            else:
                _PG_STATE["left_out"] = _PG_STATE.get("left_out", 0) + 1
        metafunc.parametrize("backend", backends)


def pytest_terminal_summary(terminalreporter):
    if _PG_STATE.get("left_out"):
        terminalreporter.write_line(f"PostgreSQL: {_PG_STATE['left_out']} tests ran on SQLite only: "
                                    f"{_PG_STATE['problem']}")


@pytest.fixture
def database(backend, tmp_path, request):
    """Where a test's database lives: a file, or a PostgreSQL URL."""
    return tmp_path / "t.db" if backend == "sqlite" else postgres_url(request)


@pytest.fixture
def fresh_database(backend, tmp_path, request):
    """fresh_database(name) -> one more empty database of the test's backend."""
    def make(name: str):
        return tmp_path / f"{name}.db" if backend == "sqlite" else postgres_url(request)
    return make


@pytest.fixture
def ingest(database):
    """ingest(paths, **options) -> (store, summary), all into one temp DB."""
    stores = []

    def _ingest(paths, config=None, **options):
        store, summary = run_ingest(database, paths, config, **options)
        stores.append(store)
        return store, summary

    yield _ingest
    for store in stores:
        store.close()


@pytest.fixture
def corpus():
    if not CORPUS.is_dir():
        pytest.skip("shared corpus not present (../shared/corpus)")
    return CORPUS


def emaillog_command() -> list[str]:
    """The installed console script, else the module (same code)."""
    exe = shutil.which("emaillog")
    return [exe] if exe else [sys.executable, "-m", "emaillog.cli"]


@pytest.fixture
def cli(tmp_path, database):
    """cli(*args, input=None) -> CompletedProcess, with a temp DB and config."""
    env = {**os.environ, "EMAILLOG_DB": str(database),
           "EMAILLOG_CONFIG": "", "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "TZ": "UTC",
           "COLUMNS": "200"}

    def _cli(*args, input=None, env_extra=None):
        return subprocess.run([*emaillog_command(), *map(str, args)], capture_output=True, text=True,
                              input=input, env={**env, **(env_extra or {})}, timeout=120)

    return _cli


@pytest.fixture
def run(tmp_path, monkeypatch, capsys, database):
    """Like `cli`, in this process (the console script's own entry point,
    `emaillog.cli:main`): the same environment, a fraction of the time."""
    import gc
    import io
    import time
    import warnings

    from emaillog import cli as cli_module
    base = {"EMAILLOG_DB": str(database), "EMAILLOG_CONFIG": "",
            "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "TZ": "UTC", "COLUMNS": "200"}

    def _run(*args, input=None, env_extra=None):
        with monkeypatch.context() as m:
            for key, value in {**base, **(env_extra or {})}.items():
                m.setenv(key, value)
            time.tzset()
            m.setattr(sys, "argv", ["emaillog", *map(str, args)])
            m.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((input or "").encode())))
            capsys.readouterr()
            try:
                cli_module.main()
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            out, err = capsys.readouterr()
        time.tzset()
        with warnings.catch_warnings():  # close the connections the command left to the collector
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        return subprocess.CompletedProcess(args, code, out, err)

    return _run


def without(value, keys: tuple[str, ...]):
    """JSON output with these keys left out at any depth (ids and times a
    database gives on its own)."""
    if isinstance(value, dict):
        return {k: without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [without(v, keys) for v in value]
    return value
