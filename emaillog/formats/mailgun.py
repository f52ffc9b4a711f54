"""Mailgun: webhook bodies (`{"signature": ..., "event-data": {...}}`) and
Events API records (the event object itself, or a page `{"items": [...]}`),
one per line.

The correlator's key is `mailgun/<message.headers.message-id>`. A `failed`
event is permanent (Mailgun gave up: a bounce) or temporary (it will retry:
a deferral), per its `severity`; `delivery-status` holds the remote reply.
"""

from __future__ import annotations

from ..events import Attempt, MessageSeen, Reject
from .. import tracking
from .jsonlines import JsonParser, address, bare_id, dig, epoch, looks_json, scalar

NAME = "mailgun"
DESCRIPTION = "Mailgun webhooks (event-data) and Events API records, JSON lines"

SAMPLES = [
    '{"signature":{"timestamp":"1795871401","token":"t","signature":"s"},"event-data":{"event":"delivered",'
    '"id":"ev1","timestamp":1795871401.5,"recipient":"ann@example.com","user-variables":{"campaign":"spring"},'
    '"message":{"headers":{"message-id":"m1@mg.shop.example"}},"delivery-status":{"code":250,"message":"OK"}}}',
    '{"event":"opened","id":"ev2","timestamp":1795871460.1,"log-level":"info","recipient":"ann@example.com",'
    '"message":{"headers":{"message-id":"m1@mg.shop.example"}},"client-info":{"bot":"apple"}}',
]

# Mailgun `failed` reasons for messages it never tried to deliver: the
# address was on its suppression lists ("suppress-bounce", ...).
NOT_SENT_REASONS = ("suppress-",)
# `client-info.bot` (Mailgun's own machine detection) -> our machine kinds.
BOTS = {"apple": tracking.APPLE_MPP, "gmail": tracking.IMAGE_PROXY, "yahoo": tracking.IMAGE_PROXY}
IGNORED = {"rejected": "Mailgun rejected the message: never sent", "stored": "Mailgun stored an incoming message",
           "list_member_uploaded": "mailing list change", "list_uploaded": "mailing list change"}


def sniff(line: str) -> bool:
    return looks_json(line) and ('"event-data"' in line or ('"log-level"' in line and '"event"' in line))


class Parser(JsonParser):
    NAME = NAME
    CAMPAIGN_FIELDS = ["user-variables.campaign", "user-variables.campaign_id", "campaigns", "tags"]
    EMAIL_FIELDS = ["user-variables.email_id", "template.name", "message.headers.subject"]

    def __init__(self, ctx):
        super().__init__(ctx)
        self.watch = tracking.ClickWatch()

    def record(self, obj: dict, source: str) -> list:
        if isinstance(obj.get("event-data"), dict):
            obj = obj["event-data"]
        elif isinstance(obj.get("items"), list):  # an Events API page
            facts = []
            for item in obj["items"]:
                facts.extend(self.record(item, source) if isinstance(item, dict)
                             else [Reject("Mailgun items entry that is not an object")])
            return facts
        event = obj.get("event")
        if not isinstance(event, str):
            return self.skip("JSON object that is not a Mailgun event")
        if event in IGNORED:
            return self.skip(IGNORED[event])
        if dig(obj, "flags.is-routed") is True:
            return self.skip("Mailgun routed (forwarded) incoming message")
        person = self.person(obj.get("recipient"))
        ts = epoch(obj.get("timestamp"))
        if not person or ts is None:
            return [Reject(f"Mailgun {event} event without recipient or timestamp")]
        message_id = bare_id(dig(obj, "message.headers.message-id"))
        campaign, email = self.campaign(obj), self.email(obj)
        key = f"{NAME}/{message_id}" if message_id else None
        if event in ("accepted", "delivered", "failed"):
            if key is None:
                return [Reject(f"Mailgun {event} event without message.headers.message-id")]
            return self._attempt(obj, event, key, ts, person, message_id, campaign, email, source)
        common = dict(campaign=campaign, email=email, message_id=message_id, source_format=NAME, source=source)
        bot = scalar(dig(obj, "client-info.bot"))
        agent = dig(obj, "client-info.user-agent")
        if event == "opened":
            machine = BOTS.get(bot, tracking.SCANNER) if bot else tracking.open_machine(agent, obj.get("ip"))
            return [tracking.opened(ts, person, machine=machine, **common)]
        if event == "clicked":
            url = obj.get("url")
            machine = tracking.SCANNER if bot else tracking.click_machine(agent)
            if key:
                machine = self.watch.click(f"{key}|{person}", ts, url) or machine
            return [tracking.clicked(ts, person, url, record_id=obj.get("id"), machine=machine, **common)]
        if event == "unsubscribed":
            return [tracking.unsubscribed(ts, person, **common)]
        if event == "complained":
            return [tracking.complained(ts, person, **common)]
        return self.skip(f"Mailgun {event} event")

    def _attempt(self, obj, event, key, ts, person, message_id, campaign, email, source) -> list:
        status = obj.get("delivery-status") or {}
        hint, dsn = None, scalar(status.get("enhanced-code") or status.get("bounce-code"))
        if event == "accepted":
            outcome = "accepted"
        elif event == "delivered":
            outcome = "delivered"
            self.watch.delivered(f"{key}|{person}", ts)
        else:
            reason = str(obj.get("reason") or "")
            if reason.startswith(NOT_SENT_REASONS):
                return self.skip(f"Mailgun failed ({reason}): never sent")
            severity = obj.get("severity")
            if severity == "temporary":
                outcome, hint = "deferred", "soft"
            elif reason == "old":  # gave up after its retries ("Too old")
                outcome = "expired"
            else:
                outcome, hint = "bounced", "hard"
        detail = _detail(status)
        sender = address(dig(obj, "envelope.sender"))
        seen = MessageSeen(key, ts, NAME, unique_key=True, message_id=message_id, sender=sender, campaign=campaign, email=email)
        return [seen, Attempt(key, ts, NAME, recipient=person, outcome=outcome, detail=detail, dsn=dsn,
                              hint=hint, source=source, message_id=message_id, sender=sender,
                              campaign=campaign, relay=status.get("mx-host"))]


def _detail(status: dict) -> str | None:
    """The remote reply as one line: "550 5.1.1 The email account ...".
    Mailgun splits it into `code` and `message` (or `description`)."""
    parts = []
    for name in ("message", "description"):
        part = " ".join(str(status.get(name) or "").split())
        if part and part not in parts:
            parts.append(part)
    text = " ".join(parts)
    code = status.get("code")
    if code and not text.lstrip("smtp; ").startswith(str(code)):
        text = f"{code} {text}".strip()
    return text or None
