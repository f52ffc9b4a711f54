"""OpenSMTPD 6.4+ lines: smtp message/envelope, mta/mda delivery (quoted and
unquoted), queue expiry; and the logs a real OpenSMTPD wrote against the
scripted sink (tests/logs/opensmtpd/)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime, timezone

import pytest

from capture_checks import captures, check_every_message_and_recipient, load, with_retry_ends
from conftest import LOGS
from emaillog.config import Config
from emaillog.events import Attempt, MessageSeen, Reject, Skip
from emaillog.formats import opensmtpd
from emaillog.formats.context import ParseContext
from emaillog.timestamps import Clock

UTC = timezone.utc
CAPTURES = captures(LOGS / "opensmtpd")


def parser():
    clock = Clock(datetime(2026, 11, 30, tzinfo=UTC), tz=UTC)
    return opensmtpd.Parser(ParseContext(clock, Config(), "maillog"))


def parse(line):
    return parser().parse(line, "maillog:1")


@pytest.mark.parametrize("name", sorted(opensmtpd.PATTERNS))
def test_pattern_matches_its_sample(name):
    regex, sample = opensmtpd.PATTERNS[name]
    assert regex.match(sample), name


def test_samples_sniff_and_parse():
    for sample in opensmtpd.SAMPLES:
        assert opensmtpd.sniff(sample)
        assert not any(isinstance(f, Reject) for f in parse(sample))


# Lines from the OpenSMTPD book ("Logging") and the format strings of
# mta.c mta_log() / mda.c mda_log() / queue.c queue_log().
def test_envelope_gives_the_sender_and_the_message():
    [seen] = parse("Jul  6 06:01:46 ams-1 smtpd[75295]: 5df87c972116a049 smtp envelope evpid=3d4c4a424797fe79 "
                   "from=<gilles@poolp.org> to=<gilles.chehade@gmail.com>")
    assert isinstance(seen, MessageSeen)
    assert (seen.key, seen.sender, seen.queue_id) == ("ams-1/smtpd/3d4c4a42", "gilles@poolp.org", "3d4c4a42")


def test_mta_delivery_quoted_fields():
    [a] = parse("Jul  6 06:01:48 ams-1 smtpd[75295]: 5df87c9ffd0e785d mta delivery evpid=f6e94209918f7e7b "
                "from=<gilles@poolp.org> to=<gilles.chehade@gmail.com> rcpt=<-> source=\"212.83.129.132\" "
                "relay=\"173.194.76.27 (ws-in-f27.1e100.net)\" delay=2s result=\"Ok\" "
                "stat=\"250 2.0.0 OK  1562385708 z11si6726563wmb.62 - gsmtp\"")
    assert (a.outcome, a.recipient, a.orig_recipient, a.key) == (
        "delivered", "gilles.chehade@gmail.com", None, "ams-1/smtpd/f6e94209")
    assert a.detail == "250 2.0.0 OK  1562385708 z11si6726563wmb.62 - gsmtp"
    assert a.relay == "173.194.76.27 (ws-in-f27.1e100.net)"


def test_mda_delivery_unquoted_fields():
    [a] = parse("Jul  6 06:01:40 ams-1 smtpd[75295]: 5df87c9250bba470 mda delivery evpid=c405e39ad6bbc64f "
                "from=<gilles@poolp.org> to=<gilles@poolp.org> rcpt=<gilles@poolp.org> user=gilles delay=0s "
                "result=Ok stat=Delivered")
    assert (a.outcome, a.detail) == ("delivered", "Delivered")


def test_tempfail_and_permfail():
    [t] = parse("Mar 22 17:56:30 mercury smtpd[45037]: 4b3a6c195c1f6010 mta delivery evpid=8f26ea98359eccea "
                "from=<misc+bounces-4541-x=tin.it@opensmtpd.org> to=<x@tin.it> rcpt=<-> source=\"45.76.46.201\" "
                "relay=\"62.211.72.32 (smtp.tin.it)\" delay=0s result=\"TempFail\" "
                "stat=\"421 <x@tin.it> Service not available - too busy\"")
    assert t.outcome == "deferred" and t.detail.startswith("421 ")
    [p] = parse("Mar 22 17:56:37 mercury smtpd[45037]: 8f4864084ecc48f4 mta event=delivery evpid=7077717e797a776e "
                "from=<puffy@example.com> to=<bill@hotmail.com> rcpt=<-> source=\"203.0.113.1\" "
                "relay=\"104.47.38.33 (104.47.38.33)\" delay=1s result=\"PermFail\" "
                "stat=\"550 5.7.1 Unfortunately, messages from [203.0.113.1] weren't sent.\"")
    assert p.outcome == "bounced"


def test_queue_expiry_is_per_envelope():
    [e] = parse("Nov 28 17:51:12 mx1 smtpd[812]: relay: Expire for 3d4c4a424797fe79: from=<bounces+spring@news."
                "example.net>, to=<defer1@example.org>, rcpt=<->, delay=4m, stat=Envelope expired")
    assert (e.outcome, e.recipient, e.key) == ("expired", "defer1@example.org", "mx1/smtpd/3d4c4a42")


def test_null_sender_is_our_own_bounce():
    [seen] = parse("Nov 28 17:47:09 mx1 smtpd[812]: 5df87c903d709659 smtp envelope evpid=c405e39ad6bbc64f "
                   "from=<> to=<bounces+spring@news.example.net>")
    assert seen.is_notice


def test_session_lines_are_skipped():
    for line in ("Jul  6 06:01:40 ams-1 smtpd[75295]: 5df87c903d709659 smtp connected address=local host=poolp.org",
                 "Jul  6 06:01:47 ams-1 smtpd[75295]: 5df87c9ffd0e785d mta tls ciphers=TLSv1.2:ECDHE-RSA-CHACHA20"):
        assert [type(f) for f in parse(line)] == [Skip]
    assert parse("Jul  6 06:01:40 ams-1 postfix/smtp[1]: 4Fq2xk1cQzz9: removed") == []


# -- genuine captures ------------------------------------------------------

_ENVELOPE = re.compile(r"smtp envelope evpid=(?P<msgid>[0-9a-f]{8})[0-9a-f]{8} from=<(?P<from>[^>]*)> to=<(?P<to>[^>]*)>")


def scenario_message_of(capture, scenario) -> dict:
    """OpenSMTPD logs no Message-ID: join its msgids to the scenario's
    messages by envelope (sender, recipients), in submission order."""
    envelopes = defaultdict(lambda: [None, set()])
    order = []
    for line in capture.read_text().splitlines():
        m = _ENVELOPE.search(line)
        if m and m.group("from"):
            entry = envelopes[m.group("msgid")]
            if entry[0] is None:
                order.append(m.group("msgid"))
            entry[0] = m.group("from").lower()
            entry[1].add(m.group("to").lower())
    mapping = {}
    pending = list(scenario["messages"])
    for msgid in order:
        sender, rcpts = envelopes[msgid]
        for message in pending:
            want = {r["address"].lower() for r in message["recipients"] if r["behaviour"] != "local_reject"}
            if message["envelope_sender"].lower() == sender and want == rcpts:
                mapping[msgid] = message["message_id"]
                pending.remove(message)
                break
    return mapping


@pytest.fixture(params=CAPTURES, ids=lambda p: p.name)
def captured(request, ingest):
    scenario, sink = load(request.param)
    store, summary = ingest([request.param])
    mapping = scenario_message_of(request.param, scenario)
    events = defaultdict(list)
    for e in with_retry_ends(store, store.events()):
        events[(mapping.get(e["queue_id"]), e["person"])].append(e)
    return scenario, sink, events, summary


def test_there_is_a_capture():
    if not CAPTURES:
        pytest.skip("no genuine OpenSMTPD capture in tests/logs/opensmtpd yet")


def test_capture_every_message_and_recipient(captured):
    scenario, sink, events, summary = captured
    checked = check_every_message_and_recipient(scenario, sink, events, header_logged=False)
    assert sum(checked.values()) >= 30
    assert summary.rejected == 0
