"""The systemd journal (issue 13 item 9): `journalctl -o json` output read
as a file or from standard input, and the journal itself read by cursor
(`ingest --journal`).

The fixtures (tools/capture_journal.py) are a genuine Postfix capture,
tests/logs/postfix/rfc3339.log, put into a real journal file by
systemd-journal-remote: postfix.journal.gz is that file, postfix.json what
the real journalctl prints of it, postfix.short-iso.log its `-o short-iso`.
The same lines must give the same events whichever way they come.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from capture_checks import by_message_id, check_every_message_and_recipient, load
from conftest import CORPUS, LOGS, run_ingest
from emaillog import formats
from emaillog.config import Config
from emaillog.formats import journald
from emaillog.ingest import Ingest, Options
from emaillog.ingest.journal import Journal
from emaillog.store import Store

HERE = LOGS / "journald"
JSON = HERE / "postfix.json"
SYSLOG = LOGS / "postfix" / "rfc3339.log"  # the capture the journal was made of
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
IN_CI = os.environ.get("CI") == "true"  # .ci/run installs systemd and systemd-journal-remote


def needs(tool: str, path: str | None) -> None:
    if path is None or not os.path.exists(path):
        if IN_CI:
            pytest.fail(f"{tool} is missing in CI (.ci/run installs it)")
        pytest.skip(f"{tool} is not installed")


@pytest.fixture
def journalctl():
    needs("journalctl", shutil.which("journalctl"))


@pytest.fixture
def journal_remote(journalctl):
    needs("systemd-journal-remote", JOURNAL_REMOTE)


def entries() -> list[dict]:
    return [json.loads(line) for line in JSON.read_text().splitlines()]


def comparable(store) -> list[str]:
    """The events as the SPEC prints them, without what names the input."""
    rows = []
    for event in store.events():
        event = dict(event)
        event.pop("id")
        event.pop("source")
        rows.append(json.dumps(event, sort_keys=True))
    return sorted(rows)


def ingest_lines(tmp_path, name: str, lines: list[str], **options):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return run_ingest(tmp_path / f"{name}.db", [path], **options)


# -- the format --------------------------------------------------------------

def test_sample_and_fixture_are_detected_as_journald():
    assert formats.detect(journald.SAMPLES)[0] is journald
    head = JSON.read_text().splitlines()[:50]
    assert formats.detect_file(head)[0] is journald
    # a syslog line or an ESP's JSON is not a journal entry
    assert not journald.sniff(formats.FORMATS["postfix"].SAMPLES[0])
    assert not journald.sniff('{"eventType": "Delivery", "mail": {"messageId": "x"}}')


def test_older_journalctl_spacing_is_detected(corpus):
    """journalctl before v240 wrote `{ "__CURSOR" : "...", ... }` (lnav's sample)."""
    sample = corpus / "mta" / "lnav-journald-json-sample.jsonl"
    head = sample.read_text().splitlines()
    assert formats.detect_file(head)[0] is journald


def test_the_journal_gives_the_events_of_the_same_lines_in_syslog(tmp_path):
    """Golden: postfix.json, its syslog original and journalctl's short-iso
    text of it give the same events, field by field."""
    journal_store, journal_summary = run_ingest(tmp_path / "j.db", [JSON])
    syslog_store, syslog_summary = run_ingest(tmp_path / "s.db", [SYSLOG])
    short_store, _ = run_ingest(tmp_path / "i.db", [HERE / "postfix.short-iso.log"])
    got = comparable(journal_store)
    assert got == comparable(syslog_store)
    assert got == comparable(short_store)
    assert {json.loads(e)["type"] for e in got} == {"sent", "delivered", "hard_bounced", "soft_bounced"}
    assert all(json.loads(e)["source_format"] == "postfix" for e in got)
    for key in ("lines_read", "lines_skipped", "lines_rejected", "notices_skipped", "open_messages",
                "soft_bounce_attempts_merged", "events_added"):
        assert journal_summary.to_json()[key] == syslog_summary.to_json()[key], key
    assert journal_summary.lines_by_format == {"postfix": len(entries())}
    assert journal_summary.rejected == 0
    sources = {e["source"] for e in journal_store.events()}
    assert all(s.startswith("postfix.json:") for s in sources)
    for store in (journal_store, syslog_store, short_store):
        store.close()


def test_every_message_and_recipient_of_the_capture(tmp_path):
    """The journal copy meets the capture's truth (scenario + sink), as the
    syslog original does in test_postfix_capture."""
    scenario, sink = load(JSON)
    store, summary = run_ingest(tmp_path / "t.db", [JSON])
    checked = check_every_message_and_recipient(scenario, sink, by_message_id(store), header_logged=True)
    assert set(checked) == {"delivered", "hard_bounced", "soft_bounced", "expired"}, checked
    store.close()


def test_times_come_from_the_realtime_timestamp_not_the_file_date(tmp_path):
    """A year-less stamp takes its year from the file's modification time
    and its zone from --tz; the journal's microseconds are UTC with a year."""
    from datetime import datetime, timedelta, timezone
    path = tmp_path / "old.json"
    shutil.copy(JSON, path)
    os.utime(path, (0, 0))  # 1970: a year-less syslog file with this date would be dated 1970
    store, summary = run_ingest(tmp_path / "t.db", [path], tz=timezone(timedelta(hours=5)), year=2001)
    sent = [e for e in store.events() if e["type"] == "sent"]
    assert sent
    by_line = entries()
    for event in sent:
        usec = int(by_line[int(event["source"].rsplit(":", 1)[1]) - 1]["__REALTIME_TIMESTAMP"])
        assert event["ts"] == datetime.fromtimestamp(usec // 1_000_000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not summary.problems
    store.close()


def test_a_message_as_an_array_of_bytes_reads_like_the_text(tmp_path):
    """journalctl prints a MESSAGE that is not UTF-8 as an array of bytes."""
    lines = []
    for entry in entries():
        entry["MESSAGE"] = list(entry["MESSAGE"].encode("utf-8"))
        lines.append(json.dumps(entry))
    as_bytes, _ = ingest_lines(tmp_path, "bytes.json", lines)
    as_text, _ = run_ingest(tmp_path / "text.db", [JSON])
    assert comparable(as_bytes) == comparable(as_text) and comparable(as_text)
    as_bytes.close()
    as_text.close()


def test_a_message_that_is_not_utf8_keeps_its_event():
    entry = next(e for e in entries() if "status=bounced" in e["MESSAGE"])
    raw = entry["MESSAGE"].encode() + b" \xff\xfe"
    entry["MESSAGE"] = list(raw)
    line = journald.entry_line(entry)
    assert isinstance(line, str) and line.endswith(" \ufffd\ufffd")
    assert " mx1 postfix/smtp[" in line and line.startswith("2026-11-28T")


def test_other_programs_are_skipped_and_counted(tmp_path):
    base = entries()[0]
    others = []
    for ident, message in (("CRON", "(root) CMD (run-parts /etc/cron.hourly)"), ("kernel", "Linux version 6.1"),
                           ("sshd", "Accepted publickey for root")):
        entry = dict(base, SYSLOG_IDENTIFIER=ident, MESSAGE=message)
        others.append(json.dumps(entry))
    lines = [others[0], *JSON.read_text().splitlines(), *others[1:]]
    store, summary = ingest_lines(tmp_path, "mixed.json", lines)
    plain, plain_summary = run_ingest(tmp_path / "plain.db", [JSON])
    assert comparable(store) == comparable(plain)
    assert summary.lines_by_format == {"postfix": len(entries()), "other programs": 3}
    assert summary.skipped == plain_summary.skipped + 3
    assert summary.rejected == 0
    store.close()
    plain.close()


def test_a_line_that_is_not_json_is_a_reject_not_a_traceback(tmp_path):
    lines = JSON.read_text().splitlines()
    lines.insert(5, "-- Boot 0dc874d3fbd44bdbb6fbcfaa27481492 --")
    lines.insert(9, '{"__CURSOR": "s=1;i=2", "__REALTIME_TIMESTAMP": "17958884')  # cut short
    lines.append('["not", "an", "entry"]')
    lines.append('{"__CURSOR": "s=1;i=3", "MESSAGE": "no time"}')
    store, summary = ingest_lines(tmp_path, "broken.json", lines)
    assert summary.rejected == 4
    rejects = store.rejects()
    assert [r["line_no"] for r in rejects] == [6, 10, len(lines) - 1, len(lines)]
    assert "not JSON" in rejects[0]["why"] and "not JSON" in rejects[1]["why"]
    assert "not an object" in rejects[2]["why"]
    assert "__REALTIME_TIMESTAMP" in rejects[3]["why"]
    plain, _ = run_ingest(tmp_path / "plain.db", [JSON])
    assert comparable(store) == comparable(plain)
    store.close()
    plain.close()


def test_standard_input_is_detected(cli):
    result = cli("ingest", "--json", "-", input=JSON.read_text())
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["lines_by_format"] == {"postfix": len(entries())}
    sent = cli("events", "--type", "sent", "--format", "jsonl").stdout.splitlines()
    assert len(sent) == summary["events_added"]["sent"] > 0
    assert {json.loads(s)["source"].split(":")[0] for s in sent} == {"<stdin>"}


# -- the journal itself: ingest --journal ------------------------------------

def journal_file(tmp_path, name="postfix.journal") -> Path:
    path = tmp_path / name
    with gzip.open(HERE / "postfix.journal.gz") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return path


def journal_ingest(db, *files, units=(), **options):
    store = Store(db)
    summary = Ingest(store, Config(), Options(journal=Journal(tuple(map(str, files)), units), **options)).run([])
    return store, summary


def test_journal_is_read_by_cursor(tmp_path, journal_remote):
    """First run reads all, the next nothing, then only what was appended;
    the end result is that of reading everything at once."""
    full = journal_file(tmp_path, "full.journal")
    export = subprocess.run(["journalctl", f"--file={full}", "--output=export"], check=True,
                            capture_output=True).stdout
    parts = [p for p in export.split(b"\n\n") if p.strip()]
    assert len(parts) == len(entries())
    split = len(parts) // 2  # messages are open across the split: their state waits in the store
    live = tmp_path / "live.journal"

    def append(chunk):
        subprocess.run([JOURNAL_REMOTE, f"--output={live}", "-"], input=b"".join(p + b"\n\n" for p in chunk),
                       check=True, capture_output=True)

    append(parts[:split])
    db = tmp_path / "j.db"
    store, first = journal_ingest(db, live)
    assert first.journal["entries"] == split and first.lines_read == split
    assert first.open_messages > 0
    cursor = first.journal["cursor"]
    fields = dict(part.split("=", 1) for part in cursor.split(";"))  # s=seqnum id;i=seqnum;b=boot;m=mono;t=time
    last = entries()[split - 1]
    assert (int(fields["t"], 16), fields["b"]) == (int(last["__REALTIME_TIMESTAMP"]), last["_BOOT_ID"])
    store.close()

    store, again = journal_ingest(db, live)
    assert again.journal == {"entries": 0, "cursor": cursor}
    assert again.lines_read == 0 and not again.events_added
    store.close()

    append(parts[split:])
    store, third = journal_ingest(db, live)
    assert third.journal["entries"] == len(parts) - split
    assert third.events_added  # the rest of the messages
    lines = sorted(int(e["source"].rsplit(":", 1)[1]) for e in store.events())
    assert lines[-1] > split  # entries are numbered on across runs
    clean, _ = run_ingest(tmp_path / "clean.db", [JSON])
    assert comparable(store) == comparable(clean)
    assert third.open_messages == 0
    store.close()
    clean.close()


def test_a_vacuumed_cursor_goes_on_from_the_oldest_entry_left(tmp_path, journal_remote):
    """The stored cursor's entry is gone (journald deleted the older file):
    every entry left is read, the first one too (journalctl --after-cursor
    would step over it)."""
    full = journal_file(tmp_path, "full.journal")
    export = subprocess.run(["journalctl", f"--file={full}", "--output=export"], check=True,
                            capture_output=True).stdout
    parts = [p for p in export.split(b"\n\n") if p.strip()]
    split = len(parts) // 2
    live = tmp_path / "live.journal"
    for chunk in (parts[:split], parts[split:]):
        live.unlink(missing_ok=True)  # the second time: only the newer entries are left
        subprocess.run([JOURNAL_REMOTE, f"--output={live}", "-"], input=b"".join(p + b"\n\n" for p in chunk),
                       check=True, capture_output=True)
        store, summary = journal_ingest(tmp_path / "j.db", live)
        assert summary.journal["entries"] == len(chunk)
        store.close()
    store = Store(tmp_path / "j.db")
    clean, _ = run_ingest(tmp_path / "clean.db", [JSON])
    assert comparable(store) == comparable(clean)
    store.close()
    clean.close()


def test_a_run_killed_midway_resumes_without_loss_or_duplicates(tmp_path, journalctl, monkeypatch):
    """Each batch commits with the cursor of its last entry: a run that dies
    after any batch, then a normal run, equals one clean run."""
    from emaillog.ingest import pipeline
    path = journal_file(tmp_path)
    clean, _ = run_ingest(tmp_path / "clean.db", [JSON])
    expected = comparable(clean)
    clean.close()
    monkeypatch.setattr(pipeline, "BATCH_LINES", 25)

    class Killed(Exception):
        pass

    real_write = Ingest.write
    for survive in (1, 4, 9):
        db = tmp_path / f"killed{survive}.db"
        written = []

        def write(self, batch):
            if len(written) == survive:
                raise Killed  # dies before this batch commits
            written.append(batch)
            real_write(self, batch)

        monkeypatch.setattr(Ingest, "write", write)
        store = Store(db)
        with pytest.raises(Killed):
            Ingest(store, Config(), Options(journal=Journal((str(path),)))).run([])
        done = store.file_progress(Journal((str(path),)).fingerprint)
        assert done["line_no"] == 25 * survive and done["cursor"] == entries()[25 * survive - 1]["__CURSOR"]
        store.close()
        monkeypatch.setattr(Ingest, "write", real_write)
        store, summary = journal_ingest(db, path)
        assert summary.journal["entries"] == len(entries()) - 25 * survive
        assert comparable(store) == expected
        store.close()


def test_journal_unit_is_passed_to_journalctl(tmp_path, journalctl):
    path = journal_file(tmp_path)
    store, summary = journal_ingest(tmp_path / "none.db", path, units=("nothing-here.service",))
    assert summary.journal["entries"] == 0 and not summary.problems
    store.close()
    store, summary = journal_ingest(tmp_path / "postfix.db", path, units=("postfix@*",))
    assert summary.journal["entries"] == len(entries())
    store.close()


def test_journal_from_the_command_line(cli, tmp_path, journalctl):
    path = journal_file(tmp_path)
    first = cli("ingest", "--journal", "--journal-file", path)
    assert first.returncode == 0, first.stderr
    assert "journal entries read" in first.stdout and str(len(entries())) in first.stdout
    again = cli("ingest", "--json", "--journal", "--journal-file", path)
    assert json.loads(again.stdout)["journal"]["entries"] == 0


def test_journalctl_missing_is_one_sentence_and_exit_1(cli, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    result = cli("ingest", "--journal", env_extra={"PATH": str(empty)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "journalctl" in errors[0] and "not on PATH" in errors[0], errors


def test_journalctl_failing_is_one_sentence_and_exit_1(cli, tmp_path, journalctl):
    bad = tmp_path / "bad.journal"
    bad.write_text("not a journal file\n")
    result = cli("ingest", "--journal", "--journal-file", bad)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and "journalctl failed (exit status 1)" in errors[0], errors


def test_journal_options_need_journal(cli):
    result = cli("ingest", "--journal-unit", "postfix@*", "x.log")
    assert result.returncode == 2 and "--journal" in result.stderr
    result = cli("ingest")
    assert result.returncode == 2 and "--journal" in result.stderr


def test_a_cursor_journalctl_cannot_seek_is_an_error(tmp_path, journalctl):
    path = journal_file(tmp_path)
    db = tmp_path / "t.db"
    store = Store(db)
    from emaillog.store.writer import save_progress
    fingerprint = Journal((str(path),)).fingerprint
    with store.transaction():
        save_progress(store.conn.cursor(), {"fingerprint": fingerprint, "path": fingerprint, "device": None,
                                            "inode": None, "offset": 0, "line_no": 3, "format": "journald",
                                            "cursor": "garbage"})
    summary = Ingest(store, Config(), Options(journal=Journal((str(path),)))).run([])
    assert summary.failed and "journalctl failed" in summary.problems[0]["message"]
    assert store.file_progress(fingerprint)["cursor"] == "garbage"  # kept: nothing was read
    store.close()


@pytest.mark.skipif(not CORPUS.is_dir(), reason="shared corpus not present")
def test_corpus_journal_sample_is_skipped_not_rejected(tmp_path):
    store, summary = run_ingest(tmp_path / "t.db", [CORPUS / "mta" / "lnav-journald-json-sample.jsonl"])
    assert summary.rejected == 0 and summary.skipped == 2
    assert summary.lines_by_format == {"other programs": 2}
    store.close()
