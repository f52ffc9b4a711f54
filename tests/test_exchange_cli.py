"""`suppressed --for PROVIDER` writes the provider's own file and
`suppress --import FILE` reads it back: a round trip through any provider
gives the same `check` answer for everyone suppressed for all campaigns,
importing twice adds nothing, and a line that cannot be read is counted and
shown (emaillog/exchange/ is tested on its own in test_exchange.py)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import ROOT
from emaillog.config import Config
from emaillog.exchange import PROVIDERS
from emaillog.state import StateQueries
from emaillog.store import Store

SAMPLE = ROOT / "sample_logs"
LAYOUTS = [(p, layout) for p in sorted(PROVIDERS) for layout in PROVIDERS[p].LAYOUTS]


@pytest.fixture
def source(run, tmp_path, database):
    """The sample logs, and operator suppressions of every shape: for every
    campaign, for one, until a date."""
    steps = [("ingest", "-q", "--year", "2026", SAMPLE / "mail.log", SAMPLE / "access.log"),
             ("suppress", "Dave@Example.com", "--campaign", "autumn", "--note", "asked by phone"),
             ("suppress", "erin@example.com", "--until", "+10d", "--note", "a pause"),
             ("suppress", "fay@example.org", "--note", "legal hold")]
    for step in steps:
        result = run(*step)
        assert result.returncode == 0, result.stderr
    return database


def answers(db) -> dict[str, bool]:
    """address -> may every campaign (no --campaign) mail them now?"""
    store = Store(db, create=False)
    try:
        queries = StateQueries(store, Config())
        people = [a for (a,) in store.conn.execute("SELECT address FROM persons")]
        return {a: not queries.check(a, None, _now()) for a in people}
    finally:
        store.close()


def _now() -> str:
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("provider, layout", LAYOUTS)
def test_round_trip_through_a_provider_keeps_every_all_campaign_no(source, run, tmp_path, provider, layout):
    out = tmp_path / "out"
    export = run("suppressed", "--for", provider, "--layout", layout, "--output", out)
    assert export.returncode == 0, export.stderr
    files = sorted(out.iterdir())
    assert files and all(oct(f.stat().st_mode & 0o777) == "0o600" for f in files)
    target = {"EMAILLOG_DB": str(tmp_path / "target.db")}
    for f in files:
        result = run("suppress", "--import", f, env_extra=target)
        assert result.returncode == 0, result.stderr
        assert "0 line(s) not read" in result.stdout
    want, got = answers(source), answers(tmp_path / "target.db")
    everywhere = {a for a, ok in want.items() if not ok}
    assert everywhere >= {"bob@example.com", "erin@example.com", "fay@example.org", "gina@example.com"}
    assert {a: got.get(a, True) for a in everywhere} == {a: False for a in everywhere}
    assert not any(ok is False for a, ok in got.items() if a not in everywhere)  # nobody else suppressed
    if provider != "mailgun":  # the one provider with a list per campaign (its tags)
        assert "one campaign" in export.stderr and "dave@example.com (autumn)" in export.stderr
    assert "erin@example.com (until" in export.stderr  # ours ends, the provider's does not


def test_one_file_goes_to_standard_output_and_several_need_a_folder(source, cli):
    ses = cli("suppressed", "--for", "ses")  # the installed command
    assert ses.returncode == 0
    assert "bob@example.com,BOUNCE" in ses.stdout.splitlines()
    assert "exported for Amazon SES" in ses.stderr
    mailgun = cli("suppressed", "--for", "mailgun")
    assert mailgun.returncode == 2 and "--output DIR" in mailgun.stderr and "mailgun-bounces.csv" in mailgun.stderr


@pytest.mark.parametrize("args, words", [
    (("suppressed", "--for", "gmail"), "unknown provider"),
    (("suppressed", "--for", "ses", "--layout", "xml"), "no layout 'xml'"),
    (("suppressed", "--for", "ses", "--format", "csv"), "do not apply"),
    (("suppressed", "--output", "x"), "go with --for"),
    (("suppress", "--import", "f.csv", "--note", "x"), "--import takes no"),
    (("suppress", "--import", "f.csv", "--from", "gmail"), "unknown provider"),
    (("suppress", "ann@example.com"), "--note"),
    (("suppress",), "EMAIL"),
    (("suppress", "ann@example.com", "--note", "n", "--from", "ses"), "go with --import"),
])
def test_usage_errors(source, run, args, words):
    result = run(*args)
    assert result.returncode == 2 and words in result.stderr, result.stderr


MAILGUN = """address,code,error,created_at
ok1@example.com,550,No such user,"Sat, 28 Nov 2026 17:57:53 GMT"
not an address,550,No such user,"Sat, 28 Nov 2026 17:57:53 GMT"
ok2@example.com,550,No such user,yesterday-ish
ok3@example.com,550,Gone,"Sat, 28 Nov 2026 18:00:00 GMT"
"""


def test_import_is_idempotent_and_says_what_it_could_not_read(run, tmp_path, database):
    path = tmp_path / "mailgun-bounces.csv"
    path.write_text(MAILGUN)
    first = run("suppress", "--import", path)
    assert first.returncode == 0, first.stderr
    assert "(mailgun): 2 suppression(s) read, 2 recorded, 0 already recorded; 2 line(s) not read" in first.stdout
    assert "line 3 not read: 'not an address' is not an email address" in first.stderr
    assert "line 4 not read: the time cannot be read" in first.stderr
    again = run("suppress", "--import", path, "--json")
    doc = json.loads(again.stdout)
    assert (doc["added"], doc["already_recorded"], doc["not_read"]) == (0, 2, 2)
    assert [p["line"] for p in doc["problems"]] == [3, 4]
    from emaillog.store import Store
    store = Store(database)
    assert store.conn.execute("SELECT count(*) FROM actions").fetchone()[0] == 2
    store.close()
    items = json.loads(run("suppressed", "--json").stdout)["items"]
    assert {(s["person"], s["reason"], s["since"]) for s in items} == {
        ("ok1@example.com", "manual", "2026-11-28T17:57:53Z"), ("ok3@example.com", "manual", "2026-11-28T18:00:00Z")}
    ok1 = next(s for s in items if s["person"] == "ok1@example.com")
    assert "mailgun-bounces.csv" in ok1["detail"] and "hard_bounce" in ok1["detail"] and "No such user" in ok1["detail"]
    events = [json.loads(x) for x in run("events", "--format", "jsonl").stdout.splitlines()]
    assert {(e["type"], e["source_format"], e["source"]) for e in events} == {
        ("manual_suppressed", "import", "mailgun-bounces.csv:2"), ("manual_suppressed", "import", "mailgun-bounces.csv:5")}
    assert all(e["actor"] for e in events)


def test_import_keeps_scope_and_end(run, tmp_path):
    path = tmp_path / "ours.csv"
    path.write_text("person,scope,reason,since,until,event_id,detail\n"
                    "a@example.com,spring,manual,2026-11-01T00:00:00Z,2099-01-01T00:00:00Z,7,paused\n"
                    "b@example.com,*,unsubscribed,2026-11-01T00:00:00Z,,8,\n")
    assert run("suppress", "--import", path).returncode == 0
    assert run("check", "a@example.com", "--campaign", "spring").returncode == 1
    assert run("check", "a@example.com", "--campaign", "autumn").returncode == 0
    assert run("check", "a@example.com", "--campaign", "spring", "--at", "2099-02-01T00:00Z").returncode == 0
    assert run("check", "b@example.com", "--campaign", "autumn").returncode == 1


def test_a_file_no_reader_knows_is_refused_line_by_line(run, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("hello\nworld\n")
    result = run("suppress", "--import", path)
    assert result.returncode == 1
    assert "2 line(s) not read" in result.stdout and result.stderr.count("not read") == 2
    forced = run("suppress", "--import", path, "--from", "ses")
    assert forced.returncode == 1 and "SES's layout has 2" in forced.stderr


def test_import_from_standard_input(cli):
    result = cli("suppress", "--import", "-", input="x@example.com,BOUNCE\n")  # the installed command
    assert result.returncode == 0, result.stderr
    assert cli("check", "x@example.com").returncode == 1


@pytest.mark.sqlite_only  # forget is SQLite's only
def test_an_imported_forgotten_address_stays_a_hash(source, run, tmp_path):
    """A routine import of the provider's list must not bring an erased
    address back into the database."""
    assert run("forget", "bob@example.com", "--yes").returncode == 0
    assert run("forget", "fay@example.org", "--yes").returncode == 0
    assert run("release", "fay@example.org", "--note", "may be mailed again").returncode == 0
    ses = tmp_path / "ses.csv"
    ses.write_text("bob@example.com,BOUNCE\nFay@Example.org,COMPLAINT\nnew@example.com,BOUNCE\n")
    result = run("suppress", "--import", ses)
    assert result.returncode == 0, result.stderr
    assert "3 recorded, 2 of them kept under a forgotten person's hash" in result.stdout, result.stdout
    again = run("suppress", "--import", ses)
    assert "0 recorded, 3 already recorded" in again.stdout, again.stdout
    conn = sqlite3.connect(source)
    assert not conn.execute("SELECT 1 FROM persons WHERE address = 'bob@example.com'").fetchone()
    assert conn.execute("SELECT 1 FROM persons WHERE address = 'fay@example.org'").fetchone()  # back: released
    assert run("check", "bob@example.com").returncode == 1
    assert run("check", "fay@example.org").returncode == 1  # suppressed again by the import
    assert run("check", "new@example.com").returncode == 1
