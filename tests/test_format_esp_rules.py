"""ESP formats: detection, samples, line shapes and the mapping rules that
the golden files do not spell out."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from emaillog import formats, tracking
from emaillog.config import Config
from emaillog.events import Attempt, Event, Reject, Skip
from emaillog.formats import mailgun, postmark, sendgrid, ses
from emaillog.formats.context import ParseContext
from emaillog.timestamps import Clock

ESPS = [ses, sendgrid, mailgun, postmark]


def parser(module, config=None):
    clock = Clock(datetime(2026, 11, 28, tzinfo=timezone.utc), tz=timezone.utc)
    return module.Parser(ParseContext(clock, config or Config(), "test"))


@pytest.mark.parametrize("module", ESPS, ids=lambda m: m.NAME)
def test_samples_are_sniffed_parsed_and_detected(module):
    for sample in module.SAMPLES:
        assert module.sniff(sample), sample
        others = [m.NAME for m in ESPS if m is not module and m.sniff(sample)]
        assert others == [], f"{module.NAME} sample also sniffed by {others}"
        facts = parser(module).parse(sample, "t:1")
        assert facts and not any(isinstance(f, Reject) for f in facts), facts
    found, why = formats.detect(module.SAMPLES)
    assert found is module, why


@pytest.mark.parametrize("module", ESPS, ids=lambda m: m.NAME)
def test_bad_json_is_a_reject_not_an_exception(module):
    p = parser(module)
    assert isinstance(p.parse('{"event": "open", "email": ', "t:1")[0], Reject)
    assert isinstance(p.parse("[1, 2]", "t:1")[0], Reject)
    assert p.parse("", "t:1") == []
    assert all(isinstance(f, Skip) for f in p.parse('{"hello": "world"}', "t:1"))


def test_sendgrid_array_line_is_a_batch():
    line = json.dumps([
        {"email": "ann@example.com", "timestamp": 1795870800, "event": "processed", "sg_event_id": "a",
         "sg_message_id": "M1.filter.0", "campaign": "spring"},
        {"email": "ann@example.com", "timestamp": 1795870803, "event": "delivered", "sg_event_id": "b",
         "sg_message_id": "M1.filter.0", "response": "250 OK"},
    ])
    facts = [f for f in parser(sendgrid).parse(line, "t:1") if isinstance(f, Attempt)]
    assert [f.outcome for f in facts] == ["accepted", "delivered"]
    assert {f.key for f in facts} == {"sendgrid/M1"}


def test_sendgrid_dropped_is_never_sent():
    line = json.dumps({"email": "zed@example.com", "timestamp": 1795870800, "event": "dropped",
                       "sg_event_id": "a", "sg_message_id": "M1.filter.0", "reason": "Bounced Address"})
    facts = parser(sendgrid).parse(line, "t:1")
    assert len(facts) == 1 and isinstance(facts[0], Skip) and "never sent" in facts[0].why


def test_sendgrid_blocked_hints_soft_but_text_decides():
    line = json.dumps({"email": "d@example.com", "timestamp": 1795870800, "event": "bounce", "type": "blocked",
                       "sg_event_id": "a", "sg_message_id": "M1.filter.0",
                       "reason": "421 4.7.0 Try again later", "status": "4.7.0"})
    attempt = next(f for f in parser(sendgrid).parse(line, "t:1") if isinstance(f, Attempt))
    assert (attempt.outcome, attempt.hint, attempt.dsn) == ("bounced", "soft", "4.7.0")


def test_campaign_fields_are_configurable():
    line = json.dumps({"email": "ann@example.com", "timestamp": 1795870800, "event": "open",
                       "sg_event_id": "a", "sg_message_id": "M1.filter.0", "campaign": "spring",
                       "list_id": "L7", "category": "weekly"})
    default = parser(sendgrid).parse(line, "t:1")[0]
    custom = parser(sendgrid, Config(esp_campaign_fields={"sendgrid": ["list_id"]})).parse(line, "t:1")[0]
    assert (default.campaign, custom.campaign) == ("spring", "L7")


def test_ses_campaign_header_beats_tag():
    mail = {"timestamp": "2026-11-28T13:00:00Z", "messageId": "m1", "destination": ["ann@example.com"],
            "headers": [{"name": "X-Campaign-ID", "value": "from-header"}], "tags": {"campaign": ["from-tag"]}}
    facts = parser(ses).parse(json.dumps({"eventType": "Send", "mail": mail, "send": {}}), "t:1")
    assert {f.campaign for f in facts} == {"from-header"}


def test_ses_open_of_a_message_to_several_recipients_is_skipped():
    mail = {"timestamp": "2026-11-28T13:00:00Z", "messageId": "m1", "destination": ["a@x.example", "b@x.example"]}
    line = json.dumps({"eventType": "Open", "mail": mail,
                       "open": {"timestamp": "2026-11-28T14:00:00Z", "userAgent": "Mozilla/5.0 (X11)"}})
    facts = parser(ses).parse(line, "t:1")
    assert len(facts) == 1 and isinstance(facts[0], Skip)


def test_ses_topic_unsubscribe_keeps_the_topic_in_the_note():
    mail = {"timestamp": "2026-11-28T13:00:00Z", "messageId": "m1", "destination": ["ann@example.com"]}
    sub = {"contactList": "customers", "timestamp": "2026-11-28T16:00:00Z", "source": "UnsubscribeHeader",
           "newTopicPreferences": {"unsubscribeAll": False,
                                   "topicSubscriptionStatus": [{"topicName": "offers", "subscriptionStatus": "OptOut"}]},
           "oldTopicPreferences": {"unsubscribeAll": False,
                                   "topicSubscriptionStatus": [{"topicName": "offers", "subscriptionStatus": "OptIn"}]}}
    [event] = parser(ses).parse(json.dumps({"eventType": "Subscription", "mail": mail, "subscription": sub}), "t:1")
    assert event.type == "unsubscribed" and "offers" in event.note


def test_mailgun_events_api_page():
    item = {"event": "complained", "id": "x1", "timestamp": 1795870800.5, "log-level": "warn",
            "recipient": "erin@example.com", "message": {"headers": {"message-id": "m1@mg.example"}}}
    facts = parser(mailgun).parse(json.dumps({"items": [item, item], "paging": {}}), "t:1")
    assert [f.type for f in facts] == ["complained", "complained"] and facts[0].key == facts[1].key


def test_mailgun_temporary_failure_is_a_deferral_and_old_is_expired():
    def failed(**kw):
        return json.dumps({"event-data": {"event": "failed", "timestamp": 1795870800.0, "recipient": "b@x.example",
                                          "message": {"headers": {"message-id": "m1@mg.example"}},
                                          "delivery-status": {"code": 421, "message": "try later"}, **kw}})
    p = parser(mailgun)
    assert [f.outcome for f in p.parse(failed(severity="temporary", reason="generic"), "t:1")
            if isinstance(f, Attempt)] == ["deferred"]
    assert [f.outcome for f in p.parse(failed(severity="permanent", reason="old"), "t:1")
            if isinstance(f, Attempt)] == ["expired"]


def test_postmark_bounce_types_table_covers_unsubscribe_and_complaint():
    base = {"RecordType": "Bounce", "MessageID": "pm1", "Email": "ann@example.com",
            "BouncedAt": "2026-11-28T13:00:00Z", "Tag": "spring"}
    p = parser(postmark)
    assert p.parse(json.dumps({**base, "Type": "Unsubscribe"}), "t:1")[0].type == "unsubscribed"
    assert p.parse(json.dumps({**base, "Type": "SpamComplaint"}), "t:1")[0].type == "complained"
    assert isinstance(p.parse(json.dumps({**base, "Type": "BadEmailAddress"}), "t:1")[0], Skip)


def test_opened_keys_one_per_person_campaign_email_and_machine_apart():
    ts = datetime(2026, 11, 28, 13, tzinfo=timezone.utc)
    a = tracking.opened(ts, "ann@example.com", campaign="spring", email="e1", message_id="m1")
    b = tracking.opened(ts.replace(hour=14), "ann@example.com", campaign="spring", email="e1", message_id="m2")
    proxy = tracking.opened(ts, "ann@example.com", campaign="spring", email="e1", machine="apple_mpp")
    assert a.key == b.key != proxy.key
    # Neither a campaign nor an email: the message stands in for the email.
    x = tracking.opened(ts, "ann@example.com", message_id="m1")
    y = tracking.opened(ts, "ann@example.com", message_id="m2")
    assert x.key != y.key


@pytest.mark.parametrize("agent,ip,kind", [
    ("Mozilla/5.0", "17.58.1.1", "apple_mpp"),
    ("Mozilla/5.0", None, "apple_mpp"),
    ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", None, "image_proxy"),
    ("YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html", None, "image_proxy"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36", "198.51.100.1", None),
])
def test_open_machine(agent, ip, kind):
    assert tracking.open_machine(agent, ip) == kind


def test_click_watch_fast_and_burst():
    w = tracking.ClickWatch(size=2)
    t0 = datetime(2026, 11, 28, 13, tzinfo=timezone.utc)
    from datetime import timedelta
    w.delivered("m1|a", t0)
    assert w.click("m1|a", t0 + timedelta(seconds=3), "u1") == "scanner"        # right after delivery
    assert w.click("m2|a", t0 + timedelta(minutes=5), "u1") is None
    assert w.click("m2|a", t0 + timedelta(minutes=5, seconds=1), "u2") == "scanner"  # every link at once
    assert w.click("m2|a", t0 + timedelta(minutes=9), "u1") is None
    w.delivered("m3|a", t0)
    w.delivered("m4|a", t0)
    assert len(w.delivered_at) == 2  # bounded


def test_events_are_events():
    facts = parser(postmark).parse(postmark.SAMPLES[1], "t:1")
    assert any(isinstance(f, Attempt) for f in facts) and not any(isinstance(f, Event) for f in facts)
