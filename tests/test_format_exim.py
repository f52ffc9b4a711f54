"""Exim main log: flags, both message-id styles, syslog forms, quoted fields,
multi-line replies, mixed per-recipient outcomes, campaigns; and the logs a
real Exim wrote against the scripted sink (tests/logs/exim/)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from capture_checks import by_message_id, captures, check_every_message_and_recipient, load
from conftest import LOGS
from emaillog.classify import classify_memo
from emaillog.config import Config
from emaillog.events import Attempt, MessageDone, MessageSeen, Reject, Skip
from emaillog.formats import exim
from emaillog.formats.context import ParseContext
from emaillog.timestamps import Clock

UTC = timezone.utc
CAPTURES = captures(LOGS / "exim")


def parser(config=None):
    clock = Clock(datetime(2026, 11, 30, tzinfo=UTC), tz=UTC)
    return exim.Parser(ParseContext(clock, config or Config(), "mainlog"))


def one(line, kind=None, config=None):
    facts = parser(config).parse(line, "mainlog:1")
    assert len(facts) == 1, facts
    if kind:
        assert isinstance(facts[0], kind), facts
    return facts[0]


@pytest.mark.parametrize("name", sorted(exim.PATTERNS))
def test_pattern_matches_its_sample(name):
    regex, sample = exim.PATTERNS[name]
    assert regex.match(sample), name


def test_samples_sniff_and_parse():
    for sample in exim.SAMPLES:
        assert exim.sniff(sample)
        assert not any(isinstance(f, Reject) for f in parser().parse(sample, "s:1"))


# Lines from Exim's documentation (spec.xfpt "Log files") and test suite.
FLAGS = [
    ("2002-10-31 09:00:10 16ZCW1-0005MB-00 => monk@holistic.fict.example R=dnslookup T=remote_smtp "
     "H=holistic.fict.example [192.168.234.234]", "delivered", "monk@holistic.fict.example", None),
    ("2002-10-31 08:59:13 16ZCW1-0005MB-00 => marv <marv@hitch.fict.example> R=localuser T=local_delivery",
     "delivered", "marv@hitch.fict.example", "marv@hitch.fict.example"),
    ("1999-03-02 09:44:33 10HmaY-000000005vi-0000 -> userxz@myhost.test.ex F=<CALLER@myhost.test.ex> "
     "R=smartuser T=lmtp H=127.0.0.1 [127.0.0.1] C=\"250 OK\"", "delivered", "userxz@myhost.test.ex", None),
    ("1999-03-02 09:44:33 10HmaX-000000005vi-0000 >> userx@domain.com P=<CALLER@myhost.test.ex> R=all T=smtp "
     "H=127.0.0.1 [127.0.0.1] C=\"250 OK\"", "delivered", "userx@domain.com", None),
    ("2002-12-19 16:20:23 16aiQz-0002Q5-00 == marvin@endrest.example R=dnslookup T=smtp defer (146): "
     "Connection refused", "deferred", "marvin@endrest.example", None),
    ("2002-07-11 07:14:17 17SXDU-000189-00 ** ace400@pb.example R=dnslookup T=remote_smtp: SMTP error from "
     "remote mailer after pipelined RCPT TO:<ace400@pb.example>: host pbmail3.py.example [192.168.63.111]: "
     "553 5.3.0 <ace400@pb.example>...Addressee unknown", "bounced", "ace400@pb.example", None),
    ("1995-12-19 16:20:23 0tRiQz-0002Q5-00 ** jim@trek99.example <jim@trek99.example>: unknown mail domain",
     "bounced", "jim@trek99.example", "jim@trek99.example"),
    ("1999-03-02 09:44:33 10HmaX-000000005vi-0000 ** b@known.ex: retry timeout exceeded",
     "expired", "b@known.ex", None),
    ("1999-03-02 09:44:33 10HmaX-000000005vi-0000 ** a@x.y R=r9 T=t1 H=127.0.0.1 [127.0.0.1] : SMTP error "
     "from remote mail server after pipelined MAIL FROM:<CALLER@myhost.test.ex>: 450 TEMPORARY MAIL FAILURE",
     "expired", "a@x.y", None),
]


@pytest.mark.parametrize("line,outcome,recipient,orig", FLAGS)
def test_flag_lines(line, outcome, recipient, orig):
    fact = one(line, Attempt)
    assert (fact.outcome, fact.recipient, fact.orig_recipient) == (outcome, recipient, orig)
    assert fact.queue_id in line


def test_failure_text_and_stage():
    fact = one(FLAGS[5][0], Attempt)
    assert fact.detail.startswith("SMTP error from remote mailer after pipelined RCPT TO:")
    assert fact.detail.endswith("553 5.3.0 <ace400@pb.example>...Addressee unknown")
    assert fact.stage == "rcpt"


def test_not_tried_and_suppressed_and_discarded_are_no_attempts():
    for line in (
        "1999-03-02 09:44:33 10HmbD-000000005vi-0000 == rmt_defer@test.ex R=r2 T=smtp defer (0): "
        "SMTP delivery explicitly queued",
        "1999-03-02 09:44:33 10HmaY-000000005vi-0000 *> accept <accept@y> R=accept T=appendfile",
        "2002-12-10 00:50:49 16auJc-0001UB-00 => discarded <low.club@bridge.example> R=userforward",
        "1999-03-02 09:44:33 10HmaX-0005vi-00 => :blackhole: <hole@nowhere.example> R=blackhole_router",
    ):
        assert isinstance(one(line), Skip), line


RETRY_WAIT = ("1999-03-02 09:44:33 10HmbD-000000005vi-0000 == rmt_defer@test.ex routing defer (-52): "
              "retry time not reached")


def test_waiting_for_a_retry_time_is_a_deferral_only_when_nothing_came_before():
    """Issue 13 item 8: a message whose only lines for an address are
    `retry time not reached` was queued for it and not delivered: the first
    such line is the send and its soft bounce; later ones, and those after a
    real attempt, are queue runs that did not try."""
    p = parser()
    [first] = p.parse(RETRY_WAIT, "m:1")
    assert isinstance(first, Attempt) and first.outcome == "deferred" and first.recipient == "rmt_defer@test.ex"
    assert first.detail == "retry time not reached"
    assert isinstance(p.parse(RETRY_WAIT, "m:2")[0], Skip)
    tried = parser()
    tried.parse("1999-03-02 09:44:33 10HmbD-000000005vi-0000 == rmt_defer@test.ex R=r2 T=smtp defer (-44) "
                "H=127.0.0.1 [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<rmt_defer@test.ex>: "
                "451 Temporary error", "m:1")
    assert isinstance(tried.parse(RETRY_WAIT, "m:2")[0], Skip)
    verdict = classify_memo(None, None, first.detail)
    assert (verdict.hard, verdict.reason) == (False, "unknown")  # waiting, not given up


def test_a_line_repeated_after_completed_is_the_same_send(tmp_path, ingest):
    """Issue 13 item 8: the same message id and address is one send, even
    when the outcome line comes again after `Completed` (a log read twice)."""
    p = parser()
    bounce = ("2026-12-02 13:15:19 1xYkB5-0007iv-0E ** bob@no-such-domain.example "
              "F=<bounces+spring@news.example.net>: Unrouteable address DT=0s")
    assert isinstance(p.parse(bounce, "m:1")[0], Attempt)
    assert isinstance(p.parse("2026-12-02 13:18:34 1xYkB5-0007iv-0E Completed QT=3m15s", "m:2")[0], MessageDone)
    assert isinstance(p.parse(bounce.replace("13:15:19", "13:19:00"), "m:3")[0], Skip)
    # A different address under a completed id is no repeat: it is kept.
    assert isinstance(p.parse(bounce.replace("bob@", "eve@"), "m:4")[0], Attempt)
    log = tmp_path / "mainlog"
    log.write_text("2026-12-02 13:15:19 1xYkB5-0007iv-0E <= bounces+spring@news.example.net P=esmtp S=673 "
                   "id=spring.1@news.example.net\n" + bounce + "\n"
                   "2026-12-02 13:18:34 1xYkB5-0007iv-0E Completed QT=3m15s\n"
                   + bounce.replace("13:15:19", "13:19:00") + "\n")
    store, summary = ingest([log], format="exim")
    assert sorted(e["type"] for e in store.events()) == ["hard_bounced", "sent"]
    assert [e["reason"] for e in store.events(types=["hard_bounced"])] == ["bad_domain"]


def test_a_line_repeated_after_completed_in_a_later_run_is_the_same_send(tmp_path, ingest):
    """Issue 13 item 8, across runs: the parser's memory of completed
    messages is gone, but an Exim id is never reused, so the repeat merges
    into the stored send instead of opening a second one."""
    bounce = ("2026-12-02 13:15:19 1xYkB5-0007iv-0E ** bob@no-such-domain.example "
              "F=<bounces+spring@news.example.net>: Unrouteable address DT=0s")
    log = tmp_path / "mainlog"
    log.write_text("2026-12-02 13:15:19 1xYkB5-0007iv-0E <= bounces+spring@news.example.net P=esmtp S=673 "
                   "id=spring.1@news.example.net\n" + bounce + "\n"
                   "2026-12-02 13:18:34 1xYkB5-0007iv-0E Completed QT=3m15s\n")
    store, _ = ingest([log], format="exim")
    first = [(e["type"], e["person"], e["ts"]) for e in store.events()]
    with log.open("a") as f:
        f.write(bounce.replace("13:15:19", "13:19:00") + "\n")
    store, summary = ingest([log], format="exim")
    assert summary.lines_read == 1
    assert [(e["type"], e["person"], e["ts"]) for e in store.events()] == first
    assert sorted(t for t, _, _ in first) == ["hard_bounced", "sent"]


def test_arrival_sender_message_id_and_notice():
    seen = one("2010-09-13 05:00:13 [1487] 1Ov4tU-0000Nz-Rm <= mailling.list@domain.com H=mailhost.domain.com "
               "[208.42.54.2]:51792 I=[67.215.162.175]:25 P=esmtps X=TLSv1:AES256-SHA:256 CV=no S=21778 "
               "id=384a86a39e83be0d9b3a94d1feb3119f@domain.com T=\"Daily List: Chameleon\" for user@example.com",
               MessageSeen)
    assert (seen.sender, seen.message_id, seen.is_notice) == (
        "mailling.list@domain.com", "<384a86a39e83be0d9b3a94d1feb3119f@domain.com>", False)
    bounce = one("1999-03-02 09:44:33 10HmaZ-000000005vi-0000 <= <> R=10HmaY-000000005vi-0000 U=EXIMUSER "
                 "P=local S=sss", MessageSeen)
    assert bounce.is_notice and bounce.sender == ""


def test_verp_sender_gives_the_campaign():
    seen = one("2026-11-28 17:47:06 1vPPtq-000Ang-1N <= bounces+spring@news.example.net H=localhost [127.0.0.1] "
               "P=esmtp S=1234 id=spring.0001.511e7ea419@news.example.net", MessageSeen)
    assert seen.campaign == "spring" and seen.queue_id == "1vPPtq-000Ang-1N"


@pytest.mark.parametrize("line", [
    "2026-11-28 17:47:06 1vPPtq-000Ang-1N X-Campaign-ID: autumn",
    "2026-11-28 17:47:06 1vPPtq-000Ang-1N H=localhost [127.0.0.1] F=<newsletter@news.example.net> Warning: "
    "X-Campaign-ID: autumn",
])
def test_campaign_header_logged_by_an_acl(line):
    seen = one(line, MessageSeen)
    assert seen.campaign == "autumn"
    assert isinstance(one("2026-11-28 17:47:06 1vPPtq-000Ang-1N DKIM: d=test.ex s=sel c=simple/simple"), Skip)


def test_times_pid_milliseconds_and_zone():
    base = "10HmaZ-000000005vi-0000 => userx <userx@test.ex> R=r1 T=t1"
    assert one(f"2017-07-30 18:51:05.712 {base}").ts == datetime(2017, 7, 30, 18, 51, 5, 712000, tzinfo=UTC)
    assert one(f"2017-07-30 18:51:05 [1237] {base}").ts == datetime(2017, 7, 30, 18, 51, 5, tzinfo=UTC)
    assert one(f"2017-07-30 18:51:05 +0200 {base}").ts == datetime(2017, 7, 30, 16, 51, 5, tzinfo=UTC)


def test_syslog_forms():
    wrapped = one("Apr 28 15:53:37 server exim[12105]: 2016-04-28 15:53:37 [12105] 1avnJx-00039F-Hs "
                  "<= foi+request-1234@example.com", MessageSeen)
    assert wrapped.host == "server" and wrapped.ts == datetime(2016, 4, 28, 15, 53, 37, tzinfo=UTC)
    bare = one("Nov 28 17:47:07 mx1 exim[2041]: 1vPPtq-000Ang-1N => ann@example.net R=dnslookup T=remote_smtp "
               "H=127.0.0.1 [127.0.0.1] C=\"250 2.0.0 Ok: queued as S000123\"", Attempt)
    assert bare.host == "mx1" and bare.detail == "250 2.0.0 Ok: queued as S000123"
    assert bare.key == "mx1/exim/1vPPtq-000Ang-1N"


def test_syslog_split_pieces_are_joined():
    p = parser()
    pieces = ["[1/3] 2026-11-28 17:47:07 1vPPtq-000Ang-1N ** unknown1@example.org R=dnslookup T=remote_s",
              "[2/3] mtp H=127.0.0.1 [127.0.0.1]: SMTP error from remote mail server after RCPT TO:<unknown1",
              "[3/3] @example.org>: 550 5.1.1 <unknown1@example.org>: Recipient address rejected: User unknown"]
    facts = [p.parse(f"Nov 28 17:47:07 mx1 exim[2041]: {piece}", "m:1") for piece in pieces]
    assert all(isinstance(f[0], Skip) for f in facts[:2])
    attempt = facts[2][0]
    assert isinstance(attempt, Attempt) and attempt.outcome == "bounced"
    assert attempt.detail.endswith("550 5.1.1 <unknown1@example.org>: Recipient address rejected: User unknown")


def test_multi_line_replies_are_joined_like_postfix_does():
    fact = one("1999-03-02 09:44:33 10HmbA-000000005vi-0000 ** userxy@myhost.test.ex F=<CALLER@myhost.test.ex> "
               "R=smartuser T=lmtp H=127.0.0.1 [127.0.0.1] : LMTP error after DATA: 550-I don't like this user\\n"
               "550 Bad user", Attempt)
    assert fact.detail == "LMTP error after DATA: 550 I don't like this user Bad user"
    assert fact.stage == "data"
    quoted = one("1999-03-02 09:44:33 10HmbA-000000005vi-0000 -> userxz@myhost.test.ex F=<CALLER@myhost.test.ex> "
                 "R=smartuser T=lmtp H=127.0.0.1 [127.0.0.1] C=\"250-This one's OK\\\\n250 OK\"", Attempt)
    assert quoted.detail == "250 This one's OK OK"


def test_completed_closes_the_message():
    assert isinstance(one("2002-10-31 09:00:11 16ZCW1-0005MB-00 Completed"), MessageDone)
    assert isinstance(one("2016-02-03 06:58:12 [16006] 1aQrOE-0004A7-TL Completed QT=2s"), MessageDone)


MIXED = """\
1999-03-02 09:44:33 10HmaY-000000005vi-0000 <= CALLER@myhost.test.ex U=CALLER P=local S=sss
1999-03-02 09:44:33 10HmaY-000000005vi-0000 => userx@myhost.test.ex F=<CALLER@myhost.test.ex> R=smartuser T=lmtp H=127.0.0.1 [127.0.0.1] C="250 OK"
1999-03-02 09:44:33 10HmaY-000000005vi-0000 == userxx@myhost.test.ex R=smartuser T=lmtp defer (0) H=127.0.0.1 [127.0.0.1]: LMTP error after DATA: 440 Temporary error
1999-03-02 09:44:33 10HmaY-000000005vi-0000 ** userxy@myhost.test.ex F=<CALLER@myhost.test.ex> R=smartuser T=lmtp H=127.0.0.1 [127.0.0.1] : LMTP error after DATA: 550 5.1.1 Bad user
1999-03-02 09:44:33 10HmaY-000000005vi-0000 -> userxz@myhost.test.ex F=<CALLER@myhost.test.ex> R=smartuser T=lmtp H=127.0.0.1 [127.0.0.1] C="250 OK"
1999-03-02 09:44:33 10HmaZ-000000005vi-0000 <= <> R=10HmaY-000000005vi-0000 U=EXIMUSER P=local S=sss
1999-03-02 09:44:33 10HmaZ-000000005vi-0000 => CALLER <CALLER@myhost.test.ex> R=real T=real
1999-03-02 09:44:33 10HmaZ-000000005vi-0000 Completed
"""


def test_mixed_outcomes_in_one_message(tmp_path, ingest):
    """Exim test 0215's shape: one message, a different outcome per
    recipient, and the bounce Exim sends back (not a send)."""
    log = tmp_path / "mainlog"
    log.write_text(MIXED)
    store, summary = ingest([log], format="exim")
    got = sorted((e["person"], e["type"], e["bounce_class"]) for e in store.events())
    assert got == [
        ("userx@myhost.test.ex", "delivered", None), ("userx@myhost.test.ex", "sent", None),
        ("userxx@myhost.test.ex", "sent", None), ("userxx@myhost.test.ex", "soft_bounced", None),
        ("userxy@myhost.test.ex", "hard_bounced", "permanent"), ("userxy@myhost.test.ex", "sent", None),
        ("userxz@myhost.test.ex", "delivered", None), ("userxz@myhost.test.ex", "sent", None),
    ]
    assert summary.notices_skipped == 1 and summary.rejected == 0


# -- genuine captures ------------------------------------------------------

@pytest.fixture(params=CAPTURES, ids=lambda p: p.name)
def captured(request, ingest):
    scenario, sink = load(request.param)
    store, summary = ingest([request.param])
    header_logged = any(" X-Campaign-ID: " in line for line in request.param.read_text().splitlines())
    return scenario, sink, by_message_id(store), summary, header_logged


def test_there_is_a_capture():
    if not CAPTURES:
        pytest.skip("no genuine Exim capture in tests/logs/exim yet")


def test_capture_every_message_and_recipient(captured):
    scenario, sink, events, summary, header_logged = captured
    checked = check_every_message_and_recipient(scenario, sink, events, header_logged=header_logged)
    assert sum(checked.values()) >= 30
    assert summary.rejected == 0


def test_capture_detected_as_exim():
    from emaillog import formats
    for capture in CAPTURES:
        found, why = formats.detect(capture.read_text().splitlines()[:50])
        assert found is exim, why
