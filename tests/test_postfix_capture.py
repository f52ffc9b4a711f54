"""A log written by a real Postfix (tools/capture_postfix.sh) against the
scripted sink: every (message, recipient) gets exactly the SPEC's events,
checked against what was sent (`*.scenario.json`) and what the sink
answered (`*.sink.jsonl`)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from conftest import LOGS

CAPTURES = sorted(p for p in (LOGS / "postfix").glob("*.log")
                  if p.with_suffix(".sink.jsonl").exists() and p.with_suffix(".scenario.json").exists())

# SPEC §2a for the sink's answers: (event, bounce_class, reason).
HARD = {
    "unknown": ("permanent", "user_unknown"),
    "disabled": ("permanent", "mailbox_disabled"),
    "block": ("spam_block", "blocklisted"),
    "spam": ("spam_block", "spam_content"),
    "big": ("technical", "message_too_large"),
}
SOFT_THEN_DELIVERED = {"grey": "greylisted"}
SOFT_UNTIL_EXPIRY = {"defer", "fulltemp", "refused"}
SOFT_5XX = {"full": "mailbox_full"}  # a 5xx the MTA bounces at once, but soft by SPEC


def load(capture):
    scenario = json.loads(capture.with_suffix(".scenario.json").read_text())
    sink = [json.loads(line) for line in capture.with_suffix(".sink.jsonl").read_text().splitlines() if line]
    return scenario, sink


@pytest.fixture(params=CAPTURES, ids=lambda p: p.name)
def captured(request, ingest):
    capture = request.param
    scenario, sink = load(capture)
    store, summary = ingest([capture])
    events = defaultdict(list)
    for e in store.events():
        events[(e["message_id"], e["person"])].append(e)
    return scenario, sink, events, summary, store


def sink_answers(sink, address):
    return [r for r in sink if r["recipient"].lower() == address.lower()]


def deferrals_before_delivery(answers) -> dict[str, int]:
    """message id -> the 4xx answers the sink gave that recipient since its
    previous delivery: the retries Postfix made for that message."""
    counts, pending = {}, 0
    for a in sorted(answers, key=lambda a: a["ts"]):
        if 400 <= a["code"] < 500:
            pending += 1
        elif a["stage"] == "data" and a["code"] == 250:
            counts[a["message_id"]], pending = pending, 0
    return counts


def test_there_is_a_capture():
    assert CAPTURES, "tests/logs/postfix must hold at least one genuine capture"


def test_every_message_and_recipient(captured):
    scenario, sink, events, summary, _ = captured
    aliases = {k.lower(): v for k, v in scenario.get("aliases", {}).items()}
    appearances = Counter(r["address"].lower() for m in scenario["messages"] for r in m["recipients"])
    checked = Counter()
    for message in scenario["messages"]:
        for rcpt in message["recipients"]:
            person = rcpt["address"].lower()
            behaviour = rcpt["behaviour"]
            got = events.get((message["message_id"], person), [])
            kinds = Counter(e["type"] for e in got)
            where = f"{message['message_id']} -> {person} ({behaviour})"
            if behaviour == "local_reject":
                assert not got, f"{where}: rejected by our own server, never sent"
                continue
            assert kinds["sent"] == 1, where
            answers = sink_answers(sink, aliases.get(person, person))
            data_ok = [a for a in answers if a["stage"] == "data" and a["code"] == 250
                       and a["message_id"] == message["message_id"]]
            assert kinds["delivered"] == len(data_ok) <= 1, where
            soft = [e for e in got if e["type"] == "soft_bounced"]
            hard = [e for e in got if e["type"] == "hard_bounced"]
            temp = [a for a in answers if 400 <= a["code"] < 500]
            if behaviour == "ok":
                assert set(kinds) == {"sent", "delivered"}, where
            elif behaviour in HARD:
                assert not soft and len(hard) == 1, where
                bounce_class, reason = HARD[behaviour]
                assert (hard[0]["bounce_class"], hard[0]["reason"]) == (bounce_class, reason), where
                refusal = next(a for a in answers if a["code"] >= 500)
                assert (hard[0]["smtp_code"], hard[0]["dsn"]) == (refusal["code"], refusal["dsn"]), where
            elif behaviour in SOFT_5XX:
                assert not hard and len(soft) == 1 and kinds["delivered"] == 0, where
                assert soft[0]["reason"] == SOFT_5XX[behaviour] and soft[0]["smtp_code"] >= 500, where
            elif behaviour in SOFT_THEN_DELIVERED:
                # A greylister lets a sender through once it has retried, so
                # a later message to the same person may pass at once.
                retried = deferrals_before_delivery(answers).get(message["message_id"], 0)
                assert not hard and kinds["delivered"] == 1, where
                assert len(soft) == (1 if retried else 0), where
                if retried:
                    assert soft[0]["reason"] == SOFT_THEN_DELIVERED[behaviour], where
                    assert soft[0]["attempts"] == retried, where
            elif behaviour in SOFT_UNTIL_EXPIRY:
                assert not hard and len(soft) == 1 and kinds["delivered"] == 0, where
                assert soft[0]["reason"] == "expired", f"{where}: the MTA gave up"
                if appearances[person] == 1 and behaviour != "refused":
                    assert soft[0]["attempts"] == len(temp), where
                assert soft[0]["attempts"] >= 2, where
            else:
                pytest.fail(f"behaviour {behaviour} not covered by this test")
            assert all(e["campaign"] == message["campaign"] for e in got), where
            checked[behaviour] += 1
    assert sum(checked.values()) >= 100 or len(scenario["messages"]) < 50
    assert summary.rejected == 0


def test_no_events_for_our_own_notices(captured):
    scenario, _, events, summary, _ = captured
    sent_to = {r["address"].lower() for m in scenario["messages"] for r in m["recipients"]}
    people = {person for (_, person) in events}
    assert people <= sent_to, people - sent_to  # never the VERP sender of an NDN
    assert summary.notices_skipped > 0


def test_given_up_retries_after_expiry(captured):
    from emaillog.config import Config
    from emaillog.state import StateQueries
    scenario, _, _, _, store = captured
    expired = {r["address"].lower() for m in scenario["messages"] for r in m["recipients"]
               if r["behaviour"] in SOFT_UNTIL_EXPIRY}
    last = max(max(e["ts"], e["last_attempt"] or "") for e in store.events())
    queries = StateQueries(store, Config())
    assert not {r.person for r in queries.retries(last)} & expired
    given_up = {r.person for r in queries.retries(last, include_given_up=True) if r.status == "given_up"}
    assert given_up >= expired
