"""The ingest's fast paths give exactly what the plain ones give: the
Postfix chunk reader against line-by-line parsing, and two processes
(one parsing, one writing) against one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import CORPUS, LOGS, ROOT, emaillog_command, run_ingest
from emaillog.formats import postfix

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate_postfix import generate  # noqa: E402

# Every Postfix log in tests/logs (the probe, resolver, filter and
# multi-instance captures too: quoted addresses, literals, probes, bare
# orig_to aliases), and the corpus's when it is there.
OWN_POSTFIX_LOGS = sorted(LOGS.glob("postfix*/*.log")) + [LOGS / "resolver" / "postfix.log"]
POSTFIX_LOGS = OWN_POSTFIX_LOGS + sorted(LOGS.glob("access/mail.log")) + sorted(
    p for p in (CORPUS / "mta").glob("*.log") if "postfix" in p.name) if CORPUS.is_dir() else OWN_POSTFIX_LOGS


def dump(store) -> list[str]:
    return sorted(json.dumps({k: v for k, v in e.items() if k != "id"}, sort_keys=True) for e in store.events())


def counts(summary) -> dict:
    data = summary.to_json()
    data.pop("problems")
    return data


@pytest.mark.parametrize("log", POSTFIX_LOGS, ids=lambda p: p.name)
def test_chunk_reader_equals_line_by_line(log, tmp_path, monkeypatch):
    fast, fast_summary = run_ingest(tmp_path / "fast.db", [log], format="postfix", year=2026)
    monkeypatch.delattr(postfix.Parser, "feed_text")
    slow, slow_summary = run_ingest(tmp_path / "slow.db", [log], format="postfix", year=2026)
    assert dump(fast) == dump(slow)
    assert counts(fast_summary) == counts(slow_summary)
    assert [{k: v for k, v in r.items() if k != "seen_at"} for r in fast.rejects()] == \
        [{k: v for k, v in r.items() if k != "seen_at"} for r in slow.rejects()]


def test_a_long_line_is_one_reject_either_way(tmp_path, monkeypatch):
    lines = (LOGS / "postfix" / "scenario.log").read_bytes().splitlines(keepends=True)
    long = b"Nov 28 17:47:06 mx1 postfix/smtp[1]: 20CD11600D5: to=<x@example.com>, status=sent (" + b"x" * 70000 + b")\n"
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines[:50]) + long + b"".join(lines[50:]))
    fast, fast_summary = run_ingest(tmp_path / "fast.db", [log], year=2026)
    monkeypatch.delattr(postfix.Parser, "feed_text")
    slow, slow_summary = run_ingest(tmp_path / "slow.db", [log], year=2026)
    assert fast_summary.rejected == slow_summary.rejected == 1
    assert [r["line_no"] for r in fast.rejects()] == [r["line_no"] for r in slow.rejects()] == [51]
    assert dump(fast) == dump(slow)


def ingest_cli(db, log, parallel: str) -> dict:
    env = {**os.environ, "EMAILLOG_DB": str(db), "EMAILLOG_CONFIG": "", "TZ": "UTC",
           "EMAILLOG_PARALLEL": parallel, "EMAILLOG_BATCH_LINES": "5000"}
    out = subprocess.run([*emaillog_command(), "ingest", "--json", str(log)], env=env, capture_output=True,
                         text=True, check=True).stdout
    events = subprocess.run([*emaillog_command(), "events", "--format", "jsonl"], env=env, capture_output=True,
                            text=True, check=True).stdout
    summary = json.loads(out)
    summary.pop("problems")
    return {"summary": summary, "events": sorted(line for line in events.splitlines())}


def test_two_processes_equal_one(tmp_path):
    log = tmp_path / "mail.log"
    truth = generate(str(log), 3000, seed=11)
    one = ingest_cli(tmp_path / "one.db", log, "0")
    two = ingest_cli(tmp_path / "two.db", log, "1")
    assert one == two
    assert one["summary"]["events_added"]["sent"] == truth["sent"]
