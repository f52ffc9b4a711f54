"""A database someone else could have written is refused (OpenSSH's
StrictModes): it decides who may be mailed, and holds personal data.

The tests run as root: a file root owns with mode 0666 or 0660 is "writable
by others"; for ownership, os.geteuid is made to answer another user."""

from __future__ import annotations

import os

import pytest

from conftest import LOGS
from emaillog.store import Store
from test_bad_environments import run_main

SCENARIO = LOGS / "postfix" / "scenario.log"


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "data" / "e.db"
    Store(path).close()
    return path


def refused(code, err, path, fix):
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert str(path) in err and fix in err, err
    return True


@pytest.mark.parametrize("mode", [0o666, 0o660, 0o602])
def test_a_database_others_can_write_is_refused_and_left_alone(db, monkeypatch, capsys, mode):
    db.chmod(mode)
    code, out, err = run_main(monkeypatch, capsys, "--db", db, "events")
    assert refused(code, err, db, f"chmod 600 {db}")
    assert db.stat().st_mode & 0o777 == mode  # never changed behind its owner's back


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
def test_sqlite_files_beside_it_are_checked_too(db, monkeypatch, capsys, suffix):
    planted = db.parent / (db.name + suffix)
    planted.write_bytes(b"")
    planted.chmod(0o666)
    code, _, err = run_main(monkeypatch, capsys, "--db", db, "events")
    assert refused(code, err, planted, "chmod 600")


def test_the_lock_file_is_checked_by_ingest(db, monkeypatch, capsys):
    lock = db.parent / (db.name + ".lock")
    lock.write_bytes(b"")
    lock.chmod(0o666)
    code, _, err = run_main(monkeypatch, capsys, "--db", db, "ingest", "-q", SCENARIO)
    assert refused(code, err, lock, f"chmod 600 {lock}")


def test_a_folder_others_can_write_needs_the_sticky_bit(db, monkeypatch, capsys):
    db.parent.chmod(0o777)
    code, _, err = run_main(monkeypatch, capsys, "--db", db, "events")
    assert refused(code, err, db.parent, "chmod")
    db.parent.chmod(0o1777)  # like /tmp: others cannot rename or delete our files
    code, _, err = run_main(monkeypatch, capsys, "--db", db, "events", "--json")
    assert code in (None, 0), err


def test_a_new_database_in_a_folder_others_can_write_is_not_created(tmp_path, monkeypatch, capsys):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    code, _, err = run_main(monkeypatch, capsys, "--db", shared / "new.db", "suppress", "a@example.com", "--note", "n")
    assert refused(code, err, shared, "chmod")
    assert not (shared / "new.db").exists()


def test_a_database_another_user_owns_is_refused(db, monkeypatch, capsys):
    owner = db.stat().st_uid
    if owner == 0:  # root's files are trusted (as in OpenSSH): give it to someone else
        os.chown(db, 4321, -1)
        owner = 4321
    monkeypatch.setattr(os, "geteuid", lambda: owner + 1)
    code, _, err = run_main(monkeypatch, capsys, "--db", db, "events")
    assert refused(code, err, db, "chown")
    assert f"uid {owner}" in err
    assert db.stat().st_uid == owner


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a symlink to another user")
def test_a_symlink_another_user_placed_is_refused(db, tmp_path, monkeypatch, capsys):
    """Where SQLite would follow it: a -wal pointing at a file to overwrite."""
    link = db.parent / (db.name + "-wal")
    link.symlink_to(tmp_path / "elsewhere")
    os.chown(link, 4321, -1, follow_symlinks=False)
    monkeypatch.setattr(os, "geteuid", lambda: 1234)  # the database itself is root's: trusted
    code, _, err = run_main(monkeypatch, capsys, "--db", db, "events")
    assert refused(code, err, link, "uid 4321")


def test_a_folder_given_as_the_database_is_left_to_sqlite(tmp_path, monkeypatch, capsys):
    """Only regular files are judged: a folder (or a device) is no database."""
    code, _, err = run_main(monkeypatch, capsys, "--db", tmp_path, "events")
    assert code == 1 and "not a usable emaillog database" in err and "chmod" not in err
