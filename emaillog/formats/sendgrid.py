"""SendGrid Event Webhook: one event object per line, or the JSON array
SendGrid posts (a batch of events) per line.

`sg_message_id` is per recipient (`<smtp id>.filter...`); its part before the
first dot is the message, so the correlator's key is `sendgrid/<that>`.
Custom arguments ("unique args") are top-level keys of each event, which is
where a campaign usually is; `category` is the fallback.
"""

from __future__ import annotations

from ..events import Attempt, MessageSeen, Reject
from .. import tracking
from .jsonlines import JsonParser, bare_id, epoch, looks_json, scalar

NAME = "sendgrid"
DESCRIPTION = "SendGrid Event Webhook payloads, JSON lines (objects or batches)"

SAMPLES = [
    '{"email":"ann@example.com","timestamp":1795871401,"smtp-id":"<m1@shop.example>",'
    '"event":"processed","category":["spring"],"sg_event_id":"ev1","sg_message_id":"m1.filter01.1.0"}',
    '[{"email":"ann@example.com","timestamp":1795871460,"event":"open","sg_machine_open":false,'
    '"sg_event_id":"ev2","sg_message_id":"m1.filter01.1.0","useragent":"Mozilla/5.0 (Windows NT 10.0)"}]',
]

# event -> Attempt outcome (facts for the correlator).
OUTCOMES = {"processed": "accepted", "delivered": "delivered", "deferred": "deferred", "bounce": "bounced"}
# bounce `type`: "bounce" is SendGrid's permanent bounce, "blocked" its
# temporary one; only a hint, the classifier reads the reason first.
BOUNCE_HINT = {"bounce": "hard", "blocked": "soft", None: "hard"}
# Never sent: SendGrid dropped the message (suppressed or invalid address).
NOT_SENT = {"dropped"}
IGNORED = {"group_resubscribe"}


def sniff(line: str) -> bool:
    return looks_json(line) and ('"sg_event_id"' in line or '"sg_message_id"' in line)


class Parser(JsonParser):
    NAME = NAME
    CAMPAIGN_FIELDS = ["campaign", "campaign_id", "marketing_campaign_name", "singlesend_name", "category"]
    EMAIL_FIELDS = ["email_id", "template_id", "singlesend_id"]

    def __init__(self, ctx):
        super().__init__(ctx)
        self.watch = tracking.ClickWatch()

    def record(self, obj: dict, source: str) -> list:
        event = obj.get("event")
        if not isinstance(event, str):
            return self.skip("JSON object that is not a SendGrid event")
        if event in NOT_SENT:
            return self.skip(f"SendGrid {event}: never sent ({obj.get('reason') or 'no reason given'})")
        if event in IGNORED:
            return self.skip(f"SendGrid {event}")
        person = self.person(obj.get("email"))
        ts = epoch(obj.get("timestamp"))
        if not person or ts is None:
            return [Reject(f"SendGrid {event} event without email or timestamp")]
        sg_id = scalar(obj.get("sg_message_id"))
        smtp_id = bare_id(obj.get("smtp-id"))
        base = (sg_id.split(".", 1)[0] if sg_id else None) or smtp_id
        message_id = smtp_id or base
        campaign, email = self.campaign(obj), self.email(obj)
        key = f"{NAME}/{base}" if base else None
        if event in OUTCOMES:
            if key is None:
                return [Reject(f"SendGrid {event} event without sg_message_id or smtp-id")]
            return self._attempt(obj, event, key, ts, person, message_id, campaign, email, source)
        common = dict(campaign=campaign, email=email, message_id=message_id, source_format=NAME, source=source)
        if event == "open":
            machine = tracking.APPLE_MPP if obj.get("sg_machine_open") is True \
                else tracking.open_machine(obj.get("useragent"), obj.get("ip"))
            return [tracking.opened(ts, person, machine=machine, **common)]
        if event == "click":
            url = obj.get("url")
            machine = tracking.click_machine(obj.get("useragent"))
            if key:
                machine = self.watch.click(f"{key}|{person}", ts, url) or machine
            rid = obj.get("sg_event_id") or None
            return [tracking.clicked(ts, person, url, record_id=rid, machine=machine, **common)]
        if event in ("unsubscribe", "group_unsubscribe"):
            group = obj.get("asm_group_id")
            note = f"unsubscribe group {group}" if event == "group_unsubscribe" else None
            return [tracking.unsubscribed(ts, person, note=note, **common)]
        if event == "spamreport":
            return [tracking.complained(ts, person, **common)]
        return self.skip(f"SendGrid {event} event")

    def _attempt(self, obj, event, key, ts, person, message_id, campaign, email, source) -> list:
        outcome = OUTCOMES[event]
        detail = obj.get("response") or obj.get("reason") or None
        hint = BOUNCE_HINT.get(obj.get("type"), "hard") if event == "bounce" else None
        if outcome == "delivered":
            self.watch.delivered(f"{key}|{person}", ts)
        status = scalar(obj.get("status"))
        seen = MessageSeen(key, ts, NAME, unique_key=True, message_id=message_id, campaign=campaign, email=email)
        return [seen, Attempt(key, ts, NAME, recipient=person, outcome=outcome, detail=detail,
                              dsn=status, hint=hint, source=source, message_id=message_id,
                              campaign=campaign)]
