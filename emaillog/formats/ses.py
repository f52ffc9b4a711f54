"""Amazon SES: event publishing records (`eventType`) and the older feedback
notifications (`notificationType`), one JSON object per line, bare or inside
the SNS envelope SES publishes through (`"Type": "Notification"`, the SES
record as a JSON string in `Message`).

Sends, deliveries, delays and bounces are facts for the correlator (keyed
`ses/<mail.messageId>`); opens, clicks, subscription changes and complaints
are engagement events (emaillog/tracking.py). Every record repeats the
`mail` object, so each also tells the correlator the message's campaign,
email, sender and Message-ID.
"""

from __future__ import annotations

import json

from ..events import Attempt, MessageSeen, Reject
from .. import tracking
from .jsonlines import JsonParser, address, bare_id, dig, iso_time, looks_json, scalar

NAME = "ses"
DESCRIPTION = "Amazon SES event publishing / notifications, JSON lines (bare or in SNS envelopes)"

SAMPLES = [
    '{"eventType":"Send","mail":{"timestamp":"2026-11-28T13:10:00.000Z","source":"news@shop.example",'
    '"messageId":"0100018c-aaaa-0001","destination":["ann@example.com"],"tags":{"campaign":["spring"]}},'
    '"send":{}}',
    '{"Type":"Notification","MessageId":"sns-1","Message":"{\\"notificationType\\":\\"Delivery\\",'
    '\\"mail\\":{\\"timestamp\\":\\"2026-11-28T13:10:00.000Z\\",\\"messageId\\":\\"0100018c-aaaa-0001\\",'
    '\\"destination\\":[\\"ann@example.com\\"]},\\"delivery\\":{\\"timestamp\\":\\"2026-11-28T13:10:02.000Z\\",'
    '\\"recipients\\":[\\"ann@example.com\\"],\\"smtpResponse\\":\\"250 2.0.0 OK\\"}}"}',
]

# bounce.bounceType -> our classifier's hint (used only if text and codes say nothing).
BOUNCE_HINT = {"Permanent": "hard", "Transient": "soft", "Undetermined": None}
# SES did not send to these at all: the address was on a suppression list.
NOT_SENT_SUBTYPES = {"Suppressed", "OnAccountSuppressionList", "UnsubscribedRecipient"}
# When a bounce has no diagnosticCode, SES's own words for its subtype
# (SES developer guide, "bounce types") give the classifier something to read.
SUBTYPE_TEXT = {
    "NoEmail": "the target email address does not exist",
    "MailboxFull": "the recipient's mailbox is full",
    "MessageTooLarge": "the message is too large",
    "ContentRejected": "the receiving server rejected the message content",
    "AttachmentRejected": "the receiving server rejected an attachment",
}


def sniff(line: str) -> bool:
    return (looks_json(line) and ("eventType" in line or "notificationType" in line)
            and "mail" in line)


class Parser(JsonParser):
    NAME = NAME
    CAMPAIGN_FIELDS = ["mail.tags.campaign", "mail.tags.campaign_id", "mail.tags.campaign-id"]
    EMAIL_FIELDS = ["mail.tags.email", "mail.tags.email_id", "mail.commonHeaders.subject"]

    def __init__(self, ctx):
        super().__init__(ctx)
        self.watch = tracking.ClickWatch()
        self.fallback_ts = None
        self.kinds = {
            "Send": self._send, "Delivery": self._delivery, "Bounce": self._bounce,
            "DeliveryDelay": self._delay, "Complaint": self._complaint, "Open": self._open,
            "Click": self._click, "Subscription": self._subscription,
        }

    def record(self, obj: dict, source: str) -> list:
        if obj.get("Type") in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation") \
                and "Message" in obj:
            return self._envelope(obj, source)
        kind = obj.get("eventType") or obj.get("notificationType")
        if not kind:
            return self.skip("JSON object that is not an SES event")
        if kind in ("Reject", "Rendering Failure", "RenderingFailure"):
            return self.skip(f"SES {kind}: never sent")
        handler = self.kinds.get(kind)
        if handler is None:
            return self.skip(f"SES {kind} record")
        mail = obj.get("mail")
        if not isinstance(mail, dict) or not mail.get("messageId"):
            return self.skip(f"SES {kind} record without mail.messageId")
        return handler(obj, mail, kind.lower() if kind != "DeliveryDelay" else "deliveryDelay", source)

    def _envelope(self, obj: dict, source: str) -> list:
        if obj.get("Type") != "Notification":
            return self.skip(f"SNS {obj.get('Type')}")
        message = obj.get("Message")
        try:
            inner = json.loads(message) if isinstance(message, str) else message
        except ValueError:
            return self.skip("SNS notification whose Message is not JSON")
        if not isinstance(inner, dict):
            return self.skip("SNS notification whose Message is not an SES record")
        # Trimmed records may lack their own times: SNS's publish time is close.
        self.fallback_ts = iso_time(obj.get("Timestamp"))
        try:
            return self.record(inner, source)
        finally:
            self.fallback_ts = None

    # -- what every record says about its message --------------------------
    def _message(self, obj: dict, mail: dict):
        key = f"{NAME}/{mail['messageId']}"
        ts = iso_time(mail.get("timestamp")) or self.fallback_ts
        headers = {}
        for h in mail.get("headers") or ():
            if isinstance(h, dict) and h.get("name"):
                headers.setdefault(h["name"].lower(), h.get("value"))
        cfg = self.ctx.config
        campaign = next((headers[h] for h in cfg.campaign_header_set if headers.get(h)), None) \
            or self.campaign(obj)
        email = next((headers[h] for h in cfg.email_header_set if headers.get(h)), None) \
            or self.email(obj)
        message_id = bare_id(dig(mail, "commonHeaders.messageId")) or mail["messageId"]
        sender = address(mail.get("source"))
        seen = MessageSeen(key, ts, NAME, unique_key=True, message_id=message_id, sender=sender,
                           campaign=campaign, email=email) if ts else None
        return key, seen, campaign, email, message_id, sender

    def _attempts(self, obj, mail, section, source, outcome, recipients, ts_text, **common) -> list:
        key, seen, campaign, _email, message_id, sender = self._message(obj, mail)
        ts = iso_time(ts_text) or (seen.ts if seen else None) or self.fallback_ts
        if ts is None:
            return [Reject(f"SES {section} record without any timestamp")]
        facts = [seen] if seen else []
        for rcpt in recipients:
            if isinstance(rcpt, dict):
                recipient = rcpt.get("emailAddress")
                detail = rcpt.get("diagnosticCode") or common.get("detail")
                extra = {"dsn": rcpt.get("status") or None, "detail": detail}
            else:
                recipient, extra = rcpt, {"detail": common.get("detail")}
            recipient = address(recipient)
            if not recipient:
                continue
            if outcome == "delivered":
                self.watch.delivered(f"{key}|{recipient.lower()}", ts)
            facts.append(Attempt(key, ts, NAME, recipient=recipient, outcome=outcome, source=source,
                                 message_id=message_id, sender=sender, campaign=campaign,
                                 hint=common.get("hint"), **extra))
        return facts

    def _send(self, obj, mail, section, source):
        return self._attempts(obj, mail, section, source, "accepted", mail.get("destination") or [],
                              mail.get("timestamp"))

    def _delivery(self, obj, mail, section, source):
        d = obj.get("delivery") or {}
        return self._attempts(obj, mail, section, source, "delivered", d.get("recipients") or [],
                              d.get("timestamp"), detail=d.get("smtpResponse"))

    def _delay(self, obj, mail, section, source):
        d = obj.get("deliveryDelay") or {}
        return self._attempts(obj, mail, section, source, "deferred", d.get("delayedRecipients") or [],
                              d.get("timestamp"), detail=f"SES delivery delay ({d.get('delayType')})")

    def _bounce(self, obj, mail, section, source):
        b = obj.get("bounce") or {}
        btype, subtype = b.get("bounceType"), b.get("bounceSubType")
        if subtype in NOT_SENT_SUBTYPES:
            return self.skip(f"SES bounce {subtype}: SES did not send (suppression list)")
        words = SUBTYPE_TEXT.get(subtype, "no diagnostic code")
        return self._attempts(obj, mail, section, source, "bounced", b.get("bouncedRecipients") or [],
                              b.get("timestamp"), hint=BOUNCE_HINT.get(btype),
                              detail=f"Amazon SES {btype}/{subtype} bounce: {words}")

    # -- engagement ----------------------------------------------------------
    def _one_person(self, mail):
        dest = [d for d in (mail.get("destination") or []) if d]
        return self.person(dest[0]) if len(dest) == 1 else None

    def _engagement(self, obj, mail, section, source):
        body = obj.get(section) or {}
        key, _seen, campaign, email, message_id, _sender = self._message(obj, mail)
        ts = iso_time(body.get("timestamp")) or self.fallback_ts
        person = self._one_person(mail)
        return body, key, ts, person, dict(campaign=campaign, email=email, message_id=message_id,
                                            source_format=NAME, source=source)

    def _open(self, obj, mail, section, source):
        body, _key, ts, person, common = self._engagement(obj, mail, section, source)
        if ts is None:
            return [Reject("SES open without any timestamp")]
        if person is None:
            return self.skip("SES open of a message to several recipients: cannot tell whose")
        machine = tracking.open_machine(body.get("userAgent"), body.get("ipAddress"))
        return [tracking.opened(ts, person, machine=machine, **common)]

    def _click(self, obj, mail, section, source):
        body, key, ts, person, common = self._engagement(obj, mail, section, source)
        if ts is None:
            return [Reject("SES click without any timestamp")]
        if person is None:
            return self.skip("SES click of a message to several recipients: cannot tell whose")
        url = body.get("link")
        machine = tracking.click_machine(body.get("userAgent"))
        machine = self.watch.click(f"{key}|{person}", ts, url) or machine
        rid = f"{mail['messageId']}|{body.get('timestamp')}|{url}"
        return [tracking.clicked(ts, person, url, record_id=rid, machine=machine, **common)]

    def _complaint(self, obj, mail, section, source):
        body = obj.get("complaint") or {}
        if body.get("complaintSubType") == "OnAccountSuppressionList":
            return self.skip("SES complaint OnAccountSuppressionList: SES did not send")
        _key, _seen, campaign, email, message_id, _sender = self._message(obj, mail)
        ts = iso_time(body.get("timestamp")) or self.fallback_ts
        if ts is None:
            return [Reject("SES complaint without any timestamp")]
        note = scalar(body.get("complaintFeedbackType"))
        events = []
        for rcpt in body.get("complainedRecipients") or ():
            person = self.person(rcpt.get("emailAddress") if isinstance(rcpt, dict) else rcpt)
            if person:
                events.append(tracking.complained(ts, person, campaign=campaign, email=email,
                                                  message_id=message_id, source_format=NAME,
                                                  source=source, note=note and f"feedback type {note}"))
        return events or self.skip("SES complaint without recipients")

    def _subscription(self, obj, mail, section, source):
        """SES list management: an unsubscribe from the whole contact list or
        from one of its topics (both suppress: SPEC's unsubscribe is global;
        the note keeps the topic). Re-subscriptions are left to the operator."""
        body, _key, ts, person, common = self._engagement(obj, mail, section, source)
        if ts is None:
            return [Reject("SES subscription change without any timestamp")]
        if person is None:
            return self.skip("SES subscription change of a message to several recipients")
        new = body.get("newTopicPreferences") or {}
        old = body.get("oldTopicPreferences") or {}
        contact_list = body.get("contactList")
        if new.get("unsubscribeAll") and not old.get("unsubscribeAll"):
            note = f"unsubscribed from contact list {contact_list}"
        else:
            was = {t.get("topicName"): t.get("subscriptionStatus")
                   for t in old.get("topicSubscriptionStatus") or () if isinstance(t, dict)}
            dropped = [t.get("topicName") for t in new.get("topicSubscriptionStatus") or ()
                       if isinstance(t, dict) and t.get("subscriptionStatus") == "OptOut"
                       and was.get(t.get("topicName")) != "OptOut"]
            if not dropped:
                return self.skip("SES subscription change that unsubscribes from nothing")
            note = f"unsubscribed from topic(s) {', '.join(map(str, dropped))} of {contact_list}"
        note += f" via {body.get('source')}" if body.get("source") else ""
        return [tracking.unsubscribed(ts, person, note=note, **common)]

