"""The state kept at ingest (hourly counts, suppression intervals) is what
a rebuild from the events gives, and reading files in another order gives
the same answers."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from conftest import LOGS, emaillog_command, run_ingest
from emaillog.config import Config

SCENARIO = LOGS / "postfix" / "scenario.log"
SENDGRID = LOGS / "esp" / "sendgrid.jsonl"
ATS = ["2026-11-28T17:50:00Z", "2026-11-28T18:30:00Z", "2026-11-29T12:00:00Z", "2030-01-01T00:00:00Z"]


def tables(store) -> dict:
    conn = store.conn
    return {
        "counts": sorted(conn.execute("SELECT * FROM counts WHERE n != 0 OR metric >= 100")),
        "domain_counts": sorted(conn.execute(
            "SELECT * FROM domain_counts WHERE sent != 0 OR delivered != 0 OR hard != 0 OR soft != 0")),
        "suppressions": sorted(conn.execute(
            "SELECT person, scope, reason, since, until, valid_from, valid_to, event FROM suppressions")),
    }


def test_incremental_state_equals_rebuilt_state(tmp_path):
    store, _ = run_ingest(tmp_path / "t.db", [SCENARIO, SENDGRID, LOGS / "access" / "mail.log",
                                              LOGS / "access" / "access.log"], year=2026)
    before = tables(store)
    assert before["counts"] and before["suppressions"]
    store.rebuild(Config())
    assert tables(store) == before


def answers(db) -> dict:
    env = {**os.environ, "EMAILLOG_DB": str(db), "EMAILLOG_CONFIG": "", "TZ": "UTC"}

    def run(*args):
        return subprocess.run([*emaillog_command(), *args], env=env, capture_output=True, text=True, check=True).stdout

    def no_ids(value):
        if isinstance(value, dict):
            return {k: no_ids(v) for k, v in value.items() if k not in ("id", "event_id")}
        if isinstance(value, list):
            return [no_ids(v) for v in value]
        return value

    out = {"events": sorted(json.dumps(no_ids(json.loads(line)), sort_keys=True)
                            for line in run("events", "--format", "jsonl").splitlines())}
    for at in ATS:
        out[f"suppressed {at}"] = no_ids(json.loads(run("suppressed", "--json", "--at", at)))
        out[f"retries {at}"] = no_ids(json.loads(run("retries", "--json", "--include-given-up", "--at", at)))
        out[f"stats {at}"] = no_ids(json.loads(run("stats", "--json", "--at", at)))
    return out


@pytest.mark.parametrize("order", ["reversed", "interleaved"])
def test_files_read_in_another_order_give_the_same_answers(tmp_path, order):
    """Two genuine Postfix captures and SendGrid events (hard bounces, an
    unsubscribe, a complaint): the suppression intervals, retries and counts
    come out the same whichever file is read first."""
    files = [SCENARIO, LOGS / "postfix" / "rfc3339.log", SENDGRID, LOGS / "postfix" / "sample_mail.log"]
    one, _ = run_ingest(tmp_path / "in-order.db", files, year=2026)
    paths = list(reversed(files)) if order == "reversed" else [files[2], files[0], files[3], files[1]]
    other, _ = run_ingest(tmp_path / "other.db", paths, year=2026)
    one.close(), other.close()
    first, second = answers(tmp_path / "in-order.db"), answers(tmp_path / "other.db")
    assert first.keys() == second.keys()
    for key in first:
        assert first[key] == second[key], key
