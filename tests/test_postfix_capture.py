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

# SPEC §2a for the sink's canned refusals (tools/smtp_sink.py), by enhanced
# code and a word of the text: (event, bounce_class, reason).
REFUSALS = [
    ("5.1.1", "", ("hard_bounced", "permanent", "user_unknown")),
    ("5.2.1", "", ("hard_bounced", "permanent", "mailbox_disabled")),
    ("5.7.1", "blocked using", ("hard_bounced", "spam_block", "blocklisted")),
    ("5.7.1", "spam", ("hard_bounced", "spam_block", "spam_content")),
    ("5.3.4", "", ("hard_bounced", "technical", "message_too_large")),
    ("5.2.2", "", ("soft_bounced", None, "mailbox_full")),  # a 5xx, but soft by SPEC
]


def expected_refusal(answer):
    for dsn, word, outcome in REFUSALS:
        if answer["dsn"] == dsn and word in answer["text"]:
            return outcome
    raise AssertionError(f"no SPEC outcome written down for the sink's {answer}")


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
            refusals = [a for a in answers if a["code"] >= 500
                        and (a["message_id"] in (None, message["message_id"]))]
            if data_ok:
                # Delivered; soft first if the sink deferred it (a greylister
                # lets a sender through once it retried, so a later message
                # may pass at once).
                retried = deferrals_before_delivery(answers).get(message["message_id"], 0)
                assert not hard and len(soft) == (1 if retried else 0), where
                if retried:
                    assert soft[0]["attempts"] == retried, where
                    if behaviour == "grey":
                        assert soft[0]["reason"] == "greylisted", where
                checked["delivered"] += 1
            elif refusals and appearances[person] == 1:
                event, bounce_class, reason = expected_refusal(refusals[-1])
                [bounce] = hard if event == "hard_bounced" else soft
                assert not (soft if event == "hard_bounced" else hard), where
                assert (bounce["bounce_class"], bounce["reason"]) == (bounce_class, reason), where
                assert (bounce["smtp_code"], bounce["dsn"]) == (refusals[-1]["code"], refusals[-1]["dsn"]), where
                checked[event] += 1
            elif refusals:
                assert len(hard) + len(soft) == 1, where  # one outcome; which refusal is ambiguous
            else:
                # Never accepted, never refused: deferred (or unreachable) until
                # Postfix gave up.
                assert not hard and len(soft) == 1 and soft[0]["reason"] == "expired", f"{where}: the MTA gave up"
                assert soft[0]["attempts"] >= 2, where
                if appearances[person] == 1 and behaviour != "refused":
                    temp = [a for a in answers if 400 <= a["code"] < 500]
                    assert soft[0]["attempts"] == len(temp), where
                checked["expired"] += 1
            assert all(e["campaign"] == message["campaign"] for e in got), where
    assert sum(checked.values()) >= 100 or len(scenario["messages"]) < 50
    if len(scenario["messages"]) >= 50:
        assert set(checked) == {"delivered", "hard_bounced", "soft_bounced", "expired"}, checked
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
    expired = {e["person"] for e in store.events(types=["soft_bounced"]) if e["reason"] == "expired"}
    assert expired
    last = max(max(e["ts"], e["last_attempt"] or "") for e in store.events())
    queries = StateQueries(store, Config())
    assert not {r.person for r in queries.retries(last)} & expired
    given_up = {r.person for r in queries.retries(last, include_given_up=True) if r.status == "given_up"}
    assert given_up >= expired
