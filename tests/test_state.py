"""Suppression and retry rules (SPEC §2) at chosen moments, on event rows."""

from __future__ import annotations

import pytest

from emaillog.config import Config
from emaillog.state import active_suppressions, retries

CFG = Config()
_ids = iter(range(1, 10_000))


def ev(ts, type_, person="ann@example.com", **kw):
    return {"id": next(_ids), "ts": ts, "type": type_, "person": person, **kw}


def reasons(rows, at, campaign=None):
    return sorted((s.reason, s.scope) for s in active_suppressions(rows, at, CFG)
                  if campaign is None or s.applies_to(campaign))


def test_permanent_hard_bounce_suppresses_every_campaign_forever():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="permanent", campaign="spring")]
    assert reasons(rows, "2026-11-28T09:59:59Z") == []
    assert reasons(rows, "2026-11-28T10:00:00Z") == [("hard_bounce", None)]
    assert reasons(rows, "2031-01-01T00:00:00Z", campaign="autumn") == [("hard_bounce", None)]


def test_delivery_after_permanent_bounce_does_not_lift_it():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="permanent"),
            ev("2026-11-29T10:00:00Z", "delivered")]
    assert reasons(rows, "2026-11-30T00:00:00Z") == [("hard_bounce", None)]


@pytest.mark.parametrize("at,blocked", [
    ("2026-11-28T10:00:00Z", True),
    ("2026-11-29T09:59:59Z", True),   # 24 h less a second
    ("2026-11-29T10:00:00Z", False),  # exactly 24 h later: over
])
def test_spam_block_stops_only_that_campaign_for_24_hours(at, blocked):
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="spam_block", campaign="spring")]
    assert bool(reasons(rows, at, campaign="spring")) is blocked
    assert reasons(rows, at, campaign="autumn") == []


def test_spam_block_window_is_configurable():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="spam_block", campaign="spring")]
    sups = active_suppressions(rows, "2026-11-28T11:30:00Z", Config(spam_block_hours=1))
    assert sups == []


def test_a_second_spam_block_extends_the_window():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="spam_block", campaign="spring"),
            ev("2026-11-28T20:00:00Z", "hard_bounced", bounce_class="spam_block", campaign="spring")]
    [sup] = active_suppressions(rows, "2026-11-29T12:00:00Z", CFG)
    assert sup.since == "2026-11-28T10:00:00Z" and sup.until == "2026-11-29T20:00:00Z"


def test_technical_bounce_suppresses_nobody():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="technical")]
    assert reasons(rows, "2026-11-28T11:00:00Z") == []


@pytest.mark.parametrize("kind", ["unsubscribed", "complained"])
def test_unsubscribe_and_complaint_suppress_every_campaign_until_released(kind):
    rows = [ev("2026-11-28T10:00:00Z", kind, campaign="spring"),
            ev("2026-12-05T10:00:00Z", "released", note="re-subscribed by phone")]
    assert reasons(rows, "2026-11-30T00:00:00Z", campaign="autumn") == [(kind, None)]
    assert reasons(rows, "2026-12-05T10:00:00Z") == []


def test_release_lifts_only_what_was_in_force_then():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="permanent"),
            ev("2026-11-29T10:00:00Z", "released"),
            ev("2026-11-30T10:00:00Z", "hard_bounced", bounce_class="permanent")]
    assert reasons(rows, "2026-11-29T12:00:00Z") == []
    assert reasons(rows, "2026-11-30T12:00:00Z") == [("hard_bounce", None)]


def test_campaign_release_leaves_global_suppressions():
    rows = [ev("2026-11-28T10:00:00Z", "manual_suppressed", scope="spring"),
            ev("2026-11-28T10:00:01Z", "unsubscribed"),
            ev("2026-11-28T11:00:00Z", "released", scope="spring")]
    assert reasons(rows, "2026-11-28T12:00:00Z") == [("unsubscribed", None)]


def test_manual_suppression_with_an_end():
    rows = [ev("2026-11-28T10:00:00Z", "manual_suppressed", scope=None, until="2026-12-01T00:00:00Z")]
    assert reasons(rows, "2026-11-30T23:59:59Z") == [("manual", None)]
    assert reasons(rows, "2026-12-01T00:00:00Z") == []


def test_people_are_independent():
    rows = [ev("2026-11-28T10:00:00Z", "unsubscribed", person="bob@example.com"),
            ev("2026-11-28T11:00:00Z", "released", person="ann@example.com")]
    assert [s.person for s in active_suppressions(rows, "2026-11-29T00:00:00Z", CFG)] == ["bob@example.com"]


# -- retries -----------------------------------------------------------------

def soft(ts, send="m1|ann@example.com", **kw):
    return ev(ts, "soft_bounced", send=send, attempts=kw.pop("attempts", 3), reason=kw.pop("reason", "greylisted"),
              last_attempt=kw.pop("last_attempt", ts), **kw)


@pytest.mark.parametrize("at,status", [
    ("2026-11-28T09:00:00Z", None),          # before the first soft bounce
    ("2026-11-28T10:00:00Z", "pending"),
    ("2026-11-29T21:59:59Z", "pending"),     # 36 h less a second
    ("2026-11-29T22:00:00Z", "given_up"),    # the window has closed
])
def test_retry_window_edges(at, status):
    found = retries([soft("2026-11-28T10:00:00Z")], {}, at, CFG, include_given_up=True)
    assert (found[0].status if found else None) == status
    if found:
        assert found[0].window_closes == "2026-11-29T22:00:00Z"


def test_delivery_or_hard_bounce_ends_the_retry():
    rows = [soft("2026-11-28T10:00:00Z")]
    resolved = {"m1|ann@example.com": "2026-11-28T12:00:00Z"}
    assert len(retries(rows, resolved, "2026-11-28T11:00:00Z", CFG)) == 1
    assert retries(rows, resolved, "2026-11-28T12:00:00Z", CFG, include_given_up=True) == []


def test_mta_expiry_gives_up_early():
    rows = [soft("2026-11-28T10:00:00Z", reason="expired", last_attempt="2026-11-28T14:00:00Z")]
    assert retries(rows, {}, "2026-11-28T13:00:00Z", CFG)[0].status == "pending"
    assert retries(rows, {}, "2026-11-28T14:00:00Z", CFG) == []
    assert retries(rows, {}, "2026-11-28T14:00:00Z", CFG, include_given_up=True)[0].status == "given_up"


def test_retries_sorted_by_window_close_and_window_configurable():
    rows = [soft("2026-11-28T12:00:00Z", send="b"), soft("2026-11-28T10:00:00Z", send="a")]
    found = retries(rows, {}, "2026-11-28T13:00:00Z", Config(retry_window_hours=4))
    assert [r.first_soft_bounce for r in found] == ["2026-11-28T10:00:00Z", "2026-11-28T12:00:00Z"]
    assert found[0].window_closes == "2026-11-28T14:00:00Z"


def test_soft_bounce_is_not_a_suppression():
    rows = [ev("2026-11-28T10:00:00Z", "soft_bounced", reason="mailbox_full")]
    assert active_suppressions(rows, "2026-11-28T11:00:00Z", CFG) == []
