"""`check` exits 0 "may send", 1 "do not send", and 3 when it cannot
answer, so that a sending script can fail safe instead of reading a broken
setup as a verdict."""

from __future__ import annotations

import os
import sqlite3

import pytest

from conftest import ROOT
from test_bad_environments import run_main

README = (ROOT / "README.md").read_text()


pytestmark = pytest.mark.sqlite_only  # about a database file: its modes, locks and damage


@pytest.fixture
def bob_db(cli, database):
    """A database where bob must not be mailed (made by another process:
    no connection of this one is left holding it)."""
    assert cli("suppress", "bob@example.com", "--note", "asked").returncode == 0
    return database


def check(monkeypatch, capsys, db, email="ann@example.com"):
    return run_main(monkeypatch, capsys, "--db", db, "check", email)


def cannot_answer(code, err):
    assert code == 3, err
    assert err.startswith("emaillog: cannot tell whether ") and len(err.strip().splitlines()) == 1, err
    return True


def test_0_may_send_and_1_do_not_send(bob_db, monkeypatch, capsys):
    assert check(monkeypatch, capsys, bob_db)[0] in (0, None)
    assert check(monkeypatch, capsys, bob_db, "bob@example.com")[0] == 1


def test_3_without_a_database(tmp_path, monkeypatch, capsys):
    code, _, err = check(monkeypatch, capsys, tmp_path / "none.db")
    assert cannot_answer(code, err) and "no database" in err
    assert not (tmp_path / "none.db").exists()


def test_3_for_a_damaged_database(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    bad.chmod(0o600)
    code, _, err = check(monkeypatch, capsys, bad)
    assert cannot_answer(code, err) and "not a usable emaillog database" in err


def test_3_for_an_unreadable_database(bob_db, monkeypatch, capsys):
    """As root a mode does not stop reading: the open fails as it would."""
    def denied(*args, **kwargs):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(sqlite3, "connect", denied)
    code, _, err = check(monkeypatch, capsys, bob_db)
    assert cannot_answer(code, err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode (simulated in the test above)")
def test_3_for_a_database_without_read_permission(bob_db, monkeypatch, capsys):
    bob_db.chmod(0)
    code, _, err = check(monkeypatch, capsys, bob_db)
    assert cannot_answer(code, err)


def test_3_for_a_locked_database(bob_db, monkeypatch, capsys):
    real_connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda path, **kw: real_connect(path, **{**kw, "timeout": 0.2}))
    holder = real_connect(bob_db)
    try:
        holder.execute("PRAGMA locking_mode=EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        code, _, err = check(monkeypatch, capsys, bob_db)
    finally:
        holder.close()
    assert cannot_answer(code, err) and "locked" in err


def test_3_for_a_database_others_can_write(bob_db, monkeypatch, capsys):
    bob_db.chmod(0o666)
    code, _, err = check(monkeypatch, capsys, bob_db)
    assert cannot_answer(code, err) and "chmod 600" in err


def test_2_is_still_a_usage_error(bob_db, monkeypatch, capsys):
    assert check(monkeypatch, capsys, bob_db, "not-an-address")[0] == 2


def test_the_codes_are_documented(cli):
    help_text = " ".join(cli("check", "--help").stdout.split())
    for words in ("Exit 0 yes", "1 no", "Exit 3 when it cannot answer", "Exit 2 for a usage error"):
        assert words in help_text, help_text
    start = README.index("Exit codes:")
    exit_codes = " ".join(README[start:README.index("\n\n", start)].split())
    assert "3 `check` cannot answer" in exit_codes, exit_codes


def test_other_commands_keep_exit_1_without_a_database(tmp_path, monkeypatch, capsys):
    assert run_main(monkeypatch, capsys, "--db", tmp_path / "none.db", "events")[0] == 1
