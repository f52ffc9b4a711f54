"""A database written by the first release (tests/data/release-0.1) is
brought to the compact layout when opened: every event, rejected line,
suppression, retry and figure is what that release printed from it, and an
ingest continues the messages it had left open."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3

import pytest

from conftest import LOGS, ROOT, without

FIXTURE = ROOT / "tests" / "data" / "release-0.1"
AT = "2026-11-29T08:00:00Z"


def without_ids(value):
    return without(value, ("id", "event_id", "seen_at"))


def rows(text: str) -> list[str]:
    return sorted(json.dumps(without_ids(json.loads(line)), sort_keys=True) for line in text.splitlines() if line)


def expected(name: str) -> str:
    path = FIXTURE / name
    return gzip.decompress(path.read_bytes()).decode() if name.endswith(".gz") else path.read_text()


@pytest.fixture
def old_db(tmp_path):
    db = tmp_path / "old.db"
    shutil.copy(FIXTURE / "emaillog.sqlite", db)
    return db


def test_the_fixture_is_the_first_release_layout(old_db):
    conn = sqlite3.connect(old_db)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "events" in tables and "sends" not in tables
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 464
    assert conn.execute("SELECT count(*) FROM open_messages").fetchone()[0] == 16


def test_opening_converts_and_nothing_is_lost(old_db, cli):
    env = {"EMAILLOG_DB": str(old_db)}
    events = cli("events", "--format", "jsonl", env_extra=env)
    assert events.returncode == 0, events.stderr
    assert rows(events.stdout) == rows(expected("events.jsonl.gz"))
    assert rows(cli("rejects", "--format", "jsonl", env_extra=env).stdout) == rows(expected("rejects.jsonl.gz"))
    for command, name in (("suppressed", "suppressed.json"), ("stats", "stats.json")):
        got = json.loads(cli(command, "--json", "--at", AT, env_extra=env).stdout)
        got.pop("forgotten_people", None)  # newer than that release: erasures (emaillog forget)
        assert without_ids(got) == without_ids(json.loads(expected(name))), command
    got = json.loads(cli("retries", "--json", "--include-given-up", "--at", AT, env_extra=env).stdout)
    assert without_ids(got) == without_ids(json.loads(expected("retries.json")))
    conn = sqlite3.connect(old_db)
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sends'").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM open_messages").fetchone()[0] == 16


def test_an_ingest_continues_the_messages_left_open(old_db, cli, tmp_path):
    lines = (LOGS / "postfix" / "scenario.log").read_bytes().splitlines(keepends=True)
    rest = tmp_path / "scenario_part2.log"
    rest.write_bytes(b"".join(lines[767:]))
    env = {"EMAILLOG_DB": str(old_db)}
    ingest = cli("ingest", "--year", "2026", "--tz", "UTC", "--json", rest, env_extra=env)
    assert ingest.returncode == 0, ingest.stderr
    want = json.loads(expected("continue_ingest.json"))
    got = json.loads(ingest.stdout)
    assert {k: got[k] for k in want} == want  # (later versions add fields to the summary)
    # A soft bounce now shows its first attempt's reply (0.1 showed the
    # latest, "expired" once the MTA gave up): compare the rest of it, and
    # the latest reply with the retry state.
    def shown(text):
        out = []
        for line in text.splitlines():
            event = json.loads(line)
            if event["type"] == "soft_bounced":
                for key in ("reason", "detail", "smtp_code", "dsn"):
                    event.pop(key)
            out.append(json.dumps(without_ids(event), sort_keys=True))
        return sorted(out)
    old = expected("cont_events.jsonl.gz")
    assert shown(cli("events", "--format", "jsonl", env_extra=env).stdout) == shown(old)
    retries = json.loads(cli("retries", "--json", "--include-given-up", "--at", "2099-01-01T00:00Z",
                             env_extra=env).stdout)["items"]
    latest = {(r["person"], r["message_id"]): r["last_reason"] for r in retries}
    for line in old.splitlines():
        event = json.loads(line)
        if event["type"] == "soft_bounced" and (event["person"], event["message_id"]) in latest:
            assert latest[(event["person"], event["message_id"])] == event["reason"], event["person"]


def test_migrate_command_says_what_it_did(old_db, cli):
    result = cli("migrate", env_extra={"EMAILLOG_DB": str(old_db)})
    assert result.returncode == 0, result.stderr
    assert "m004_compact" in result.stdout
    again = cli("migrate", env_extra={"EMAILLOG_DB": str(old_db)})
    assert again.returncode == 0 and "up to date" in again.stdout


def test_a_database_from_before_erasures_gets_its_tables_and_secret(tmp_path, monkeypatch, cli):
    """A database of the layout before erasures (up to m005) gains the
    erasure tables, its own hash secret and the hard-bounce index, and keeps
    every event."""
    import emaillog.store as store_module
    from conftest import run_ingest
    from emaillog.store import Store
    from emaillog.store.schema import MIGRATIONS
    db = tmp_path / "before.db"
    names = [fn.__name__ for fn in MIGRATIONS]
    monkeypatch.setattr(store_module, "MIGRATIONS", MIGRATIONS[:names.index("m006_erasure")])
    store, _ = run_ingest(db, [LOGS / "postfix" / "scenario.log"], year=2026)
    store.close()
    monkeypatch.undo()
    assert not sqlite3.connect(db).execute("SELECT 1 FROM sqlite_master WHERE name = 'erasures'").fetchone()
    env = {"EMAILLOG_DB": str(db)}
    before = cli("events", "--format", "jsonl", env_extra=env)  # opening it migrates it
    conn = sqlite3.connect(db)
    assert {r[0] for r in conn.execute("SELECT name FROM _migrations")} >= {"m006_erasure", "m007_hard_bounce_actions"}
    key = conn.execute("SELECT value FROM meta WHERE key = 'erasure_key'").fetchone()[0]
    assert len(bytes.fromhex(key)) == 32
    assert conn.execute("SELECT count(*) FROM erasures").fetchone()[0] == 0
    assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'actions_hard'").fetchone()
    conn.close()
    assert before.returncode == 0 and len(before.stdout.splitlines()) > 400
    again = Store(db)
    assert again.applied == []
    again.close()
