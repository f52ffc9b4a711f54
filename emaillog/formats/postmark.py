"""Postmark webhooks, one JSON object per line, told apart by `RecordType`:
Delivery, Bounce (with its `Type`), Open, Click, SpamComplaint and
SubscriptionChange.

Postmark reports no separate send: the correlator makes the `sent` at the
first delivery or bounce (key `postmark/<MessageID>`). Bounce `Type`s that
are not delivery failures (auto-replies, unsubscribe requests, complaints)
are mapped by the table below.
"""

from __future__ import annotations

from ..events import Attempt, MessageSeen, Reject
from .. import tracking
from .jsonlines import JsonParser, iso_time, looks_json, scalar

NAME = "postmark"
DESCRIPTION = "Postmark webhooks (RecordType ...), JSON lines"

SAMPLES = [
    '{"RecordType":"Delivery","MessageID":"pm-1","Recipient":"ann@example.com","Tag":"spring",'
    '"DeliveredAt":"2026-11-28T13:10:02Z","Details":"smtp;250 2.0.0 OK"}',
    '{"RecordType":"Bounce","Type":"HardBounce","TypeCode":1,"MessageID":"pm-2","Email":"bob@example.com",'
    '"Tag":"spring","BouncedAt":"2026-11-28T13:10:03Z","Details":"smtp;550 5.1.1 user unknown"}',
]

# Bounce `Type` -> (what it is, classifier hint). "bounced"/"deferred" are
# delivery failures for the correlator; "unsubscribed"/"complained" are
# engagement events; None = not about a delivery of ours (counted as skipped).
# Types from Postmark's "Bounce webhook" / "bounce types" documentation.
BOUNCE_TYPES = {
    "HardBounce": ("bounced", "hard"),
    "SoftBounce": ("bounced", "soft"),
    "Transient": ("deferred", "soft"),        # "message delayed"
    "DnsError": ("bounced", "soft"),
    "Blocked": ("bounced", "hard"),           # ISP block: content or blocklisting
    "DMARCPolicy": ("bounced", "hard"),
    "VirusNotification": ("bounced", "hard"),
    "SpamNotification": ("bounced", None),
    "Unknown": ("bounced", None),
    "Unsubscribe": ("unsubscribed", None),    # an unsubscribe request mailed back
    "SpamComplaint": ("complained", None),
    # Never sent by Postmark, or not about our delivery:
    "BadEmailAddress": (None, "invalid address: never sent"),
    "ManuallyDeactivated": (None, "address deactivated: never sent"),
    "Unconfirmed": (None, "sender signature unconfirmed: never sent"),
    "SMTPApiError": (None, "SMTP API error: never sent"),
    "TemplateRenderingFailed": (None, "template rendering failed: never sent"),
    "InboundError": (None, "inbound processing error"),
    "AutoResponder": (None, "auto-responder"),
    "AddressChange": (None, "address change notice"),
    "Subscribe": (None, "subscribe request"),
    "OpenRelayTest": (None, "open relay test"),
    "ChallengeVerification": (None, "challenge verification"),
}


def sniff(line: str) -> bool:
    return looks_json(line) and '"RecordType"' in line


class Parser(JsonParser):
    NAME = NAME
    CAMPAIGN_FIELDS = ["Metadata.campaign", "Metadata.campaign_id", "Tag"]
    EMAIL_FIELDS = ["Metadata.email_id", "Metadata.email-id"]

    def __init__(self, ctx):
        super().__init__(ctx)
        self.watch = tracking.ClickWatch()
        self.kinds = {"Delivery": self._delivery, "Bounce": self._bounce, "SpamComplaint": self._bounce,
                      "Open": self._open, "Click": self._click, "SubscriptionChange": self._subscription}

    def record(self, obj: dict, source: str) -> list:
        kind = obj.get("RecordType")
        handler = self.kinds.get(kind)
        if handler is None:
            return self.skip(f"Postmark {kind} record" if kind else "JSON object that is not a Postmark record")
        person = self.person(obj.get("Recipient") or obj.get("Email"))
        ts = iso_time(obj.get("DeliveredAt") or obj.get("BouncedAt") or obj.get("ReceivedAt")
                      or obj.get("ChangedAt"))
        if not person or ts is None:
            return [Reject(f"Postmark {kind} record without recipient or time")]
        message_id = scalar(obj.get("MessageID"))
        common = dict(campaign=self.campaign(obj), email=self.email(obj), message_id=message_id,
                      source_format=NAME, source=source)
        return handler(obj, ts, person, common)

    def _facts(self, obj, ts, person, common, outcome, hint) -> list:
        message_id = common["message_id"]
        if not message_id:
            return [Reject(f"Postmark {obj.get('RecordType')} record without MessageID")]
        key = f"{NAME}/{message_id}"
        if outcome == "delivered":
            self.watch.delivered(f"{key}|{person}", ts)
        seen = MessageSeen(key, ts, NAME, unique_key=True, message_id=message_id, sender=obj.get("From") or None,
                           campaign=common["campaign"], email=common["email"])
        detail = obj.get("Details") or obj.get("Description") or None
        return [seen, Attempt(key, ts, NAME, recipient=person, outcome=outcome, detail=detail, hint=hint,
                              source=common["source"], message_id=message_id, campaign=common["campaign"])]

    def _delivery(self, obj, ts, person, common):
        return self._facts(obj, ts, person, common, "delivered", None)

    def _bounce(self, obj, ts, person, common):
        btype = obj.get("Type") or obj.get("RecordType")
        what, hint = BOUNCE_TYPES.get(btype, ("bounced", None))
        if what is None:
            return self.skip(f"Postmark bounce {btype}: {hint}")
        if what == "unsubscribed":
            return [tracking.unsubscribed(ts, person, note="unsubscribe request (Postmark bounce)", **common)]
        if what == "complained":
            return [tracking.complained(ts, person, **common)]
        return self._facts(obj, ts, person, common, what, hint)

    def _open(self, obj, ts, person, common):
        machine = tracking.open_machine(obj.get("UserAgent"), None)
        return [tracking.opened(ts, person, machine=machine, **common)]

    def _click(self, obj, ts, person, common):
        url = obj.get("OriginalLink")
        machine = tracking.click_machine(obj.get("UserAgent"))
        if common["message_id"]:
            machine = self.watch.click(f"{NAME}/{common['message_id']}|{person}", ts, url) or machine
        rid = f"{common['message_id']}|{obj.get('ReceivedAt')}|{url}"
        return [tracking.clicked(ts, person, url, record_id=rid, machine=machine, **common)]

    def _subscription(self, obj, ts, person, common):
        """Only a recipient's own unsubscribe counts; bounce and complaint
        suppressions arrive as their own records, and re-activations and the
        sender's own suppressions are the operator's business."""
        if not obj.get("SuppressSending"):
            return self.skip("Postmark subscription change that re-activates the address")
        reason, origin = obj.get("SuppressionReason"), obj.get("Origin")
        if reason != "ManualSuppression":
            return self.skip(f"Postmark suppression for {reason}: its own record says so")
        if origin != "Recipient":
            return self.skip(f"Postmark suppression set by {origin}, not the recipient")
        stream = obj.get("MessageStream")
        return [tracking.unsubscribed(ts, person, note=stream and f"message stream {stream}", **common)]
