"""Cron-grade guarantees with real processes: kill -9 at random moments and
overlapping runs never lose or double an event."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, emaillog_command

sys.path.insert(0, str(ROOT / "benchmarks"))
from generate_postfix import generate  # noqa: E402


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "mail.log"
    truth = generate(str(path), messages=8000, seed=7)
    return path, truth


def env_for(db, home):
    return {**os.environ, "EMAILLOG_DB": str(db), "EMAILLOG_CONFIG": "", "TZ": "UTC",
            "XDG_CONFIG_HOME": str(home / "xdg"), "EMAILLOG_BATCH_LINES": "2000"}


def dump(db, home):
    out = subprocess.run([*emaillog_command(), "events", "--format", "jsonl"], env=env_for(db, home),
                         capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    for row in rows:
        row.pop("id")
    return sorted(json.dumps(r, sort_keys=True) for r in rows)


def test_kill_9_at_random_moments_then_a_normal_run_equals_one_clean_run(big_log, tmp_path, fresh_database):
    log, truth = big_log
    clean = fresh_database("clean")
    subprocess.run([*emaillog_command(), "ingest", "-q", str(log)], env=env_for(clean, tmp_path), check=True)
    expected = dump(clean, tmp_path)
    assert sum(1 for r in expected if '"type": "sent"' in r) == truth["sent"]

    crashed = fresh_database("crashed")
    rng = random.Random(42)
    kills = 0
    for _ in range(8):  # an ingest of this log takes about a second
        proc = subprocess.Popen([*emaillog_command(), "ingest", "-q", str(log)], env=env_for(crashed, tmp_path),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 0.7))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
    assert kills >= 1
    subprocess.run([*emaillog_command(), "ingest", "-q", str(log)], env=env_for(crashed, tmp_path), check=True)
    assert dump(crashed, tmp_path) == expected


def test_overlapping_runs_never_both_ingest(big_log, tmp_path, database):
    log, truth = big_log
    db = database
    procs = [subprocess.Popen([*emaillog_command(), "ingest", "--json", "--wait", "0", str(log)],
                              env=env_for(db, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    results = [(p.wait(), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert set(codes) <= {0, 75} and 0 in codes, results
    for code, out, err in results:
        assert "Traceback" not in err
        if code == 75:
            assert "another emaillog ingest" in err
    # The late ones, run again with a wait, find nothing new.
    again = subprocess.run([*emaillog_command(), "ingest", "--json", str(log)], env=env_for(db, tmp_path),
                           capture_output=True, text=True, check=True)
    assert json.loads(again.stdout)["events_added_total"] == 0
    rows = dump(db, tmp_path)
    assert len(rows) == len(set(rows))
    assert sum(1 for r in rows if '"type": "sent"' in r) == truth["sent"]
