"""The one schema everything speaks: event kinds, the Event record, and the
MTA facts that parsers hand to the correlator.

Parsers never build send/delivery/bounce events themselves: they report what a
log line says as a *fact* (a message was queued, a recipient was attempted)
and `correlate.py` applies the SPEC's rules (one `sent`, at most one
`delivered`, one `soft_bounced` with an attempt count, ...). Engagement
sources (opens, clicks, unsubscribes) have nothing to join and emit Events
directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

SENT = "sent"
DELIVERED = "delivered"
HARD_BOUNCED = "hard_bounced"
SOFT_BOUNCED = "soft_bounced"
OPENED = "opened"
CLICKED = "clicked"
UNSUBSCRIBED = "unsubscribed"
COMPLAINED = "complained"
# Operator actions: recorded as events so that nothing is silently deleted.
MANUAL_SUPPRESSED = "manual_suppressed"
RELEASED = "released"

EVENT_TYPES = (
    SENT, DELIVERED, HARD_BOUNCED, SOFT_BOUNCED, OPENED, CLICKED,
    UNSUBSCRIBED, COMPLAINED, MANUAL_SUPPRESSED, RELEASED,
)

BOUNCE_CLASSES = ("permanent", "spam_block", "technical")

# SPEC §4: the documented `reason` words. Anything new must be added here
# (and to the README) with a reason for it.
REASONS = (
    "user_unknown", "bad_domain", "mailbox_disabled", "has_moved",
    "mailbox_full", "message_too_large", "blocklisted", "policy",
    "auth_failure", "spam_content", "rate_limited", "greylisted",
    "connection", "dns_tempfail", "tls", "expired", "relay_denied",
    "system", "unknown",
)

# Columns of the event JSON, in the order SPEC §4 prints them, then ours.
JSON_FIELDS = (
    "id", "ts", "type", "person", "campaign", "email", "message_id",
    "queue_id", "source_format", "host", "bounce_class", "reason",
    "smtp_code", "dsn", "detail", "url", "source",
    "attempts", "last_attempt", "machine", "note", "actor",
)


@lru_cache(maxsize=4096)  # log lines come in time order: recent seconds repeat
def iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 with a Z, to the second: the one time format we store.
    Memoised: a busy log stamps many lines with the same second."""
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def person_of(address: str | None) -> str | None:
    """A person is an address compared case-insensitively (SPEC §3), in one
    spelling: a quoted local part keeps its quotes only when it needs them
    (`"john smith"@example.com`), so `"o'brien"@example.net` and
    `o'brien@example.net` are one person. An address literal
    (`user@[192.0.2.1]`) is an address like any other."""
    if not address:
        return None
    address = address.strip().strip("<>").strip()
    if address[:1] == '"':
        address = _unquoted(address)
    return address.lower() or None


# RFC 5321 §4.1.2: Local-part = Dot-string / Quoted-string, and a quoted
# string is only its content (RFC 5322 §3.2.4), so a quoted local part that
# is also a valid dot-string is the same mailbox unquoted. Postfix writes
# addresses that way too (quote_822_local(3): quotes only when needed).
# Non-ASCII letters are atext under SMTPUTF8 (RFC 6531 §3.3).
_ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]"
_DOT_STRING = re.compile(f"{_ATEXT}+(?:\\.{_ATEXT}+)*")
_QUOTED_LOCAL = re.compile(r'"((?:[^"\\]|\\.)*)"(@.*)?', re.S)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)


def _unquoted(address: str) -> str:
    m = _QUOTED_LOCAL.fullmatch(address)
    if m is None:
        return address
    local = _QUOTED_PAIR.sub(r"\1", m.group(1))
    return local + (m.group(2) or "") if _DOT_STRING.fullmatch(local) else address


def has_domain(address: str | None) -> bool:
    """`ann@example.com`, `"a@b"@example.com`, `user@[192.0.2.1]`: yes;
    `sniptybounce` (a bare local name, an alias): no."""
    if not address:
        return False
    at = address.rfind("@")
    return at > 0 and at < len(address) - 1 and '"' not in address[at:]


def orig_or_alias(orig_recipient: str | None) -> tuple[str | None, str | None]:
    """(orig_recipient, alias) for an MTA's original-recipient field (Postfix
    `orig_to=`, OpenSMTPD `rcpt=`, PowerMTA `orcpt`): an address is the
    person (SPEC §3, the address the campaign sent to); a bare local name
    without a domain is an alias the MTA expanded, kept as detail, and the
    rewritten recipient is the person."""
    if not orig_recipient:
        return None, None
    if has_domain(orig_recipient):
        return orig_recipient, None
    return None, orig_recipient


def person_address(recipient: str | None, orig_recipient: str | None = None) -> str | None:
    """Which of a delivery's two addresses is the person (SPEC §3): the
    original recipient when it is an address, else the recipient. A person
    always has a domain: a bare `orig_to=<alias>` never is one."""
    return orig_recipient if has_domain(orig_recipient) else recipient


def message_id_of(text: str | None) -> str | None:
    """A Message-ID in its RFC 5322 form, `<left@right>`, however logged."""
    if not text:
        return None
    text = text.strip().strip("<>").strip()
    return f"<{text}>" if text else None


@dataclass
class Event:
    """One row of a person's activity history (SPEC §4 event JSON).

    `key` is the natural identity of the event: storing an event whose key is
    already stored changes nothing, which is what makes ingestion idempotent.
    """

    ts: datetime
    type: str
    person: str
    key: str
    campaign: str | None = None
    email: str | None = None
    message_id: str | None = None
    queue_id: str | None = None
    source_format: str | None = None
    host: str | None = None
    bounce_class: str | None = None
    reason: str | None = None
    smtp_code: int | None = None
    dsn: str | None = None
    detail: str | None = None
    url: str | None = None
    source: str | None = None
    attempts: int | None = None
    last_attempt: datetime | None = None
    machine: str | None = None
    note: str | None = None
    actor: str | None = None
    scope: str | None = None  # manual suppressions/releases: a campaign, or None = all
    until: datetime | None = None  # manual suppressions: when they end, None = until released
    send: str | None = None  # the (message, person) that sent/delivered/bounce events share

    def row(self) -> dict:
        """The dict stored in the `events` table."""
        data = dict(self.__dict__)  # flat: no need for asdict's deep copy
        data["ts"] = iso(self.ts)
        data["last_attempt"] = iso(self.last_attempt)
        data["until"] = iso(self.until)
        data["dedupe_key"] = data.pop("key")
        return data


# --- MTA facts -------------------------------------------------------------

@dataclass
class MessageSeen:
    """What a log line says about a whole message (queue entry).

    Any field may be None: lines arrive piecemeal and the correlator merges
    them. `key` identifies the queue entry within one source (host + queue
    id, Exim message id, ...). `is_notice` marks non-delivery/delivery-status
    notices our own MTA generated: those are never sends to a person.
    """

    key: str
    ts: datetime
    source_format: str
    host: str | None = None
    queue_id: str | None = None
    message_id: str | None = None
    sender: str | None = None
    campaign: str | None = None
    email: str | None = None
    is_notice: bool = False
    # The key never names another message (an ESP's message id), so it alone
    # identifies the message and its state may be dropped once settled.
    unique_key: bool = False


@dataclass
class Attempt:
    """One delivery attempt for one recipient of a message.

    `outcome` is what the MTA decided: `delivered`, `deferred` (it will try
    again), `bounced` (it gave up on this recipient now) or `expired` (it gave
    up after its retries); or `accepted` when an ESP took the message (a
    `sent` and nothing more). The person is `person_address(recipient,
    orig_recipient)`: parsers leave `orig_recipient` None when the log's
    original recipient has no domain (it goes to `alias`). `hint` is a sender's own hard/soft label (an ESP's
    bounce type), used only when the text and codes decide nothing.
    """

    key: str
    ts: datetime
    source_format: str
    recipient: str
    outcome: str
    orig_recipient: str | None = None
    host: str | None = None
    queue_id: str | None = None
    smtp_code: int | None = None
    dsn: str | None = None
    detail: str | None = None
    relay: str | None = None
    hint: str | None = None
    stage: str | None = None  # "rcpt" or "data" when the log says which reply it was
    source: str | None = None
    # Only for sources that know these per attempt (ESP payloads, PowerMTA).
    message_id: str | None = None
    sender: str | None = None
    campaign: str | None = None
    # A bare local name the MTA logged as the original recipient (Postfix
    # `orig_to=<alias>`): detail, never the person (`orig_or_alias`).
    alias: str | None = None


@dataclass
class MessageExpired:
    """The MTA gave up on every still-deferred recipient of a message."""

    key: str
    ts: datetime
    source_format: str
    source: str | None = None


@dataclass
class MessageDone:
    """The queue entry is gone (Postfix `removed`, Exim `Completed`)."""

    key: str
    ts: datetime


@dataclass
class Reject:
    """A line that looked like ours but could not be understood."""

    why: str
    text: str = ""


@dataclass
class Skip:
    """A line we understood and deliberately ignore (and count)."""

    why: str


Fact = MessageSeen | Attempt | MessageExpired | MessageDone | Event | Reject | Skip

