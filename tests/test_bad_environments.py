"""A full disk, a read-only database, --strict and the open-state horizon:
the right message and exit code, and no half-written state."""

from __future__ import annotations

import sqlite3
import sys
from datetime import datetime, timedelta, timezone

import pytest

from conftest import LOGS
from emaillog import cli
from emaillog.config import Config
from emaillog.correlate import Correlator
from emaillog.events import MessageSeen
from emaillog.store import Store

SCENARIO = LOGS / "postfix" / "scenario.log"


def run_main(monkeypatch, capsys, *args):
    monkeypatch.setattr(sys, "argv", ["emaillog", *map(str, args)])
    with pytest.raises(SystemExit) as exit_info:
        cli.main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def counts(db):
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM files)").fetchone()
    finally:
        conn.close()


def test_full_disk_is_one_sentence_and_keeps_the_last_committed_batch(tmp_path, monkeypatch, capsys):
    db = tmp_path / "full.db"
    Store(db).close()
    original = Store.__init__

    pages = sqlite3.connect(db).execute("PRAGMA page_count").fetchone()[0]

    def tiny(self, *a, **kw):
        original(self, *a, **kw)
        self.conn.execute(f"PRAGMA max_page_count = {pages + 3}")  # 12 KB more: the disk fills up mid-ingest

    monkeypatch.setattr(Store, "__init__", tiny)
    code, _, err = run_main(monkeypatch, capsys, "--db", db, "ingest", "-q", SCENARIO)
    assert code == 1
    assert "full" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    events, files = counts(db)
    assert files == 0 or events > 0  # a batch is all or nothing


def test_read_only_database_is_one_sentence(tmp_path, monkeypatch, capsys):
    db = tmp_path / "ro.db"
    Store(db).close()
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda path, **kw: real_connect(f"file:{path}?mode=ro", uri=True, **kw))
    code, _, err = run_main(monkeypatch, capsys, "--db", db, "ingest", "-q", SCENARIO)
    assert code == 1
    assert "read-only" in err or "readonly" in err
    assert "Traceback" not in err


def test_strict_fails_on_rejects(tmp_path, monkeypatch, capsys):
    log = tmp_path / "mail.log"
    log.write_bytes(SCENARIO.read_bytes()[:5000].rsplit(b"\n", 1)[0] + b"\n" +
                    b"Nov 28 17:47:06 mx1 postfix/smtp[1]: 20CD11600D5: to=<x@example.com>, status=weird\n")
    code, out, err = run_main(monkeypatch, capsys, "--db", tmp_path / "s.db", "ingest", "--strict", "--json", log)
    assert code == 1
    assert '"lines_rejected": 1' in out


def test_open_state_older_than_the_horizon_is_closed_and_counted():
    corr = Correlator(Config(open_state_horizon_hours=1))
    t0 = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)
    corr.feed(MessageSeen("mx1/postfix/OLD", t0, "postfix"))
    corr.feed(MessageSeen("mx1/postfix/NEW", t0 + timedelta(minutes=90), "postfix"))
    assert corr.prune(int((t0 + timedelta(minutes=90)).timestamp())) == 1
    assert set(corr.open) == {"mx1/postfix/NEW"}
    assert corr.counters.stale_closed == 1
