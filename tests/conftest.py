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


@pytest.fixture
def ingest(tmp_path):
    """ingest(paths, **options) -> (store, summary), all into one temp DB."""
    stores = []

    def _ingest(paths, config=None, **options):
        store, summary = run_ingest(tmp_path / "t.db", paths, config, **options)
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
def cli(tmp_path):
    """cli(*args, input=None) -> CompletedProcess, with a temp DB and config."""
    env = {**os.environ, "EMAILLOG_DB": str(tmp_path / "cli.db"),
           "EMAILLOG_CONFIG": "", "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "TZ": "UTC",
           "COLUMNS": "200"}

    def _cli(*args, input=None, env_extra=None):
        return subprocess.run([*emaillog_command(), *map(str, args)], capture_output=True, text=True,
                              input=input, env={**env, **(env_extra or {})}, timeout=120)

    return _cli


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    """Like `cli`, in this process (the console script's own entry point,
    `emaillog.cli:main`): the same environment, a fraction of the time."""
    import gc
    import io
    import time
    import warnings

    from emaillog import cli as cli_module
    base = {"EMAILLOG_DB": str(tmp_path / "cli.db"), "EMAILLOG_CONFIG": "",
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
