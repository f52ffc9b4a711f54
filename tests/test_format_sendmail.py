"""Sendmail syslog lines (sm-mta / sendmail): from=, to= ... stat=, DSN
lines, the submission program's hand-off; and the logs a real Sendmail
wrote against the scripted sink (tests/logs/sendmail/)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from capture_checks import by_message_id, captures, check_every_message_and_recipient, load
from conftest import LOGS
from emaillog.config import Config
from emaillog.events import Attempt, MessageExpired, MessageSeen, Reject, Skip
from emaillog.formats import sendmail
from emaillog.formats.context import ParseContext
from emaillog.timestamps import Clock

UTC = timezone.utc
CAPTURES = captures(LOGS / "sendmail")


def parser():
    clock = Clock(datetime(2026, 11, 30, tzinfo=UTC), tz=UTC)
    return sendmail.Parser(ParseContext(clock, Config(), "maillog"))


@pytest.mark.parametrize("name", sorted(sendmail.PATTERNS))
def test_pattern_matches_its_sample(name):
    regex, sample = sendmail.PATTERNS[name]
    assert regex.match(sample), name


def test_samples_sniff_and_parse():
    for sample in sendmail.SAMPLES:
        assert sendmail.sniff(sample)
        assert not any(isinstance(f, Reject) for f in parser().parse(sample, "s:1"))


# Lines from fail2ban's and loghub's sendmail test logs.
def test_from_line_with_a_priority_tag():
    [seen] = parser().parse("Jun 17 14:37:39 <mail.info> robin sm-mta[2794]: 55HIbcGI002794: from=<root@yourhost.com>, "
                            "size=108, class=0, nrcpts=0, proto=ESMTP, daemon=MTA-v4, relay=[192.168.1.45]", "m:1")
    assert isinstance(seen, MessageSeen)
    assert (seen.key, seen.sender, seen.host) == ("robin/sendmail/55HIbcGI002794", "root@yourhost.com", "robin")


def test_submission_hand_off_to_the_local_mta_is_no_send():
    p = parser()
    prefix = "- 1131566491 2005.11.09 eadmin1 Nov 9 12:01:31 src@eadmin1 sendmail[4306]: jA9J1UvC004306: "
    [seen] = p.parse(prefix + "from=root, size=629060, class=0, nrcpts=1, "
                     "msgid=<200511091901.jA9J1UvC004306@eadmin1>, relay=#7#@localhost", "m:1")
    assert seen.ts == datetime(2005, 11, 9, 20, 1, 31, tzinfo=UTC)  # loghub's epoch column
    assert seen.message_id == "<200511091901.jA9J1UvC004306@eadmin1>"
    facts = p.parse(prefix + "to=root, ctladdr=root (0/0), delay=00:00:01, xdelay=00:00:00, mailer=relay, "
                    "pri=659060, relay=[127.0.0.1] [127.0.0.1], dsn=4.0.0, stat=Deferred: Connection refused by "
                    "[127.0.0.1]", "m:2")
    assert [type(f) for f in facts] == [Skip]


def test_rejected_at_rcpt_is_never_sent():
    p = parser()
    lines = ["Nov  3 11:35:30 Microsoft sendmail[26254]: rA37ZTSC026254: <davaojk25@domain.com>... No such user here",
             "Nov  3 11:35:30 Microsoft sendmail[26254]: rA37ZTSC026254: from=<davaojk25@domain.com>, size=0, "
             "class=0, nrcpts=0, bodytype=8BITMIME, proto=ESMTP, daemon=MTA, relay=163.23.32.95.dsl-dynamic.vsi.ru "
             "[95.32.23.163]"]
    facts = [f for line in lines for f in p.parse(line, "m:1")]
    assert not any(isinstance(f, Attempt) for f in facts)


def test_dsn_line_marks_our_notice_and_expiry():
    p = parser()
    [notice] = p.parse("Nov 28 17:47:08 mx1 sm-mta[2212]: 2ASHl6xx001234: 2ASHl8xx002212: DSN: User unknown", "m:1")
    assert notice.is_notice and notice.queue_id == "2ASHl8xx002212"
    facts = p.parse("Nov 28 17:51:08 mx1 sm-mta[2300]: 2ASHl6xx001234: 2ASHp8xx002300: DSN: Cannot send message "
                    "for 4 minutes", "m:2")
    assert [type(f) for f in facts] == [MessageSeen, MessageExpired]
    assert facts[1].key == "mx1/sendmail/2ASHl6xx001234"


# -- genuine captures ------------------------------------------------------

@pytest.fixture(params=CAPTURES, ids=lambda p: p.name)
def captured(request, ingest):
    scenario, sink = load(request.param)
    store, summary = ingest([request.param])
    return scenario, sink, by_message_id(store), summary


def test_there_is_a_capture():
    if not CAPTURES:
        pytest.skip("no genuine Sendmail capture in tests/logs/sendmail yet")


def test_capture_every_message_and_recipient(captured):
    scenario, sink, events, summary = captured
    checked = check_every_message_and_recipient(scenario, sink, events, header_logged=False)
    assert sum(checked.values()) >= 30
    assert summary.rejected == 0
