"""The real Postfix lines of ../shared/corpus/mta: no crash, every status=
line accounted for, and what each source states about its lines holds.
Skips when the corpus is absent (a user's fresh clone)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from emaillog.config import Config
from emaillog.events import Attempt, MessageExpired, MessageSeen, Skip
from emaillog.formats import postfix
from emaillog.formats.context import ParseContext
from emaillog.timestamps import Clock

# What a Postfix status word means as our Attempt outcome (None: not a send).
OUTCOME = {"sent": "delivered", "deferred": "deferred", "bounced": "bounced",
           "undeliverable-but-not-cached": None}


def parser():
    clock = Clock(datetime(2026, 11, 28, tzinfo=timezone.utc), tz=timezone.utc)
    return postfix.Parser(ParseContext(clock, Config(), "corpus"))


def records(corpus, name):
    return [json.loads(line) for line in (corpus / "mta" / name).read_text().splitlines() if line.strip()]


def with_header(message: str, service: str) -> str:
    """Sources that keep only the message part get a syslog header naming
    the Postfix service they state; the message itself is untouched."""
    return f"Nov 28 13:10:01 mx1 {service}[1234]: {message}"


def test_grok_pattern_statuses(corpus):
    p = parser()
    checked = Counter()
    for rec in records(corpus, "postfix-grok-patterns.expected.jsonl"):
        status = rec["expected"].get("postfix_status")
        if rec["fragment_not_full_line"] or not status:
            continue
        service = "postfix/" + rec["postfix_component_per_pattern_name"]
        facts = p.parse(with_header(rec["line"], service), "corpus:1")
        if status in ("expired", "force-expired"):
            assert any(isinstance(f, MessageExpired) for f in facts), rec["line"]
        elif OUTCOME[status] is None:
            assert all(isinstance(f, Skip) for f in facts), rec["line"]
        else:
            attempts = [f for f in facts if isinstance(f, Attempt)]
            assert len(attempts) == 1, rec["line"]
            assert attempts[0].outcome == OUTCOME[status]
            assert attempts[0].queue_id == rec["expected"]["postfix_queueid"]
        checked[status] += 1
    assert checked["sent"] >= 5 and checked["bounced"] >= 3 and checked["deferred"] >= 1


def test_every_corpus_line_parses_without_crash_and_status_lines_are_accounted(corpus):
    p = parser()
    for name in ("postfix-grok-patterns.expected.jsonl", "sekoia-intake-postfix.expected.jsonl"):
        for rec in records(corpus, name):
            service = rec.get("syslog_appname") or "postfix/" + rec.get("postfix_component_per_pattern_name", "smtp")
            if not service.startswith("postfix"):
                continue
            facts = p.parse(with_header(rec["line"], service), "corpus:1")
            if " status=" in rec["line"] and "to=<" in rec["line"]:
                assert any(isinstance(f, (Attempt, Skip)) for f in facts), rec["line"]


def test_sekoia_actions(corpus):
    p = parser()
    seen = 0
    for rec in records(corpus, "sekoia-intake-postfix.expected.jsonl"):
        action = rec["expected"].get("action", {}).get("name")
        if action not in ("sent", "deferred", "bounced") or "to=<" not in rec["line"]:
            continue
        facts = p.parse(with_header(rec["line"], rec.get("syslog_appname") or "postfix/smtp"), "corpus:1")
        attempt = next(f for f in facts if isinstance(f, Attempt))
        assert attempt.outcome == OUTCOME[action]
        assert attempt.recipient in rec["expected"]["email"]["to"]["address"]
        seen += 1
    assert seen >= 3


def test_full_syslog_files_ingest_cleanly(corpus, ingest):
    files = [corpus / "mta" / n for n in ("fail2ban-postfix.log", "kumina-postfix_exporter.log",
                                          "logstash-patterns-core-syslog-postfix.log")]
    store, summary = ingest(files)
    assert summary.files_read == 3
    assert not summary.failed
    # NOQUEUE rejects and SASL failures are never sends.
    sent_people = {e["person"] for e in store.events(types=["sent"])}
    assert not any("hostmaster@example.com" == p for p in sent_people)


def test_kumina_groups(corpus):
    """postfix_exporter's stated counters: two expiries, one NDN."""
    p = parser()
    by_case: dict[str, list] = {}
    for rec in records(corpus, "kumina-postfix_exporter.expected.jsonl"):
        by_case.setdefault(rec["expected"]["test_case"], []).append(rec)
    expired = [f for rec in by_case["qmgr expired"] for f in p.parse(rec["line"], "c:1")]
    assert sum(isinstance(f, MessageExpired) for f in expired) == \
        by_case["qmgr expired"][0]["expected"]["group_expectations_for_all_lines_in_case"]["expiredCount"]
    statuses = [f for rec in by_case["Testing different smtp statuses"] for f in p.parse(rec["line"], "c:1")]
    expect = by_case["Testing different smtp statuses"][0]["expected"]["group_expectations_for_all_lines_in_case"]
    assert sum(isinstance(f, Attempt) for f in statuses) == expect["smtpMessagesProcessed"]
    assert sum(isinstance(f, MessageSeen) and f.is_notice for f in statuses) == expect["bounceNonDelivery"]


def test_alaveteli_delivery_status(corpus):
    """alaveteli: status=sent -> delivered; deferred -> sent only; bounced/expired -> failed."""
    p = parser()
    want = {":delivered": "delivered", ":sent": "deferred", ":failed": "bounced"}
    checked = 0
    for rec in records(corpus, "alaveteli-exim-postfix.expected.jsonl"):
        if rec.get("mta") != "postfix" or "delivery_status" not in rec["expected"]:
            continue
        facts = p.parse(rec["line"], "c:1")
        attempts = [f for f in facts if isinstance(f, Attempt)]
        if attempts:
            assert attempts[0].outcome == want[rec["expected"]["delivery_status"]], rec["line"]
            checked += 1
        else:
            assert rec["expected"]["delivery_status"] == ":failed" and any(isinstance(f, MessageExpired) for f in facts)
    assert checked >= 2
