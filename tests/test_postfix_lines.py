"""The compiled scan of Postfix syslog headers (postfix_lines._scan) reads a
line exactly as the expression LINE does, or declines and lets LINE decide:
on crafted edge cases, on every line of the shared corpus and the sample
logs, and on lines cut short inside a longer chunk (it never reads past a
line's end)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emaillog.formats.postfix_lines import LINE, postfix_lines, scan_header

SAMPLES = Path(__file__).resolve().parent.parent / "sample_logs"

EDGES = [
    "Nov 20 06:00:00 mx1 postfix/smtp[2000]: 37DFE702393: to=<a@example.com>, status=sent (250 ok)",
    "Nov  2 06:00:00 mx1 postfix/qmgr[3]: 37DFE702393: removed",
    "Nov 2 06:00:00 mx1 postfix/qmgr[3]: 37DFE702393: removed",
    "Nov 123 06:00:00 mx1 postfix/qmgr[3]: 37DFE702393: removed",
    "Nov 20 06:00:00.123456 mx1 postfix/qmgr[3]: 37DFE702393: removed",
    "Nov 20 06:00:00. mx1 postfix/qmgr[3]: 37DFE702393: removed",
    "2026-11-20T06:00:00Z mx1 postfix/qmgr[3]: 37DFE702393: removed",
    "2026-11-20T06:00:00.5+01:00 mx1 postfix/qmgr[3]: 4Fq2xk1cQzz9: removed",
    "2026-11-20T06:00:00-0500 mx1 postfix/qmgr[3]: 4Fq2xk1cQzz9: removed",
    "2026-11-20 06:00:00 mx1 postfix/qmgr[3]: 4Fq2xk1cQzz9: removed",
    "2026-11-20T06:00:00+01:0 mx1 postfix/qmgr[3]: 4Fq2xk1cQzz9: removed",
    "2026-11-20T06:00:00+01 mx1 postfix/qmgr[3]: removed",
    "Nov 20 06:00:00 mx1 postfix/smtpd[2000]: connect from app1.example.net[192.0.2.20]",
    "Nov 20 06:00:00 mx1 postfix/smtpd[2000]: warning: hostname does not resolve",
    "Nov 20 06:00:00 mx1 postfix/smtpd[2000]: NOQUEUE: reject: RCPT from x[192.0.2.1]: 554 5.7.1",
    "Nov 20 06:00:00 mx1 postfix-out/smtp[2000]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1 postfix/smtp: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1 postfix/smtp[]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1 postfix/smtp[12a]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]:37DFE702393: removed",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: 37DFE702393:removed",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: 37DFE702393:",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: 0123456789ABCDEF0: sixteen hex digits and one",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: 0123456789ABCDEF: sixteen hex digits",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: ABCD: four",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: bcdfghjklmnpqrstvwxyz: twenty-one consonants",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: bcdfghjklmnpqrstvwxy: twenty",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: 4Fq2xk1cQaz9: a vowel",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]: ",
    "Nov 20 06:00:00 mx1 postfix/smtp[12]:",
    "Nov 20 06:00:00 mx1 postfixsmtp[12]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1 postfi/smtp[12]: 37DFE702393: removed",
    "Nov 20 06:00:00 postfix postfix/smtp[12]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1  postfix/smtp[12]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1\tpostfix/smtp[12]: 37DFE702393: removed",
    "Nov 20 06:00:00 mxé postfix/smtp[12]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1 postfix/smtpé[12]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1 postfix/smtp[١٢]: 37DFE702393: removed",
    "Nov 2٠ 06:00:00 mx1 postfix/smtp[12]: 37DFE702393: removed",
    "nov 20 06:00:00 mx1 postfix/smtp[12]: 37DFE702393: removed",
    "Nov 20 06:00:00 mx1 dovecot: imap-login: Login: user=<a>",
    "",
    "Nov",
]


def expression(text: str, start: int, end: int):
    found = LINE.match(text, start, end)
    return found.groups() if found else None


def agrees(text: str, start: int, end: int) -> bool:
    scanned = scan_header(text, start, end)
    return scanned is None or scanned == expression(text, start, end)


@pytest.mark.parametrize("line", EDGES)
def test_the_scan_reads_what_the_expression_reads(line):
    assert agrees(line, 0, len(line))
    # ... and stops at the line's end, whatever follows in the chunk
    for cut in range(len(line) + 1):
        text = line[:cut] + "\n" + line[cut:] + ": x"
        assert agrees(text, 0, cut), (cut, text)


def test_the_scan_reads_the_usual_lines_itself():
    usual = [EDGES[0], EDGES[1], EDGES[6], EDGES[7], EDGES[12]]
    for line in usual:
        assert scan_header(line, 0, len(line)) == expression(line, 0, len(line))


def _log_lines(folder: Path):
    for path in sorted(folder.rglob("*.log")):
        yield from path.read_text(encoding="utf-8", errors="replace").split("\n")


def test_the_scan_agrees_on_the_sample_logs():
    read = matched = 0
    for line in _log_lines(SAMPLES):
        assert agrees(line, 0, len(line)), line
        if expression(line, 0, len(line)) is not None:
            matched += 1
            read += scan_header(line, 0, len(line)) is not None
    assert matched > 100 and read == matched  # every Postfix line of the samples takes the quick way


def test_the_scan_agrees_on_every_corpus_line(corpus):
    matched = 0
    for line in _log_lines(corpus):
        assert agrees(line, 0, len(line)), line
        matched += expression(line, 0, len(line)) is not None
    assert matched > 100


def test_a_chunk_gives_the_lines_the_expression_finds():
    text = "\n".join(EDGES[:30] + ["garbage", "", EDGES[40]] + EDGES[:5])
    assert list(postfix_lines(text)) == [(m.start(), m.end(), m.groups()) for m in LINE.finditer(text)]
    assert list(postfix_lines(text + "\n")) == [(m.start(), m.end(), m.groups())
                                                for m in LINE.finditer(text + "\n")]
