"""A log written by a real Postfix (tools/capture_postfix.sh) against the
scripted sink: every (message, recipient) gets exactly the SPEC's events,
checked against what was sent (`*.scenario.json`) and what the sink
answered (`*.sink.jsonl`)."""

from __future__ import annotations

import pytest

from capture_checks import by_message_id, captures, check_every_message_and_recipient, load
from conftest import LOGS

CAPTURES = captures(LOGS / "postfix")


@pytest.fixture(params=CAPTURES, ids=lambda p: p.name)
def captured(request, ingest):
    capture = request.param
    scenario, sink = load(capture)
    store, summary = ingest([capture])
    return scenario, sink, by_message_id(store), summary, store


def test_there_is_a_capture():
    assert CAPTURES, "tests/logs/postfix must hold at least one genuine capture"


def test_every_message_and_recipient(captured):
    scenario, sink, events, summary, _ = captured
    checked = check_every_message_and_recipient(scenario, sink, events, header_logged=True)
    if len(scenario["messages"]) >= 50:
        assert sum(checked.values()) >= 100
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
    queries = StateQueries(store, Config())
    # The soft bounce shows its first reply; how its retries ended is the retry state's.
    expired = {r.person for r in queries.retries("2099-01-01T00:00:00Z", include_given_up=True)
               if r.last_reason == "expired"}
    assert expired
    last = max(max(e["ts"], e["last_attempt"] or "") for e in store.events())
    assert not {r.person for r in queries.retries(last)} & expired
    given_up = {r.person for r in queries.retries(last, include_given_up=True) if r.status == "given_up"}
    assert given_up >= expired
