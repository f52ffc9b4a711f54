"""Many hosts, one PostgreSQL database: genuine logs ingested at the same
time by separate processes (each standing for a host) give the answers one
SQLite run of the same files gives; running them all again adds nothing."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import LOGS, emaillog_command, postgres_url, without

# Five captures of real MTAs; they share people, campaigns and reply texts,
# so the hosts meet on the same rows.
HOST_LOGS = [LOGS / "postfix" / "scenario.log", LOGS / "exim" / "scenario.log", LOGS / "opensmtpd" / "scenario.log",
             LOGS / "postfix_filter" / "amavis.log", LOGS / "msp" / "sendmail_postfix.log"]
AT = "2026-12-03T00:00:00Z"


def env_for(db, home, **extra):
    return {**os.environ, "EMAILLOG_DB": str(db), "EMAILLOG_CONFIG": "", "TZ": "UTC",
            "XDG_CONFIG_HOME": str(home / "xdg"), **extra}


def emaillog(db, home, *args, ok=(0,)) -> str:
    result = subprocess.run([*emaillog_command(), *map(str, args)], env=env_for(db, home), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode in ok, result.stderr
    return result.stdout


def _without_ids(value):
    """Ids are the database's own (blocks per host in PostgreSQL)."""
    return without(value, ("id", "event_id", "at"))


def answers(db, home) -> dict:
    events = [json.loads(line) for line in emaillog(db, home, "events", "--format", "jsonl").splitlines()]
    people = sorted({e["person"] for e in events})[::20]  # the send gate, asked of some (a process each)
    return {
        "events": sorted(json.dumps(_without_ids(e), sort_keys=True) for e in events),
        "stats": _without_ids(json.loads(emaillog(db, home, "stats", "--json"))),
        "suppressed": _without_ids(json.loads(emaillog(db, home, "suppressed", "--json", "--at", AT))),
        "retries": _without_ids(json.loads(emaillog(db, home, "retries", "--json", "--at", AT))),
        "sendable": {p: json.loads(emaillog(db, home, "check", "--json", p, "--at", AT, ok=(0, 1)))["sendable"]
                     for p in people},
    }


def ingest_at_once(url, home) -> list[dict]:
    """One process per host, all started before any ends; small batches so
    that their transactions interleave."""
    procs = [subprocess.Popen([*emaillog_command(), "ingest", "--json", "--year", "2026", str(log)],
                              env=env_for(url, home, EMAILLOG_HOST=f"mx{i}", EMAILLOG_BATCH_LINES="20"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i, log in enumerate(HOST_LOGS, 1)]
    summaries = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        summaries.append(json.loads(out))
    return summaries


def test_hosts_writing_at_once_give_what_one_sqlite_run_gives(tmp_path, request):
    url = postgres_url(request)
    reference = tmp_path / "one.db"
    emaillog(reference, tmp_path, "ingest", "-q", "--year", "2026", *HOST_LOGS)
    expected = answers(reference, tmp_path)
    assert len(expected["events"]) > 100 and any(expected["sendable"].values()) \
        and not all(expected["sendable"].values())

    first = ingest_at_once(url, tmp_path)
    assert sum(s["events_added_total"] for s in first) == len(expected["events"])
    assert answers(url, tmp_path) == expected

    again = ingest_at_once(url, tmp_path)
    assert [s["events_added_total"] for s in again] == [0] * len(HOST_LOGS)
    assert answers(url, tmp_path) == expected


def test_each_host_reads_its_own_files(tmp_path, request):
    """The same path on two hosts is two files: each host's position is its
    own, and one host's run does not take the other's open messages."""
    url = postgres_url(request)
    log = LOGS / "postfix" / "scenario.log"
    one = subprocess.run([*emaillog_command(), "ingest", "--json", "--year", "2026", str(log)],
                         env=env_for(url, tmp_path, EMAILLOG_HOST="mx-a"), capture_output=True, text=True)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([*emaillog_command(), "ingest", "--json", "--year", "2026", str(log)],
                         env=env_for(url, tmp_path, EMAILLOG_HOST="mx-b"), capture_output=True, text=True)
    assert two.returncode == 0, two.stderr
    a, b = json.loads(one.stdout), json.loads(two.stdout)
    assert a["lines_read"] == b["lines_read"] > 0  # mx-b read the whole file too: its own position
    assert b["events_added_total"] == 0  # the same messages (same syslog host, queue ids): nothing new
    again = subprocess.run([*emaillog_command(), "ingest", "--json", "--year", "2026", str(log)],
                           env=env_for(url, tmp_path, EMAILLOG_HOST="mx-a"), capture_output=True, text=True)
    assert json.loads(again.stdout)["lines_read"] == 0


def test_a_batch_caught_in_a_deadlock_is_tried_again(tmp_path, request, monkeypatch):
    """A genuine deadlock: another host's transaction holds the counts and
    then adds a person this run has just added. PostgreSQL aborts this
    run's transaction (it waited first); the batch is tried again, whole,
    and the result is what a run alone gives."""
    import threading
    import time
    from datetime import timezone

    import psycopg

    from emaillog.config import Config
    from emaillog.ingest import Ingest, Options
    from emaillog.store import Store
    from emaillog.store.codec import hash32

    url = postgres_url(request)
    log = LOGS / "postfix" / "scenario.log"
    reference = tmp_path / "alone.db"
    emaillog(reference, tmp_path, "ingest", "-q", "--year", "2026", "--tz", "UTC", log)
    expected = answers(reference, tmp_path)
    person = json.loads(expected["events"][0])["person"]
    Store(url).close()  # the layout, made before anyone holds a lock

    other = psycopg.connect(url, autocommit=True)
    domain = other.execute("INSERT INTO names (kind, value) VALUES ('domain', %s) RETURNING id",
                           (person.rpartition("@")[2],)).fetchone()[0]
    other.execute("BEGIN")
    other.execute("LOCK TABLE counts IN SHARE ROW EXCLUSIVE MODE")

    monkeypatch.setenv("EMAILLOG_HOST", "mx-b")
    outcome = {}

    def run() -> None:
        store = Store(url)
        try:
            outcome["summary"] = Ingest(store, Config(), Options(year=2026, tz=timezone.utc)).run([str(log)])
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc
        finally:
            store.close()

    writer = threading.Thread(target=run)
    writer.start()
    try:
        # A connection of its own: inside a transaction pg_stat_activity is a snapshot.
        with psycopg.connect(url, autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while not watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'emaillog' "
                                      "AND wait_event_type = 'Lock'").fetchone()[0]:
                assert time.monotonic() < deadline, "the run never waited for the counts"
                time.sleep(0.05)
        other.execute("INSERT INTO persons (id, hash, address, domain) VALUES (%s, %s, %s, %s)",
                      (10 ** 12, hash32(person), person, domain))  # waits for the run: a circle
        other.execute("COMMIT")
    finally:
        other.close()
        writer.join(60)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["summary"].conflicts_retried >= 1
    assert answers(url, tmp_path) == expected


def test_a_host_bringing_the_views_in_line_waits_for_one_making_them(tmp_path, request):
    """Hosts that start together on a new database: one is making the views
    (its transaction not yet committed) when another compares them with its
    settings. The other waits for it, then sees the views it made; comparing
    with what was committed before would leave the first host's views in
    place of its own, or (views still missing) create them a second time
    and fail on PostgreSQL's catalogue."""
    import threading

    from emaillog.config import Config
    from emaillog.store import Store
    from emaillog.store.dialect import POSTGRES
    from emaillog.store.postgres import lock_for_migrations
    from emaillog.store.views import definitions, sync_views

    url = postgres_url(request)
    first = Store(url)
    first.conn.execute("BEGIN")
    lock_for_migrations(first.conn)
    sync_views(first.conn, 99, 99)  # other windows than the second host's: its views must replace these

    second = Store(url)
    done = threading.Event()
    outcome = {}

    def bring_in_line() -> None:
        try:
            outcome["changed"] = second.sync_config(Config())
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc
        done.set()

    worker = threading.Thread(target=bring_in_line)
    worker.start()
    waited = not done.wait(1.0)
    first.conn.execute("COMMIT")
    worker.join(30)
    first.close()
    assert "error" not in outcome, outcome.get("error")
    assert waited, "the second host compared the views while the first was making them"
    assert outcome["changed"] is True
    defaults = Config()
    wanted = {name: f"CREATE VIEW {name} AS{sql}" for name, sql in
              definitions(defaults.retry_window_hours, defaults.spam_block_hours, POSTGRES).items()}
    assert POSTGRES.views(second.conn) == wanted
    second.close()
