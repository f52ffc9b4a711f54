"""The installed `emaillog` command: help, exit codes, machine output, and
errors as one sentence without a traceback."""

from __future__ import annotations

import json
import sqlite3

import pytest

from conftest import ROOT

SAMPLE = ROOT / "sample_logs"
SPEC_FIELDS = ["id", "ts", "type", "person", "campaign", "email", "message_id", "queue_id",
               "source_format", "host", "bounce_class", "reason", "smtp_code", "dsn", "detail",
               "url", "source"]


def commands():
    from emaillog.cli import app
    import typer.main
    group = typer.main.get_command(app)
    return sorted(group.commands)


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help(cli, command):
    from emaillog.cli import app
    import typer.main
    group = typer.main.get_command(app)
    assert (group.commands[command].help or "").strip(), f"{command} has no help text"
    result = cli(command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_top_level_help_lists_commands(cli):
    result = cli("--help")
    assert result.returncode == 0
    for command in ("ingest", "person", "events", "suppressed", "retries", "check"):
        assert command in result.stdout


@pytest.fixture
def sample_db(cli):
    if not (SAMPLE / "mail.log").exists():
        pytest.skip("sample log not present")
    result = cli("ingest", SAMPLE)
    assert result.returncode == 0, result.stderr
    return cli


def test_ingest_prints_a_summary_and_is_idempotent(sample_db):
    again = sample_db("ingest", "--json", SAMPLE)
    data = json.loads(again.stdout)
    assert data["events_added_total"] == 0
    assert data["lines_read"] == 0


def test_events_jsonl_has_the_spec_fields(sample_db):
    result = sample_db("events", "--format", "jsonl")
    assert result.returncode == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows
    for row in rows:
        assert list(row)[:len(SPEC_FIELDS)] == SPEC_FIELDS
        assert row["ts"].endswith("Z")
        assert (row["bounce_class"] is not None) == (row["type"] == "hard_bounced")
    assert {r["type"] for r in rows} >= {"sent", "delivered", "hard_bounced", "soft_bounced"}


def test_events_csv_and_filters(sample_db):
    result = sample_db("events", "--format", "csv", "--type", "hard_bounced")
    lines = result.stdout.splitlines()
    assert lines[0].startswith("id,ts,type,person")
    assert all(",hard_bounced," in line for line in lines[1:])


def test_person_shows_history_and_status(sample_db):
    result = sample_db("person", "ANN@example.com", "--json")
    data = json.loads(result.stdout)
    assert data["person"] == "ann@example.com"
    types = [e["type"] for e in data["events"]]
    assert "sent" in types and "delivered" in types
    stamps = [e["ts"] for e in data["events"]]
    assert stamps == sorted(stamps, reverse=True)
    table = sample_db("person", "ann@example.com")
    assert "ann@example.com" in table.stdout


def test_check_exit_codes(sample_db):
    bob = sample_db("check", "bob@example.com")  # user unknown: suppressed everywhere
    assert bob.returncode == 1
    assert "hard_bounce" in bob.stdout
    erin = sample_db("check", "erin@example.com", "--campaign", "spring")
    assert erin.returncode == 0
    usage = sample_db("check", "not-an-address")
    assert usage.returncode == 2


def test_usage_errors_exit_2(cli):
    assert cli("events", "--format", "xml").returncode == 2
    assert cli("ingest", "--format", "nosuch", "x.log").returncode == 2
    assert cli("frobnicate").returncode == 2


def test_read_command_without_database_is_one_sentence(cli):
    result = cli("events")
    assert result.returncode == 1
    assert "run `emaillog ingest` first" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_database_is_one_sentence(cli, tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    result = cli("--db", bad, "events")
    assert result.returncode == 1
    assert "not a usable emaillog database" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_stdin_ingest(cli):
    if not (SAMPLE / "mail.log").exists():
        pytest.skip("sample log not present")
    result = cli("ingest", "--json", "-", input=(SAMPLE / "mail.log").read_text())
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events_added_total"] > 0


@pytest.mark.sqlite_only
def test_database_is_private(sample_db, database):
    mode = database.stat().st_mode & 0o777
    assert mode == 0o600


def test_second_ingest_waits_then_reports_the_lock(cli, database):
    from emaillog.lock import IngestLock
    with IngestLock(database, 0):
        result = cli("ingest", "--wait", "0.5", SAMPLE)
    assert result.returncode == 75
    assert "another emaillog ingest" in result.stderr


def test_formats_lists_postfix(cli):
    result = cli("formats", "--json")
    names = [f["name"] for f in json.loads(result.stdout)]
    assert "postfix" in names


def test_classify_command(cli):
    result = cli("classify", "--json", "550 5.1.1 <x@example.com>: Recipient address rejected: User unknown")
    data = json.loads(result.stdout)
    assert data["bounce"] == "hard" and data["bounce_class"] == "permanent" and data["reason"] == "user_unknown"
    assert data["rule"]


def test_manual_suppress_and_release_are_audited(cli):
    assert cli("suppress", "zed@example.com", "--note", "asked by phone").returncode == 0
    assert cli("check", "zed@example.com").returncode == 1
    assert cli("release", "zed@example.com", "--note", "changed their mind").returncode == 0
    assert cli("check", "zed@example.com").returncode == 0
    history = json.loads(cli("person", "zed@example.com", "--json").stdout)["events"]
    assert [e["type"] for e in history] == ["released", "manual_suppressed"]
    assert history[1]["note"] == "asked by phone" and history[1]["actor"]
