"""Rules for real servers (issue 13), driven by genuine captures: a real
Postfix, Exim and Sendmail against a stub DNS (tests/logs/resolver/, tests/logs/resolver_flap/,
tests/logs/sendmail_dns/) and Postfix address-verification probes with
quoted and literal addresses (tests/logs/postfix_probes/). Every (message,
recipient) of each scenario must give exactly the events its `expect` names,
with the bounce class and reason. See README "Rules for real servers"."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from conftest import LOGS
from emaillog.events import person_of

CAPTURES = {
    "probes": LOGS / "postfix_probes" / "probes.log",
    "postfix-resolver": LOGS / "resolver" / "postfix.log",
    "exim-resolver": LOGS / "resolver" / "exim.log",
    "sendmail-dns": LOGS / "sendmail_dns" / "resolver.log",
    "postfix-resolver-flap": LOGS / "resolver_flap" / "postfix.log",
    "exim-resolver-flap": LOGS / "resolver_flap" / "exim.log",
}

# (capture, Message-ID, person) -> why the log cannot give what `expect` says.
# Each is checked to still hold, so a fix shows up as a failure to update.
CANNOT = {
    ("sendmail-dns", "<spring.0001.511e7ea419@news.example.net>", "carol@dnsfail.example"):
        "Sendmail logs no line at all for carol (nrcpts=4, three to= lines): its canonification of "
        "carol@dnsfail.example fails for good and the message is returned with no word of her",
}


def soft_causes(store) -> dict[int, tuple[str, str]]:
    """soft_bounced event id -> (the reason of its first attempt, of its
    latest). The first is what the send soft-bounced for, the scenario's
    `reason`; the latest is `expired` once the MTA gave up. (Which of them
    the event shows is a presentation choice: README "Rules for real servers".)"""
    return {row[0]: row[1:] for row in store.conn.execute(
        "SELECT b.send * 4 + 1, f.value, l.value FROM soft_bounces b "
        "LEFT JOIN names f ON f.id = b.first_reason LEFT JOIN names l ON l.id = b.reason")}


@pytest.fixture(params=sorted(CAPTURES), scope="module")
def capture(request, tmp_path_factory):
    from conftest import run_ingest
    log = CAPTURES[request.param]
    scenario = json.loads(log.with_suffix(".scenario.json").read_text())
    store, summary = run_ingest(tmp_path_factory.mktemp(request.param) / "t.db", [log], year=2026)
    events = defaultdict(list)
    for e in store.events():
        events[(e["message_id"], e["person"])].append(e)
    causes = soft_causes(store)
    yield request.param, log, scenario, events, causes, summary
    store.close()


def test_every_message_and_recipient_gives_what_the_scenario_expects(capture):
    name, _, scenario, events, causes, summary = capture
    checked, cannot = Counter(), 0
    for message in scenario["messages"]:
        for rcpt in message["recipients"]:
            person = person_of(rcpt["address"])
            want = rcpt["expect"]
            got = events.get((message["message_id"], person), [])
            where = f"{name}: {message['message_id']} -> {person}"
            if (name, message["message_id"], person) in CANNOT:
                assert not got, f"{where} now gives {got}: remove it from CANNOT"
                cannot += 1
                continue
            assert sorted(e["type"] for e in got) == sorted(want["events"]), f"{where}: {got}"
            bounces = [e for e in got if e["type"] == "hard_bounced"] or \
                [e for e in got if e["type"] == "soft_bounced" and "delivered" not in want["events"]]
            if want.get("reason") and bounces:
                [bounce] = bounces
                reason = causes[bounce["id"]][0] if bounce["type"] == "soft_bounced" else bounce["reason"]
                assert (bounce["bounce_class"], reason) == (want.get("bounce_class"), want["reason"]), \
                    f"{where}: {bounce['bounce_class']} {reason}: {bounce['detail']}"
            checked[tuple(want["events"])] += 1
    assert summary.rejected == 0
    assert sum(checked.values()) + cannot == sum(len(m["recipients"]) for m in scenario["messages"]), checked


def test_no_events_beyond_the_scenario_and_every_person_has_a_domain(capture):
    name, _, scenario, events, _, _ = capture
    expected = {(m["message_id"], person_of(r["address"])) for m in scenario["messages"] for r in m["recipients"]}
    assert set(events) <= expected, set(events) - expected
    assert all("@" in person for _, person in events)


def test_expired_dns_failures_are_soft_and_given_up(capture):
    """A temporary DNS failure deferred until the queue lifetime ends is one
    soft bounce (cause dns_tempfail) that the MTA gave up on, never hard."""
    name, _, scenario, events, causes, _ = capture
    for message in scenario["messages"]:
        for rcpt in message["recipients"]:
            if rcpt["behaviour"] not in ("dns:servfail", "dns:timeout", "dns:mx-host-servfail"):
                continue
            person = person_of(rcpt["address"])
            if (name, message["message_id"], person) in CANNOT:
                continue
            [soft] = [e for e in events[(message["message_id"], person)] if e["type"] == "soft_bounced"]
            assert causes[soft["id"]] == ("dns_tempfail", "expired"), soft
            assert soft["last_attempt"] > soft["ts"], soft


def test_probes_are_skipped_not_sent(capture):
    """verify(8) probes (`status=deliverable|undeliverable`) are counted as
    skipped lines; their queue ids never appear in an event (issue 13 item 7)."""
    name, log, _, events, _, summary = capture
    probe_ids = {line.split(": ")[1] for line in log.read_text().splitlines()
                 if "status=deliverable" in line or "status=undeliverable" in line}
    if name != "probes":
        assert not probe_ids
        return
    assert len(probe_ids) >= 10
    assert not probe_ids & {e["queue_id"] for got in events.values() for e in got}
    assert summary.skipped >= len(probe_ids)
    # Quoted local parts and address literals are people like any other.
    people = {person for _, person in events}
    assert {'"john smith"@example.com', '"a,b"@example.org', "o'brien.q@example.net",
            "ok.literal@[127.0.0.2]", "newsletter@[127.0.0.1]"} <= people


# --- the rules one by one, on genuine lines of those captures ---------------

def _parse(module, line):
    from datetime import datetime, timezone

    from emaillog.config import Config
    from emaillog.formats.context import ParseContext
    from emaillog.timestamps import Clock
    clock = Clock(datetime(2026, 12, 3, tzinfo=timezone.utc), tz=timezone.utc)
    return module.Parser(ParseContext(clock, Config(), "mail.log")).parse(line, "mail.log:1")


# (address as logged, person, why)
PEOPLE = [
    ('"john smith"@example.com', '"john smith"@example.com', "a quoted local part that needs its quotes keeps them"),
    ('"John Smith"@Example.COM', '"john smith"@example.com', "lower-cased, quotes and all"),
    ('"a,b"@example.org', '"a,b"@example.org', "a comma needs quotes"),
    ('"o\'brien.q"@example.net', "o'brien.q@example.net", "unneeded quotes go (RFC 5321 4.1.2; Postfix drops them)"),
    ('"a\\"b"@example.com', '"a\\"b"@example.com', "an escaped quote stays quoted"),
    ("ok.literal@[127.0.0.2]", "ok.literal@[127.0.0.2]", "an address literal is the domain"),
    ("<Ann@Example.com>", "ann@example.com", "brackets and case"),
]


@pytest.mark.parametrize("logged,person,why", PEOPLE)
def test_person_spelling(logged, person, why):
    assert person_of(logged) == person, why


def test_a_bare_orig_to_alias_is_detail_not_the_person():
    """Issue 13 item 3: `orig_to=<sniptybounce>` (a name submitted without a
    domain, expanded by virtual_alias_maps) filed messages under
    `sniptybounce`. The person is the to= address; the alias stays as detail.
    The line is genuine (tests/logs/postfix_filter/amavis.log)."""
    from emaillog.events import Attempt, person_address
    from emaillog.formats import postfix
    line = ("Dec  2 13:20:03 mx1 postfix/smtp[32649]: B6CC316262F: to=<someone@example.com>, orig_to=<sniptybounce>, "
            "relay=127.0.0.1[127.0.0.1]:10024, delay=0.06, delays=0/0/0/0.06, dsn=2.0.0, status=sent (250 2.0.0 "
            "from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as C4FA216262E)")
    [fact] = _parse(postfix, line)
    assert isinstance(fact, Attempt)
    assert (fact.recipient, fact.orig_recipient, fact.alias) == ("someone@example.com", None, "sniptybounce")
    assert person_address(fact.recipient, "sniptybounce") == "someone@example.com"
    assert postfix._fast_delivery(line.split("B6CC316262F: ")[1]) is None  # the bulk path defers to _delivery
    [aliased] = _parse(postfix, line.replace("orig_to=<sniptybounce>", "orig_to=<frank.alias@example.com>"))
    assert aliased.orig_recipient == "frank.alias@example.com" and aliased.alias is None


PROBE = ("Dec  2 12:52:50 mx1 postfix/smtp[13249]: 010881623E8: to=<ok.literal@[127.0.0.2]>, "
         "relay=127.0.0.2[127.0.0.2]:25, delay=0.04, delays=0/0/0.04/0, dsn=2.1.5, status=deliverable (250 2.1.5 Ok)")


@pytest.mark.parametrize("line", [
    PROBE,
    PROBE.replace("to=<ok.literal@[127.0.0.2]>", 'to=<"john smith"@example.com>'),
    PROBE.replace("(250 2.1.5 Ok)", "(250 2.1.5 Ok"),  # cut short: still a probe, not a reject
    "Dec  2 12:52:58 mx1 postfix/local[13248]: 03D70162614: to=<nosuchuser@[127.0.0.1]>, relay=local, delay=0, "
    'delays=0/0/0/0, dsn=5.1.1, status=undeliverable (unknown user: "nosuchuser")',
])
def test_probes_are_skipped_whatever_the_address(line):
    from emaillog.events import Skip
    from emaillog.formats import postfix
    assert [type(f) for f in _parse(postfix, line)] == [Skip]


SENDMAIL_QUEUED = ("Dec  2 13:10:46 mx1 sendmail[27048]: 6B2DAel6027048: to=<erin@dnstimeout.example>, "
                   "delay=00:00:00, mailer=esmtp, pri=30402, dsn=4.4.3, stat=queued")


def test_sendmail_queued_after_a_dns_failure_is_a_deferral():
    """Issue 13 item 6: `dsn=4.4.3, stat=queued` is the first delivery
    attempt failing at DNS; sendmail logs no retry, only `sender notify:
    Cannot send message for 3 minutes` when it gives up (tests/logs/sendmail_dns/)."""
    from emaillog.classify import classify_memo
    from emaillog.events import Attempt, Skip
    from emaillog.formats import sendmail
    [fact] = _parse(sendmail, SENDMAIL_QUEUED)
    assert isinstance(fact, Attempt) and (fact.outcome, fact.dsn) == ("deferred", "4.4.3")
    verdict = classify_memo(None, fact.dsn, fact.detail)
    assert (verdict.hard, verdict.reason) == (False, "dns_tempfail")
    on_purpose = SENDMAIL_QUEUED.replace("dsn=4.4.3, ", "")
    assert isinstance(_parse(sendmail, on_purpose)[0], Skip)  # DeliveryMode=queue: no attempt yet


# (code, dsn, text, hard, class, reason, why): the words of the captures.
VERDICTS = [
    (None, "5.4.4", "Host or domain name not found. Name service error for name=no-such-domain.example type=A: "
     "Host not found", True, "permanent", "bad_domain", "Postfix NXDOMAIN"),
    (None, "4.4.3", "Host or domain name not found. Name service error for name=dnsfail.example type=MX: "
     "Host not found, try again", False, None, "dns_tempfail", "Postfix SERVFAIL/timeout"),
    (None, None, "Unrouteable address DT=0s", True, "permanent", "bad_domain", "Exim routing failure"),
    (None, None, "an MX or SRV record indicated no SMTP service DT=0s", True, "permanent", "bad_domain",
     "Exim null MX"),
    (None, None, "host lookup did not complete", False, None, "dns_tempfail", "Exim SERVFAIL/timeout"),
    (None, "5.1.10", "Service unavailable", True, "permanent", "bad_domain",
     "Sendmail null MX: the DSN decides over the sysexits word"),
    (None, "4.4.2", "Name server: mx1.example.com.: host name lookup failure", False, None, "dns_tempfail",
     "Sendmail DNS deferral"),
]


@pytest.mark.parametrize("code,dsn,text,hard,cls,reason,why", VERDICTS)
def test_dns_and_routing_failures(code, dsn, text, hard, cls, reason, why):
    from emaillog.classify import classify
    verdict = classify(code, dsn, text)
    assert (verdict.hard, verdict.bounce_class, verdict.reason) == (hard, cls, reason), f"{why}: {verdict.rule}"


# --- a year that goes backwards ---------------------------------------------

# (file mtime, --year, stamps in file order, warns, why)
YEARS = [
    ("2026-11-30", None, ["Nov 28 13:10:01", "Nov 28 17:00:00", "Nov 29 08:00:00"], False, "in order"),
    ("2027-01-02", None, ["Dec 30 10:00:00", "Dec 31 23:59:59", "Jan  1 00:00:05"], False, "New Year, no --year"),
    ("2026-12-03", None, ["Dec  2 12:52:05", "Nov 28 17:47:06", "Dec  2 13:10:39"], False,
     "genuine captures joined out of order: days, not weeks"),
    ("2026-11-30", None, ["Oct  3 10:00:00", "Nov 29 10:00:00", "Dec 15 10:00:00", "Jan  2 10:00:00"], True,
     "a log spanning more than a year: Oct-Nov 2025 dated 2026"),
    ("2027-01-05", 2026, ["Dec 30 10:00:00", "Jan  2 10:00:00"], True, "--year across New Year"),
]


@pytest.mark.parametrize("mtime,year,stamps,warns,why", YEARS)
def test_dates_that_go_back_by_weeks_are_warned_about(mtime, year, stamps, warns, why):
    from datetime import datetime, timezone

    from emaillog.timestamps import Clock
    clock = Clock(datetime.fromisoformat(mtime).replace(tzinfo=timezone.utc), year=year, tz=timezone.utc)
    for stamp in stamps:
        clock.syslog(stamp)
        clock.syslog(stamp)  # the memo: a stamp seen again is no jump
    assert bool(clock.warnings) == warns, why
    if warns:
        [warning] = clock.warnings
        assert "--year" in warning and "dates go back" in warning, warning


def test_iso_stamps_carry_their_year_and_never_warn():
    from datetime import datetime, timezone

    from emaillog.timestamps import Clock
    clock = Clock(datetime(2026, 12, 3, tzinfo=timezone.utc))
    for stamp in ("2026-11-28T13:10:01+00:00", "2025-01-01T00:00:00+00:00"):
        clock.iso(stamp)
    assert clock.warnings == []


def test_a_joined_corpus_log_is_warned_about(corpus):
    """kumina/postfix_exporter's test lines are real lines of many dates
    joined in one file: reading it warns, and names --year."""
    from emaillog.formats import postfix
    from emaillog.formats.context import ParseContext
    from emaillog.config import Config
    from emaillog.timestamps import Clock
    from datetime import datetime, timezone
    log = corpus / "mta" / "kumina-postfix_exporter.log"
    clock = Clock(datetime(2022, 10, 13, tzinfo=timezone.utc), tz=timezone.utc)
    parser = postfix.Parser(ParseContext(clock, Config(), log.name))
    for n, line in enumerate(log.read_text().splitlines(), 1):
        parser.parse(line, f"{log.name}:{n}")
    assert clock.backwards >= 1 and "--year" in clock.warnings[0]
