"""What the ingest's hot path keeps small: the writer's filters of what it
made this run, and the batch records the parsing process pickles."""

from __future__ import annotations

import pickle
import random
from datetime import datetime, timezone

from emaillog.config import Config
from emaillog.correlate import R_CAMPAIGN, R_DSN, R_HOST, R_SENT_SRC, Correlator
from emaillog.formats.context import ParseContext
from emaillog.formats.postfix import Parser
from emaillog.store.writer import Bits
from emaillog.timestamps import Clock


def test_bits_never_forget_a_value():
    """A clear bit means "never added": the writer then skips a lookup, so
    a false "no" would store a send twice. Values of every size the writer
    gives (32-bit hashes, person << 32 | hash, and larger ids)."""
    rng = random.Random(7)
    bits = Bits()
    added = [rng.getrandbits(n) for n in (8, 32, 62, 64, 80) for _ in range(2000)]
    for value in added:
        bits.add(value)
    assert all(bits.maybe(v) for v in added)
    others = [rng.getrandbits(62) for _ in range(20000)]
    assert sum(bits.maybe(v) for v in others if v not in added) < 200  # 10,000 of 2**25 bits set


def _lines(n: int) -> str:
    out = []
    for i in range(n):
        qid = f"{0x3A000 + i:X}0"
        out += [f"Nov 28 13:10:0{i} mx1 postfix/cleanup[2211]: {qid}: message-id=<m{i}@news.example.net>",
                f"Nov 28 13:10:0{i} mx1 postfix/cleanup[2211]: {qid}: info: header X-Campaign-ID: spring "
                f"from localhost[127.0.0.1]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
                f"Nov 28 13:10:0{i} mx1 postfix/qmgr[2212]: {qid}: from=<bounces@news.example.net>, size=1234, "
                f"nrcpt=1 (queue active)",
                f"Nov 28 13:10:0{i} mx1 postfix/smtp[2213]: {qid}: to=<p{i}@example.com>, relay=mx.example.com"
                f"[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: "
                f"queued as 3A1B2C{i})",
                f"Nov 28 13:10:0{i} mx1 postfix/qmgr[2212]: {qid}: removed"]
    return "\n".join(out) + "\n"


def test_records_share_their_repeated_values():
    """Each line's parse makes its own copy of "spring", "mx1", "2.0.0" and
    the source; a batch carries one object of each, which pickle then
    writes once for the whole batch."""
    corr = Correlator(Config(), {})
    corr.file = "fingerprint"
    clock = Clock(datetime(2026, 11, 28, tzinfo=timezone.utc), year=2026, tz=timezone.utc)
    parser = Parser(ParseContext(clock, Config(), "mail.log"))
    lines, *_ = parser.feed_text(_lines(5), 0, corr, "mail.log")
    assert lines == 25
    records, _ = corr.collect()
    assert len(records) == 5
    first, *rest = records
    for r in rest:
        assert r[R_CAMPAIGN] == "spring" and r[R_CAMPAIGN] is first[R_CAMPAIGN]
        assert r[R_HOST] is first[R_HOST] and r[R_SENT_SRC] is first[R_SENT_SRC]
        assert r[R_DSN] == "2.0.0" and r[R_DSN] is first[R_DSN]
    single = len(pickle.dumps(first, protocol=pickle.HIGHEST_PROTOCOL))
    assert len(pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)) < 5 * single * 0.8


def test_only_saved_states_are_deleted():
    """A message that opens and closes between two batches was never saved:
    the batch asks the store to delete only states it holds."""
    corr = Correlator(Config(), {})
    corr.file = "fingerprint"
    clock = Clock(datetime(2026, 11, 28, tzinfo=timezone.utc), year=2026, tz=timezone.utc)
    parser = Parser(ParseContext(clock, Config(), "mail.log"))
    text = _lines(3).splitlines(keepends=True)
    parser.feed_text("".join(text[:7]), 0, corr, "mail.log")  # message 0 whole, message 1 begun
    upserts, deletes = corr.open_state_rows()
    assert [k for k, _, _ in upserts] == ["mx1/postfix/3A0010"] and deletes == []
    parser.feed_text("".join(text[7:]), 7, corr, "mail.log")  # message 1 ends, message 2 whole
    upserts, deletes = corr.open_state_rows()
    assert upserts == [] and deletes == ["mx1/postfix/3A0010"]
