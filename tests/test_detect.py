"""Format detection (`--format auto`): decided per file from its first
lines, like lnav; `--format NAME` forces one; a file no format recognises is
reported by name with the reason; `emaillog formats` lists every format."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import CORPUS, LOGS, run_ingest
from emaillog import formats

MINE = ("postfix", "exim", "sendmail", "opensmtpd", "powermta")


@pytest.mark.parametrize("name", [n for n in MINE if n in formats.FORMATS])
def test_samples_are_detected_as_their_format(name):
    module = formats.FORMATS[name]
    found, why = formats.detect(list(module.SAMPLES))
    assert found is module, why


@pytest.mark.parametrize("name", [n for n in MINE if n in formats.FORMATS])
def test_every_pattern_matches_its_sample(name):
    for key, (regex, sample) in formats.FORMATS[name].PATTERNS.items():
        assert regex.match(sample), f"{name}.{key}"


CORPUS_FILES = {
    "exim-testsuite-curated.log": "exim",
    "exim-testsuite-mainlog.log": "exim",
    "alaveteli-exim-bad-utf8.raw.log": "exim",
    "fail2ban-exim.log": "exim",
    "opensmtpd.log": "opensmtpd",
    "powermta-acct-port25-bouncehandler.csv": "powermta",
    "fail2ban-postfix.log": "postfix",
    "kumina-postfix_exporter.log": "postfix",
    "loghub-thunderbird-sendmail.log": "sendmail",
    "fail2ban-sendmail-reject.log": "sendmail",
}


@pytest.mark.parametrize("name,want", sorted(CORPUS_FILES.items()))
def test_corpus_files_are_detected(corpus, name, want):
    if want not in formats.FORMATS:
        pytest.skip(f"{want} not registered")
    head = (corpus / "mta" / name).read_bytes().decode("utf-8", "replace").splitlines()[:50]
    found, why = formats.detect(head)
    assert found is formats.FORMATS[want], why


def test_not_mail_is_not_detected():
    found, why = formats.detect(["127.0.0.1 - - [28/Nov/2026:13:10:01 +0000] \"GET / HTTP/1.1\" 200 12"])
    assert found is None or found.NAME not in MINE


def exim_log():
    """A genuine Exim main log: our capture, else Exim's own test log."""
    capture = LOGS / "exim" / "scenario.log"
    if capture.exists():
        return capture
    corpus = CORPUS / "mta" / "exim-testsuite-curated.log"
    if corpus.exists():
        return corpus
    pytest.skip("no Exim log available")


def test_mixed_directory_postfix_and_exim(tmp_path, ingest):
    postfix_log = LOGS / "postfix" / "scenario.log"
    mixed = tmp_path / "logs"
    mixed.mkdir()
    shutil.copy(postfix_log, mixed / "mail.log")
    shutil.copy(exim_log(), mixed / "mainlog")
    (mixed / "notes.txt").write_text("shopping list\neggs\nmilk\n")
    store, summary = ingest([mixed])
    by_format = {e["source_format"] for e in store.events()}
    assert by_format == {"postfix", "exim"}
    assert summary.rejected == 0
    problems = summary.problems
    assert len(problems) == 1 and "notes.txt" in problems[0]["message"]
    assert "not a log format we know" in problems[0]["message"] and not problems[0]["fatal"]

    # the same events as reading each file alone with its format forced
    mixed_keys = sorted((e["source_format"], e["type"], e["person"], e["ts"]) for e in store.events())
    alone_keys = []
    for name, fmt in (("mail.log", "postfix"), ("mainlog", "exim")):
        alone, _ = run_ingest(tmp_path / f"{fmt}.db", [mixed / name], format=fmt)
        alone_keys += [(e["source_format"], e["type"], e["person"], e["ts"]) for e in alone.events()]
        alone.close()
    assert mixed_keys == sorted(alone_keys)


def test_forced_format_overrides_detection(tmp_path):
    log = tmp_path / "mainlog"
    shutil.copy(exim_log(), log)
    store, summary = run_ingest(tmp_path / "as-postfix.db", [log], format="postfix")
    assert store.events() == [] and summary.rejected == 0
    store.close()
    store, summary = run_ingest(tmp_path / "as-exim.db", [log], format="exim")
    assert store.events()
    store.close()


def test_unknown_file_named_explicitly_is_an_error(tmp_path, ingest):
    odd = tmp_path / "odd.log"
    odd.write_text("hello\nworld\n")
    _, summary = ingest([odd])
    assert summary.failed
    assert "odd.log" in summary.problems[0]["message"] and "--format" in summary.problems[0]["message"]


def test_formats_command_lists_every_format_with_a_sample(cli):
    result = cli("formats", "--json")
    assert result.returncode == 0, result.stderr
    listed = {item["name"]: item for item in json.loads(result.stdout)}
    for name in MINE:
        if name in formats.FORMATS:
            assert listed[name]["sample"] == formats.FORMATS[name].SAMPLES[0]
            assert formats.FORMATS[name].sniff(listed[name]["sample"])
