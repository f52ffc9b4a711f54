"""`emaillog migrate --to URL`: a SQLite database copied into PostgreSQL
answers as it did; copying again adds nothing; the host goes on reading its
files where the SQLite database stopped; a target that already holds
another host's data ends up as one database of both."""

from __future__ import annotations

import json
import os
import subprocess

from conftest import LOGS, ROOT, emaillog_command, postgres_url
from test_many_writers import answers, emaillog, env_for

ONE = [ROOT / "sample_logs" / "mail.log", ROOT / "sample_logs" / "access.log", LOGS / "exim" / "scenario.log"]
OTHER = LOGS / "postfix" / "scenario.log"  # shares people and campaigns with ONE


def as_host(db, home, host: str, *args) -> str:
    result = subprocess.run([*emaillog_command(), *map(str, args)], env=env_for(db, home, EMAILLOG_HOST=host),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_copy_answers_as_the_file_did_and_a_second_adds_nothing(tmp_path, request):
    url = postgres_url(request)
    local = tmp_path / "local.db"
    emaillog(local, tmp_path, "ingest", "-q", "--year", "2026", *ONE)
    emaillog(local, tmp_path, "suppress", "legal@example.net", "--note", "legal hold")
    first = json.loads(as_host(local, tmp_path, "mx1", "migrate", "--to", url, "--json"))
    assert first["host"] == "mx1"
    assert first["added"]["sends"] > 0 and first["added"]["actions"] > 0 and first["added"]["file positions"] == 3
    assert answers(url, tmp_path) == answers(local, tmp_path)

    again = json.loads(as_host(local, tmp_path, "mx1", "migrate", "--to", url, "--json"))
    assert set(again["added"].values()) == {0}
    assert again["already_there"]["sends"] == first["added"]["sends"]

    # The host now ingests into PostgreSQL: its files were read already.
    ingest = json.loads(as_host(url, tmp_path, "mx1", "ingest", "--json", "--year", "2026", *ONE))
    assert ingest["events_added"] == {} or set(ingest["events_added"].values()) == {0}, ingest


def test_a_copy_into_another_hosts_database_is_one_database_of_both(tmp_path, request):
    url = postgres_url(request)
    as_host(url, tmp_path, "mx2", "ingest", "-q", "--year", "2026", OTHER)
    local = tmp_path / "local.db"
    emaillog(local, tmp_path, "ingest", "-q", "--year", "2026", *ONE)
    as_host(local, tmp_path, "mx1", "migrate", "--to", url)

    both = tmp_path / "both.db"
    emaillog(both, tmp_path, "ingest", "-q", "--year", "2026", *ONE, OTHER)
    assert answers(url, tmp_path) == answers(both, tmp_path)


def test_only_a_sqlite_file_goes_to_a_url(tmp_path, request):
    local = tmp_path / "local.db"
    emaillog(local, tmp_path, "ingest", "-q", "--year", "2026", ONE[0])
    result = subprocess.run([*emaillog_command(), "--db", str(local), "migrate", "--to", str(tmp_path / "x.db")],
                            env={**os.environ, "EMAILLOG_CONFIG": ""}, capture_output=True, text=True)
    assert result.returncode == 2 and "postgresql:// URL" in result.stderr
    url = postgres_url(request)
    result = subprocess.run([*emaillog_command(), "--db", url, "migrate", "--to", url],
                            env={**os.environ, "EMAILLOG_CONFIG": ""}, capture_output=True, text=True)
    assert result.returncode == 2 and "copies a SQLite database" in result.stderr
