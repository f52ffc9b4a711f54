"""Every Postfix pattern matches the sample kept beside it (lnav-style), and
the format's sample lines are recognised."""

import pytest

from emaillog.formats import postfix
from emaillog.formats.syslog import HEADER, SAMPLE


@pytest.mark.parametrize("name", sorted(postfix.PATTERNS))
def test_pattern_matches_its_sample(name):
    regex, sample = postfix.PATTERNS[name]
    assert regex.match(sample), f"{name}: {sample}"


def test_samples_are_sniffed():
    assert HEADER.match(SAMPLE)
    assert all(postfix.sniff(line) for line in postfix.SAMPLES)


@pytest.mark.parametrize("prog,instance", [
    ("postfix/smtp", "postfix"),
    ("postfix-out/smtp", "postfix-out"),
    ("postfix/lmtp", "postfix"),
    ("postfix/submission/smtpd", "postfix"),
])
def test_service_names_and_instances(prog, instance):
    from datetime import datetime, timezone

    from emaillog.config import Config
    from emaillog.events import MessageDone
    from emaillog.formats.context import ParseContext
    from emaillog.timestamps import Clock
    parser = postfix.Parser(ParseContext(Clock(datetime.now(timezone.utc)), Config(), "t"))
    [fact] = parser.parse(f"Nov 28 13:10:01 mx1 {prog}[99]: 4Fq2xk1cQzz9: removed", "t:1")
    assert isinstance(fact, MessageDone)
    assert fact.key == f"mx1/{instance}/4Fq2xk1cQzz9"  # each instance has its own queue


@pytest.mark.parametrize("qid", ["4F2A3B1C9D", "20CD11600D5", "4Fq2xk1cQzz9", "4TwNdH5zwCz7fxV"])
def test_queue_ids_short_and_long(qid):
    regex, _ = postfix.PATTERNS["queued"]
    assert regex.match(f"{qid}: removed").group("qid") == qid


@pytest.mark.parametrize("word", ["warning", "fatal", "statistics", "NOQUEUE", "error"])
def test_words_are_not_queue_ids(word):
    regex, _ = postfix.PATTERNS["queued"]
    assert not regex.match(f"{word}: something")


@pytest.mark.parametrize("address", ['"john doe"@example.com', '"a,b"@example.com', "ann@example.com", "ann"])
def test_delivery_addresses_quoted_or_not(address):
    """Postfix quotes a local part with spaces or commas: <"john doe"@example.com>."""
    regex, _ = postfix.PATTERNS["delivery"]
    line = (f"to=<{address}>, orig_to=<{address}>, relay=mx.example.com[192.0.2.1]:25, delay=1.2, "
            "delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (550 5.1.1 unknown)")
    m = regex.match(line)
    assert m and m.group("to") == address and m.group("orig_to") == address and m.group("status") == "bounced"
