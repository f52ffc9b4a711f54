"""Files as cron meets them: rotated under the path it names, read again
after a wrong --year, finished without a last newline, and non-log files in
a directory."""

from __future__ import annotations

import gzip
import json
import os
import time

import pytest

from conftest import LOGS

SCENARIO = LOGS / "postfix" / "scenario.log"


@pytest.fixture
def lines():
    return SCENARIO.read_bytes().splitlines(keepends=True)


def dump(store, without=("id",)) -> list[str]:
    return sorted(json.dumps({k: v for k, v in e.items() if k not in without}, sort_keys=True)
                  for e in store.events())


def one_shot(tmp_path, data: bytes, without=("id",), **options) -> list[str]:
    from conftest import run_ingest
    whole = tmp_path / "whole" / "mail.log"
    whole.parent.mkdir(exist_ok=True)
    whole.write_bytes(data)
    store, _ = run_ingest(tmp_path / "whole.db", [whole], **options)
    try:
        return dump(store, without)
    finally:
        store.close()


@pytest.mark.parametrize("rotated_name", ["mail.log.1", "mail.log.1.gz", "mail.log-20261128"])
def test_one_path_is_enough_across_a_rotation(tmp_path, lines, ingest, rotated_name):
    """Lines written after the last run and before the rotation are in the
    rotated file: they are read before the new mail.log."""
    log = tmp_path / "mail.log"
    a, b, c = len(lines) // 3, 2 * len(lines) // 3, len(lines)
    log.write_bytes(b"".join(lines[:a]))
    ingest([log], year=2026)
    with open(log, "ab") as f:
        f.write(b"".join(lines[a:b]))  # written, then rotated before the next run
    rotated = tmp_path / rotated_name
    if rotated_name.endswith(".gz"):
        rotated.write_bytes(gzip.compress(log.read_bytes()))
        log.unlink()
    else:
        log.rename(rotated)
    log.write_bytes(b"".join(lines[b:c]))
    store, summary = ingest([log], year=2026)
    assert summary.rotated == [{"file": str(rotated), "rotated_from": str(log)}]
    assert not summary.problems
    assert summary.lines_read == c - a
    # the same events; each says which file (and line) it came from
    assert dump(store, ("id", "source")) == one_shot(tmp_path, b"".join(lines), ("id", "source"), year=2026)
    _, again = ingest([log], year=2026)
    assert again.lines_read == 0 and again.rotated == []


def test_the_named_file_missing_right_after_rotation_is_a_warning(tmp_path, lines, cli):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines[:400]))
    assert cli("ingest", "-q", "--year", "2026", log).returncode == 0
    with open(log, "ab") as f:
        f.write(b"".join(lines[400:]))
    log.rename(tmp_path / "mail.log.1")  # the new mail.log is not there yet
    result = cli("ingest", "--json", "--year", "2026", log)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["lines_read"] == len(lines) - 400
    assert summary["rotated_files_finished"][0]["file"].endswith("mail.log.1")
    assert [p["fatal"] for p in summary["problems"]] == [False]


def test_reread_replaces_what_a_wrong_year_made(tmp_path, lines, cli):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines))
    assert cli("ingest", "-q", "--year", "2025", log).returncode == 0
    wrong = cli("events", "--format", "jsonl").stdout
    assert '"ts": "2025-' in wrong
    again = cli("ingest", "--json", "--year", "2026", log)
    assert json.loads(again.stdout)["lines_read"] == 0  # remembered: nothing new to read
    fixed = cli("ingest", "--json", "--year", "2026", "--reread", log)
    assert fixed.returncode == 0, fixed.stderr
    summary = json.loads(fixed.stdout)
    assert summary["reread"] == [{"file": str(log), "events_removed": len(wrong.splitlines())}]
    assert summary["lines_read"] == len(lines)
    events = [json.loads(line) for line in cli("events", "--format", "jsonl").stdout.splitlines()]
    assert events and all(e["ts"].startswith("2026-") for e in events)
    fresh = tmp_path / "fresh.db"
    assert cli("ingest", "-q", "--year", "2026", log, env_extra={"EMAILLOG_DB": str(fresh)}).returncode == 0
    want = cli("events", "--format", "jsonl", env_extra={"EMAILLOG_DB": str(fresh)}).stdout.splitlines()

    def without_ids(rows):
        return sorted(json.dumps({k: v for k, v in json.loads(r).items() if k != "id"}, sort_keys=True) for r in rows)
    assert without_ids(cli("events", "--format", "jsonl").stdout.splitlines()) == without_ids(want)
    stats = json.loads(cli("stats", "--json", "--at", "2030-01-01T00:00Z").stdout)
    assert stats["total"]["sent"] == sum(1 for e in events if e["type"] == "sent")


def test_the_last_line_of_a_finished_file_is_read(tmp_path, lines, ingest):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines).rstrip(b"\n"))  # no newline at the very end
    old = time.time() - 2 * 3600
    os.utime(log, (old, old))  # not written for two hours: finished
    _, summary = ingest([log], year=2026)
    assert summary.lines_read == len(lines) and summary.waiting == []


def test_a_live_file_keeps_its_partial_line_for_the_next_run(tmp_path, lines, ingest):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines).rstrip(b"\n"))
    _, summary = ingest([log], year=2026)
    assert summary.lines_read == len(lines) - 1
    assert summary.waiting == [str(log)]
    with open(log, "ab") as f:
        f.write(b"\n")
    _, later = ingest([log], year=2026)
    assert later.lines_read == 1 and later.waiting == []


def test_a_file_that_is_not_a_log_is_said_once(tmp_path, lines, ingest):
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "mail.log").write_bytes(b"".join(lines))
    notes = folder / "README.txt"
    notes.write_text("these are the mail logs\nrotated weekly\n")
    _, first = ingest([folder], year=2026)
    assert [p["file"] for p in first.problems] == [str(notes)] and not first.failed
    _, second = ingest([folder], year=2026)
    assert second.problems == []
    notes.write_text("these are the mail logs\nrotated daily now\n")
    _, changed = ingest([folder], year=2026)
    assert [p["file"] for p in changed.problems] == [str(notes)]
