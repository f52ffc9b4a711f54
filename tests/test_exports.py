"""Exports for scripts: `events`, `suppressed`, `retries` and `stats` in CSV
and JSON lines keep stable columns (a spreadsheet or a loader script depends
on them), and both formats carry the same rows."""

from __future__ import annotations

import csv
import io
import json

import pytest

from conftest import LOGS

AT = "2026-11-28T19:10:00Z"
COLUMNS = {
    "events": ["id", "ts", "type", "person", "campaign", "email", "message_id", "queue_id", "source_format",
               "host", "bounce_class", "reason", "smtp_code", "dsn", "detail", "url", "source", "attempts",
               "last_attempt", "machine", "note", "actor"],
    "suppressed": ["person", "scope", "reason", "since", "until", "event_id", "detail"],
    "retries": ["person", "campaign", "message_id", "queue_id", "first_soft_bounce", "attempts",
                "last_attempt", "last_reason", "window_closes", "status", "event_id"],
}
ARGS = {"events": [], "suppressed": ["--at", AT], "retries": ["--at", AT, "--include-given-up"]}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    import os
    import subprocess

    from conftest import emaillog_command
    db = tmp_path_factory.mktemp("exports") / "e.db"
    env = {**os.environ, "EMAILLOG_DB": str(db), "EMAILLOG_CONFIG": "", "TZ": "UTC"}

    def run(*args):
        return subprocess.run([*emaillog_command(), *map(str, args)], capture_output=True, text=True,
                              env=env, timeout=120)

    assert run("ingest", "-q", "--year", "2026", LOGS / "postfix" / "scenario.log").returncode == 0
    return run


@pytest.mark.parametrize("command", sorted(COLUMNS))
def test_csv_and_jsonl_have_the_stable_columns_and_the_same_rows(loaded, command):
    as_csv = loaded(command, *ARGS[command], "--format", "csv")
    as_jsonl = loaded(command, *ARGS[command], "--format", "jsonl")
    assert as_csv.returncode == 0 and as_jsonl.returncode == 0
    reader = csv.DictReader(io.StringIO(as_csv.stdout))
    rows = list(reader)
    assert reader.fieldnames == COLUMNS[command]
    objects = [json.loads(line) for line in as_jsonl.stdout.splitlines()]
    assert rows, f"{command}: the scenario should give rows"
    assert all(list(obj) == COLUMNS[command] for obj in objects)
    assert [{k: "" if v is None else str(v) for k, v in obj.items()} for obj in objects] == rows


def test_stats_csv_columns_are_the_documented_ones(loaded):
    from emaillog.stats import CSV_COLUMNS
    header = next(csv.reader(io.StringIO(loaded("stats", "--format", "csv", "--at", AT).stdout)))
    assert header == list(CSV_COLUMNS)
    assert header[:3] == ["campaign", "sent", "delivered"] and "click_to_open_rate" in header


def test_json_output_escapes_every_control_character():
    """Bounce texts may hold one-byte CSI (\\x9b) or DEL; the JSON written
    carries them escaped (safe on a terminal) and reads back the same."""
    from emaillog.output import dumps
    value = {"detail": "550 \x1b[2J \x9b2J \x7f é ✓"}
    text = dumps(value)
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in text)
    assert json.loads(text) == value and "é ✓" in text
