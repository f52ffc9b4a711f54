"""PowerMTA accounting CSV: header-driven columns, every record type.

`tests/logs/powermta/acct.csv` is our own fixture written from PowerMTA's
documented accounting fields (the shipped `record-fields` plus a logged
Message-ID header and the feedback-loop fields); `acct.expected.jsonl`
holds the events it must give."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from conftest import LOGS
from emaillog.config import Config
from emaillog.events import Attempt, Event, MessageSeen, Reject, Skip
from emaillog.formats import powermta
from emaillog.formats.context import ParseContext
from emaillog.timestamps import Clock

FIXTURE = LOGS / "powermta" / "acct.csv"
FIELDS = ("ts", "type", "person", "campaign", "message_id", "bounce_class", "reason",
          "smtp_code", "dsn", "attempts", "last_attempt")


def parser():
    clock = Clock(datetime(2026, 11, 30, tzinfo=timezone.utc), tz=timezone.utc)
    return powermta.Parser(ParseContext(clock, Config(), "acct.csv"))


def lines():
    return FIXTURE.read_text().splitlines()


@pytest.mark.parametrize("name", sorted(powermta.PATTERNS))
def test_pattern_matches_its_sample(name):
    regex, sample = powermta.PATTERNS[name]
    assert regex.match(sample), name


def test_samples_sniff_and_parse():
    p = parser()
    p.parse(lines()[0], "acct.csv:1")
    for sample in powermta.SAMPLES:
        assert powermta.sniff(sample)
        assert not [f for f in p.parse(sample, "s:1") if isinstance(f, Reject)]


def test_golden_events(ingest):
    store, summary = ingest([FIXTURE], format="powermta")
    got = sorted(({k: e[k] for k in FIELDS} for e in store.events()),
                 key=lambda r: (r["person"], r["message_id"] or "", r["ts"], r["type"]))
    want = [json.loads(line) for line in FIXTURE.with_suffix(".expected.jsonl").read_text().splitlines()]
    assert got == want
    assert summary.rejected == 0


def test_every_record_type_is_understood():
    p = parser()
    seen = {}
    for n, line in enumerate(lines(), 1):
        kind = line.split(",", 1)[0]
        seen.setdefault(kind, []).extend(p.parse(line, f"acct.csv:{n}"))
    assert {type(f) for f in seen["type"]} == {Skip}
    assert {type(f) for f in seen["r"]} == {Skip}  # a receipt is not a send
    outcomes = {kind: {f.outcome for f in facts if isinstance(f, Attempt)} for kind, facts in seen.items()}
    assert outcomes["d"] == {"delivered"}
    assert outcomes["t"] == {"deferred"}
    assert outcomes["b"] == {"bounced", "expired"}  # bounceCat message-expired: gave up after retries
    assert outcomes["rb"] == {"bounced"}
    complaints = [f for f in seen["f"] if isinstance(f, Event)]
    assert [(c.type, c.person, c.campaign) for c in complaints] == [("complained", "ann@example.net", "spring")]
    assert any(isinstance(f, Skip) and "not-spam" in f.why for f in seen["f"])


def test_bouncecat_is_only_a_hint():
    p = parser()
    p.parse(lines()[0], "acct.csv:1")
    attempts = [f for line in lines()[1:] for f in p.parse(line, "x") if isinstance(f, Attempt)]
    full = next(a for a in attempts if a.recipient == "full1@example.org")
    assert full.hint == "soft" and full.dsn == "5.2.2"  # our classifier decides (mailbox full: soft)
    unknown = next(a for a in attempts if a.recipient == "unknown1@example.net")
    assert unknown.hint == "hard" and unknown.detail.startswith("smtp;550 5.1.1")


def test_jobid_is_the_campaign_and_the_queue_time_starts_the_message():
    p = parser()
    p.parse(lines()[0], "acct.csv:1")
    facts = p.parse(lines()[2], "acct.csv:3")
    seen = next(f for f in facts if isinstance(f, MessageSeen))
    attempt = next(f for f in facts if isinstance(f, Attempt))
    assert seen.campaign == attempt.campaign == "spring"
    assert seen.ts == datetime(2026, 11, 28, 17, 47, 5, tzinfo=timezone.utc)  # timeQueued
    assert attempt.ts == datetime(2026, 11, 28, 17, 47, 6, tzinfo=timezone.utc)  # timeLogged
    assert seen.message_id == "<spring.0001.511e7ea419@news.example.net>"


def test_columns_follow_the_header_not_a_fixed_order():
    # The same d record with its columns in another order, as another
    # record-fields setting would write it.
    p = parser()
    header = next(__import__("csv").reader([lines()[0]]))
    row = next(__import__("csv").reader([lines()[2]]))
    order = list(reversed(range(len(header))))
    p.parse(",".join(header[i] for i in order), "h")
    facts = p.parse(",".join(_quote(row[i]) for i in order), "r")
    attempt = next(f for f in facts if isinstance(f, Attempt))
    assert (attempt.recipient, attempt.outcome, attempt.dsn) == ("ann@example.net", "delivered", "2.0.0")


def _quote(cell: str) -> str:
    return f'"{cell}"' if "," in cell else cell


def test_a_record_before_any_header_is_a_reject_unless_default_columns():
    p = parser()
    facts = p.parse(lines()[2], "acct.csv:3")  # 27 columns: not PowerMTA's default set
    assert [type(f) for f in facts] == [Reject]


def test_prime_reads_the_header_from_the_first_lines():
    p = parser()
    p.prime(lines()[:3])
    facts = p.parse(lines()[2], "acct.csv:3")
    assert any(isinstance(f, Attempt) for f in facts)


def test_reingest_adds_nothing(ingest):
    ingest([FIXTURE], format="powermta")
    store, summary = ingest([FIXTURE], format="powermta")
    assert sum(summary.events_added.values()) == 0
