"""Ingestion mechanics on a genuine Postfix capture: idempotent, incremental,
rotation-aware, and bad input is counted, never a crash."""

from __future__ import annotations

import gzip
import os
import shutil

import pytest

from conftest import LOGS

SCENARIO = LOGS / "postfix" / "scenario.log"


@pytest.fixture
def lines():
    if not SCENARIO.exists():
        pytest.skip("capture not present")
    return SCENARIO.read_bytes().splitlines(keepends=True)


def fingerprint(store):
    """Everything an event says, minus ids and file positions."""
    return sorted(repr((e["type"], e["person"], e["campaign"], e["ts"], e["attempts"], e["reason"],
                        e["bounce_class"], e["message_id"], e["last_attempt"])) for e in store.events())


def one_shot(tmp_path, lines, ingest_fn=None):
    from conftest import run_ingest
    whole = tmp_path / "whole" / "mail.log"
    whole.parent.mkdir()
    whole.write_bytes(b"".join(lines))
    store, _ = run_ingest(tmp_path / "whole.db", [whole])
    try:
        return fingerprint(store)
    finally:
        store.close()


def test_same_file_three_times_adds_nothing(tmp_path, lines, ingest):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines))
    store, first = ingest([log])
    assert sum(first.events_added.values()) > 0
    for _ in range(2):
        store, again = ingest([log])
        assert sum(again.events_added.values()) == 0
        assert again.lines_read == 0  # nothing new: not even read
    assert fingerprint(store) == one_shot(tmp_path, lines)


def test_forgotten_positions_still_add_no_duplicates(tmp_path, lines, ingest):
    """Event keys alone keep a re-read idempotent (e.g. a copy of the file)."""
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines))
    store, _ = ingest([log])
    before = fingerprint(store)
    copy = tmp_path / "copy" / "mail.log"
    copy.parent.mkdir()
    copy.write_bytes(b"".join(lines))
    store.conn.execute("DELETE FROM files")
    store, again = ingest([copy])
    assert again.lines_read == len(lines)
    assert sum(again.events_added.values()) == 0
    assert fingerprint(store) == before


def test_appended_lines_only_are_read_and_split_messages_are_joined(tmp_path, lines, ingest):
    log = tmp_path / "mail.log"
    cut = len(lines) // 2 + 3  # mid-message: a queue id's lines fall in both runs
    log.write_bytes(b"".join(lines[:cut]))
    ingest([log])
    with open(log, "ab") as f:
        f.write(b"".join(lines[cut:]))
    store, second = ingest([log])
    assert second.lines_read == len(lines) - cut
    assert fingerprint(store) == one_shot(tmp_path, lines)


def test_rotation_rename_gzip_and_new_file(tmp_path, lines, ingest):
    logdir = tmp_path / "log"
    logdir.mkdir()
    a, b, c = len(lines) // 3, 2 * len(lines) // 3, len(lines)
    (logdir / "mail.log").write_bytes(b"".join(lines[:a]))
    ingest([logdir])
    with open(logdir / "mail.log", "ab") as f:  # more lines, then logrotate
        f.write(b"".join(lines[a:b]))
    os.rename(logdir / "mail.log", logdir / "mail.log.1")
    with open(logdir / "mail.log.1", "rb") as src, gzip.open(logdir / "mail.log.1.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.remove(logdir / "mail.log.1")
    (logdir / "mail.log").write_bytes(b"".join(lines[b:c]))
    older = (logdir / "mail.log").stat().st_mtime - 60
    os.utime(logdir / "mail.log.1.gz", (older, older))
    store, second = ingest([logdir])
    assert second.lines_read == c - a  # the rotated part's new tail, and the new file
    assert fingerprint(store) == one_shot(tmp_path, lines)


def test_a_partial_last_line_waits_for_its_newline(tmp_path, lines, ingest):
    log = tmp_path / "mail.log"
    last = lines[-1].rstrip(b"\n")
    log.write_bytes(b"".join(lines[:-1]) + last[:20])
    _, first = ingest([log])
    assert first.lines_read == len(lines) - 1
    with open(log, "ab") as f:
        f.write(last[20:] + b"\n")
    _, second = ingest([log])
    assert second.lines_read == 1


def test_copytruncate_starts_over(tmp_path, lines, ingest):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines))
    ingest([log])
    log.write_bytes(b"".join(lines[-5:]))  # truncated, new text from offset 0
    _, again = ingest([log])
    assert again.lines_read == 5


def test_truncated_gzip_ingests_what_is_there_and_says_so(tmp_path, lines, ingest):
    data = gzip.compress(b"".join(lines))
    broken = tmp_path / "mail.log.2.gz"
    broken.write_bytes(data[: len(data) // 2])
    store, summary = ingest([broken])
    assert 0 < summary.lines_read < len(lines)
    assert any("compressed data ends early" in p["message"] for p in summary.problems)
    assert store.events()


def test_binary_and_unknown_files_in_a_directory_are_warnings(tmp_path, lines, ingest):
    d = tmp_path / "d"
    d.mkdir()
    (d / "mail.log").write_bytes(b"".join(lines))
    (d / "core.bin").write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    (d / "notes.txt").write_text("shopping list\nmilk\n")
    store, summary = ingest([d])
    assert summary.files_read == 1
    messages = " ".join(p["message"] for p in summary.problems)
    assert "binary file" in messages and "not a log format we know" in messages
    assert not summary.failed


@pytest.mark.parametrize("fmt", ["postfix", "auto"])
def test_a_nul_run_near_the_top_costs_one_rejected_line(tmp_path, lines, ingest, fmt):
    """A crash leaves a run of NULs where unwritten blocks were; the rest of
    the file is a genuine log and is read."""
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines[:4]) + b"\x00" * 512 + b"\n" + b"".join(lines[4:]))
    store, summary = ingest([log], format=fmt)
    assert summary.problems == []
    assert summary.lines_read == len(lines) + 1
    assert summary.rejected == 1
    [reject] = store.rejects()
    assert reject["line_no"] == 5 and "512 NUL bytes" in reject["why"] and "\x00" not in reject["text"]
    assert fingerprint(store) == one_shot(tmp_path, lines)


def test_nuls_run_into_the_next_line_reject_that_line(tmp_path, lines, ingest):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines[:600]) + b"\x00" * 4000 + b"".join(lines[600:]))
    store, summary = ingest([log])
    assert summary.problems == [] and summary.rejected == 1
    assert store.rejects()[0]["text"] == lines[600].decode().rstrip("\n")


@pytest.mark.parametrize("data", [
    b"\x00\x01\x02\x03" * 1000,                           # NULs scattered among other bytes
    b"SQLite format 3\x00\x10\x00\x02\x02" + b"\x00" * 4000 + bytes(range(256)) * 4,
    bytes(range(1, 256)) * 64,                             # no NUL at all, but not text
])
def test_binary_files_are_still_skipped(tmp_path, ingest, data):
    blob = tmp_path / "blob"
    blob.write_bytes(data)
    _, summary = ingest([blob], format="postfix")
    assert "binary file" in summary.problems[0]["message"]
    assert summary.lines_read == 0


def test_explicit_missing_file_is_an_error(tmp_path, ingest):
    _, summary = ingest([tmp_path / "nope.log"])
    assert summary.failed
    assert "no such file" in summary.problems[0]["message"]


def test_unreadable_file_is_reported(tmp_path, lines, ingest, monkeypatch):
    log = tmp_path / "mail.log"
    log.write_bytes(b"".join(lines))

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(log))

    monkeypatch.setattr("emaillog.inputs.open", denied, raising=False)
    _, summary = ingest([log])
    assert summary.failed
    assert "Permission denied" in summary.problems[0]["message"]


def deny_listing(monkeypatch, denied):
    """Listing `denied` fails as it does for a user without read permission
    on it. The tests run as root, whom a directory's mode does not stop, so
    the listing call itself is made to fail."""
    real = os.scandir

    def scandir(path="."):
        if os.path.abspath(path) == os.path.abspath(denied):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


@pytest.fixture
def tree(tmp_path, lines):
    """logs/mail.log and logs/old/mail.log.1."""
    (tmp_path / "logs" / "old").mkdir(parents=True)
    (tmp_path / "logs" / "mail.log").write_bytes(b"".join(lines[:700]))
    (tmp_path / "logs" / "old" / "mail.log.1").write_bytes(b"".join(lines[700:]))
    return tmp_path / "logs"


def test_an_unreadable_subdirectory_is_a_warning_that_names_it(tree, ingest, monkeypatch):
    deny_listing(monkeypatch, tree / "old")
    _, summary = ingest([tree])
    assert summary.files_read == 1
    [problem] = summary.problems
    assert str(tree / "old") in problem["message"] and "Permission denied" in problem["message"]
    assert not problem["fatal"]


def test_an_unreadable_directory_named_on_the_command_line_is_an_error(tree, ingest, monkeypatch):
    deny_listing(monkeypatch, tree)
    _, summary = ingest([tree])
    assert summary.failed and summary.files_read == 0
    assert str(tree) in summary.problems[0]["message"]


def test_strict_fails_on_an_unreadable_subdirectory(tree, tmp_path, monkeypatch, capsys):
    from test_bad_environments import run_main
    deny_listing(monkeypatch, tree / "old")
    code, _, err = run_main(monkeypatch, capsys, "--db", tmp_path / "s.db", "ingest", "-q", tree)
    assert code == 0 and "warning" in err and str(tree / "old") in err
    code, _, err = run_main(monkeypatch, capsys, "--db", tmp_path / "s.db", "ingest", "-q", "--strict", tree)
    assert code == 1 and str(tree / "old") in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists every directory whatever its mode "
                                              "(the monkeypatched tests above cover this as root)")
def test_a_directory_without_read_permission_is_named(tree, ingest):
    (tree / "old").chmod(0)
    try:
        _, summary = ingest([tree])
    finally:
        (tree / "old").chmod(0o755)
    assert str(tree / "old") in summary.problems[0]["message"]


def test_invalid_utf8_and_huge_lines(tmp_path, lines, ingest):
    log = tmp_path / "mail.log"
    bad = [line.replace(b"example", b"ex\xff\xfeample") for line in lines[:40]]
    huge = b"Nov 28 17:47:06 mx1 postfix/smtpd[1]: " + b"A" * (1 << 20) + b"\n"
    log.write_bytes(b"".join(bad) + huge)
    store, summary = ingest([log])
    assert summary.lines_read == 41
    assert summary.rejected == 1
    assert "longer than" in store.rejects()[0]["why"]
    assert any("\ufffd" in e["person"] for e in store.events())


def test_a_csv_resumed_after_its_header_keeps_its_columns(tmp_path, ingest):
    """PowerMTA accounting: the header is only in the first run's bytes."""
    rows = (LOGS / "powermta" / "acct.csv").read_bytes().splitlines(keepends=True)
    csv = tmp_path / "acct.csv"
    csv.write_bytes(b"".join(rows[:3]))
    ingest([csv])
    with open(csv, "ab") as f:
        f.write(b"".join(rows[3:]))
    store, second = ingest([csv])
    assert second.lines_read == len(rows) - 3
    assert second.rejected == 0
    from conftest import run_ingest
    whole = tmp_path / "whole" / "acct.csv"
    whole.parent.mkdir()
    whole.write_bytes(b"".join(rows))
    fresh, _ = run_ingest(tmp_path / "whole.db", [whole])
    assert fingerprint(store) == fingerprint(fresh)


@pytest.mark.parametrize("esp", ["ses", "sendgrid", "mailgun", "postmark"])
def test_esp_events_in_another_order_add_nothing(tmp_path, ingest, esp):
    """An ESP's message id is unique: the same events read again in another
    order (webhook retries, another export) find the same keys."""
    records = (LOGS / "esp" / f"{esp}.jsonl").read_bytes().splitlines(keepends=True)
    first = tmp_path / "a" / f"{esp}.jsonl"
    first.parent.mkdir()
    first.write_bytes(b"".join(records))
    store, summary = ingest([first], format=esp)
    assert sum(summary.events_added.values()) > 0
    settled = summary.open_messages
    again = tmp_path / "b" / f"{esp}.jsonl"
    again.parent.mkdir()
    again.write_bytes(b"".join(reversed(records)))
    _, second = ingest([again], format=esp)
    assert sum(second.events_added.values()) == 0
    # Messages that were delivered or bounced are not kept open.
    assert settled < len(records)
