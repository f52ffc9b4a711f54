"""`emaillog metrics`: what Prometheus's own parser reads from the command
is what the events, suppressions and retries say (emaillog/metrics.py, the
rendering, is tested in test_metrics.py)."""

from __future__ import annotations

import json
import os
import pty
import stat
import subprocess
from collections import Counter
from datetime import datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import LOGS, ROOT, emaillog_command

AT = "2026-11-28T19:10:00Z"  # the sample log has a retry pending then
OPERATOR = ("manual_suppressed", "released")


@pytest.fixture
def db(run):
    for step in [("ingest", "-q", "--year", "2026", ROOT / "sample_logs" / "mail.log", ROOT / "sample_logs" / "access.log"),
                 ("ingest", "-q", "--year", "2026", "--tz", "UTC", LOGS / "postfix" / "scenario.log"),
                 ("suppress", "dave@example.com", "--campaign", "autumn", "--note", "asked by phone")]:
        result = run(*step)
        assert result.returncode == 0, result.stderr


def families(text: str) -> dict:
    return {f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples}
            for f in text_string_to_metric_families(text)}


def test_the_figures_are_the_events(db, run, tmp_path):
    result = run("metrics", "--at", AT)
    assert result.returncode == 0, result.stderr
    got = families(result.stdout)
    events = [json.loads(x) for x in run("events", "--format", "jsonl").stdout.splitlines()]
    activity = [e for e in events if e["type"] not in OPERATOR]
    want = Counter((("campaign", e["campaign"] or ""), ("type", e["type"])) for e in activity)
    assert got["emaillog_events"] == want
    hard = Counter((("class", e["bounce_class"] or ""), ("reason", e["reason"] or ""))
                   for e in activity if e["type"] == "hard_bounced")
    assert got["emaillog_hard_bounces"] == hard and sum(hard.values()) > 5
    suppressed = json.loads(run("suppressed", "--at", AT, "--json").stdout)["items"]
    by_reason = Counter(s["reason"] for s in suppressed)
    assert got["emaillog_suppressions"] == {(("reason", r),): by_reason.get(r, 0) for r in
                                            ("hard_bounce", "spam_block", "unsubscribed", "complained", "manual")}
    retries = json.loads(run("retries", "--at", AT, "--json").stdout)["items"]
    assert retries and got["emaillog_pending_retries"] == Counter(
        (("campaign", r["campaign"] or ""),) for r in retries)
    newest = max(datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp() for e in activity)
    assert got["emaillog_last_event_timestamp_seconds"] == {(): newest}
    assert set(got["emaillog_build_info"]) == {(("version", "0.1.0"),)}


@pytest.mark.sqlite_only  # forget is SQLite's only
def test_forgotten_people_stay_in_the_suppression_gauge_and_leave_the_counters(db, run):
    before = families(run("metrics").stdout)
    bobs = len(run("events", "--person", "bob@example.com", "--format", "jsonl").stdout.splitlines())
    assert bobs and run("forget", "bob@example.com", "--yes").returncode == 0
    after = families(run("metrics").stdout)
    assert after["emaillog_suppressions"] == before["emaillog_suppressions"]
    assert sum(after["emaillog_events"].values()) == sum(before["emaillog_events"].values()) - bobs


def test_the_textfile_is_replaced_atomically_and_readable_by_the_collector(db, cli, tmp_path):
    target = tmp_path / "prom" / "emaillog.prom"
    target.parent.mkdir()
    target.write_text("old\n")
    result = cli("metrics", "--output", target, "--at", AT)  # the installed command
    assert result.returncode == 0 and result.stdout == "", result.stderr
    assert families(target.read_text())["emaillog_events"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert sorted(p.name for p in target.parent.iterdir()) == ["emaillog.prom"]  # no temporary file left


def test_an_empty_database_gives_the_zero_gauges(run, database):
    from emaillog.store import Store
    Store(database).close()
    got = families(run("metrics").stdout)
    assert set(got) == {"emaillog_suppressions", "emaillog_build_info"}


def _through_a_terminal(args, env) -> bytes:
    main, child = pty.openpty()
    proc = subprocess.Popen([*emaillog_command(), *map(str, args)], stdout=child, stderr=subprocess.DEVNULL,
                            env=env)
    os.close(child)
    out = b""
    while True:
        try:
            data = os.read(main, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        out += data
    proc.wait(timeout=60)
    os.close(main)
    return out


def test_machine_output_on_a_terminal_shows_controls(run, database):
    """Exact in a pipe (Prometheus and the providers read the bytes); on a
    terminal a campaign's escape sequence is shown, not obeyed."""
    from test_terminal_safety import CAMPAIGN, POSTFIX, SHOWN_CLEAR
    assert run("ingest", "-q", "--year", "2026", "--tz", "UTC", "-", input=POSTFIX).returncode == 0
    piped = run("metrics", "--at", "2026-11-28T18:00Z").stdout
    assert CAMPAIGN in piped
    env = {**os.environ, "EMAILLOG_DB": str(database), "EMAILLOG_CONFIG": "", "TZ": "UTC"}
    for args in (("metrics", "--at", "2026-11-28T18:00Z"), ("suppressed", "--for", "ses", "--at", "2026-11-28T18:00Z")):
        shown = _through_a_terminal(args, env).decode()
        assert "\x1b" not in shown and "\x9b" not in shown, args
    assert SHOWN_CLEAR in _through_a_terminal(("metrics", "--at", "2026-11-28T18:00Z"), env).decode()
