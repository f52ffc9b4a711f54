"""Postfix: syslog or `maillog_file` lines, any instance and service name.

A message's lines share its queue id (short `4F2A3B1C9D` hex or long
`4Fq2xk1cQzz9`, postconf(5) enable_long_queue_ids) within one instance on
one host. What we read, in the order Postfix writes it:

  cleanup  QID: message-id=<...>
  cleanup  QID: info: header X-Campaign-ID: spring from ...    (header_checks INFO/WARN)
  qmgr     QID: from=<sender>, size=..., nrcpt=N (queue active)
  smtp     QID: to=<r>, orig_to=<o>, relay=..., dsn=X.Y.Z, status=sent|deferred|bounced (...)
  qmgr     QID: from=<sender>, status=expired, returned to sender
  bounce   QID: sender non-delivery notification: NEWQID   (NEWQID is our own notice)
  qmgr     QID: removed
"""

from __future__ import annotations

import re

from ..events import Attempt, message_id_of, MessageDone, MessageExpired, MessageSeen, Reject, Skip
from .context import ParseContext
from .syslog import HEADER

NAME = "postfix"
DESCRIPTION = "Postfix syslog / maillog_file lines (BSD or RFC 3339 timestamps)"

# Short ids are upper-case hex; long ids use a vowel-free base-52 alphabet
# (src/global/mail_queue.h), so words such as "warning" never look like one.
QUEUE_ID = r"(?:[0-9A-F]{5,15}|[0-9BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz]{10,20})"

# Each pattern with a line it must match (tests walk them).
PATTERNS = {
    "queued": (
        re.compile(rf"(?P<qid>{QUEUE_ID}): ?(?P<rest>.*)"),
        "4Fq2xk1cQzz9: removed",
    ),
    "delivery": (
        re.compile(
            # Old Postfix versions logged addresses without angle brackets; a
            # local part with spaces or commas is logged quoted: <"a b"@example>.
            r'to=<?(?P<to>"[^"]*"[^>,\s]*|[^>,\s]*)>?,(?: orig_to=<?(?P<orig_to>"[^"]*"[^>,\s]*|[^>,\s]*)>?,)?'
            r"(?: relay=(?P<relay>\S+),)?"
            r".*?(?: dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}),)? status=(?P<status>[\w-]+)(?: \((?P<text>.*)\)[^)]*)?$"
        ),
        "to=<ann@example.com>, orig_to=<ann@list.example>, relay=mx.example.com[192.0.2.1]:25, "
        "delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3A1B2C)",
    ),
    "expired": (
        re.compile(r"from=<(?P<from>[^>]*)>, status=(?:force-)?expired"),
        "from=<bounces+spring@news.example.net>, status=expired, returned to sender",
    ),
    "queue_from": (
        re.compile(r"from=<(?P<from>[^>]*)>, size=\d+"),
        "from=<bounces+spring@news.example.net>, size=1234, nrcpt=2 (queue active)",
    ),
    "message_id": (
        re.compile(r"message-id=<?(?P<mid>[^>\s]*)>?"),
        "message-id=<20261128131001.ABC@news.example.net>",
    ),
    "header": (
        re.compile(r"(?:info|warning): header (?P<name>[^:\s]+): (?P<value>.*?)(?: from \S+;| from \S+$|;|$)"),
        "info: header X-Campaign-ID: spring from localhost[127.0.0.1]; from=<a@b> to=<c@d> proto=ESMTP helo=<x>",
    ),
    "notice": (
        re.compile(r"(?:sender|postmaster) (?:non-delivery|delivery status|delay) notification: (?P<newqid>\S+)"),
        "sender non-delivery notification: 5Gr3yl2dRzz1",
    ),
}
_QUEUED, _DELIVERY, _EXPIRED, _QUEUE_FROM, _MESSAGE_ID, _HEADER, _NOTICE = (p for p, _ in PATTERNS.values())
# The syslog header and the queue id in one match: the hot path of a busy log.
_LINE = re.compile(HEADER.pattern.replace(r"(?P<prog>[^\s\[:]+)", r"(?P<prog>postfix[^\s\[:]*)")
                   .replace(r"(?P<msg>.*)", rf"(?P<qid>{QUEUE_ID}): ?(?P<rest>.*)"))

OUTCOMES = {"sent": "delivered", "deferred": "deferred", "bounced": "bounced", "expired": "expired"}
# Address-verification probes (postconf(5) address_verify_*) are not sends.
PROBES = ("deliverable", "undeliverable", "undeliverable-but-not-cached")
STAGE = re.compile(r"\(in reply to (?P<cmd>RCPT TO|end of DATA|MAIL FROM|DATA|[A-Z ]+?) command\)")

SAMPLES = [
    "Nov 28 13:10:01 mx1 postfix/cleanup[2211]: 4Fq2xk1cQzz9: message-id=<20261128.ann@news.example.net>",
    "Nov 28 13:10:02 mx1 postfix/smtp[2213]: 4Fq2xk1cQzz9: to=<ann@example.com>, relay=mx.example.com[192.0.2.1]:25, "
    "delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 3A1B2C)",
]


def sniff(line: str) -> bool:
    m = HEADER.match(line)
    return bool(m) and m.group("prog").startswith("postfix")


def stage_of(text: str | None) -> str | None:
    m = STAGE.search(text or "")
    if not m:
        return None
    cmd = m.group("cmd")
    return "rcpt" if cmd == "RCPT TO" else "data" if "DATA" in cmd else cmd.lower()


class Parser:
    """One input's Postfix lines to facts."""

    def __init__(self, ctx: ParseContext):
        self.ctx = ctx

    def parse(self, line: str, source: str) -> list:
        if "postfix" not in line:
            return []
        m = _LINE.match(line)
        if m is None:
            head = HEADER.match(line)
            if not head:
                return [Reject("postfix line without a syslog header")]
            if not head.group("prog").startswith("postfix"):
                return []
            msg = head.group("msg")
            return [Skip("NOQUEUE reject" if msg.startswith("NOQUEUE") else "not about a queued message")]
        stamp_text, host, prog, _, qid, rest = m.groups()
        instance, _, service = prog.partition("/")
        key = f"{host}/{instance}/{qid}"
        clock = self.ctx.clock
        ts = clock.iso(stamp_text) if stamp_text[0].isdigit() else clock.syslog(stamp_text)
        head = rest[:4]
        if head == "to=<" or head[:3] == "to=":
            return self._delivery(rest, key, ts, host, qid, source)
        if rest == "removed":
            return [MessageDone(key, ts)]
        if head == "from":
            m = _EXPIRED.match(rest)
            if m:
                return [MessageExpired(key, ts, NAME, source=source)]
            m = _QUEUE_FROM.match(rest)
            if m:
                sender = m.group("from")
                return [MessageSeen(key, ts, NAME, host=host, queue_id=qid, sender=sender, is_notice=sender == "")]
            return [Skip("qmgr line")]
        if head == "mess" and rest.startswith("message-id="):
            m = _MESSAGE_ID.match(rest)
            return [MessageSeen(key, ts, NAME, host=host, queue_id=qid, message_id=message_id_of(m.group("mid")))]
        if (head == "info" or head == "warn") and rest.startswith(("info: header ", "warning: header ")):
            return self._header(rest, key, ts, host, qid)
        if service.endswith("bounce"):
            m = _NOTICE.search(rest)
            if m:
                return [MessageSeen(f"{host}/{instance}/{m.group('newqid')}", ts, NAME,
                                    host=host, queue_id=m.group("newqid"), is_notice=True)]
        return [Skip("other message line")]

    def _header(self, rest, key, ts, host, qid) -> list:
        m = _HEADER.match(rest)
        if not m:
            return [Reject("header_checks line without a header value")]
        name = m.group("name").lower()
        value = m.group("value").strip()
        config = self.ctx.config
        if name in config.campaign_header_set:
            return [MessageSeen(key, ts, NAME, host=host, queue_id=qid, campaign=value or None)]
        if name in config.email_header_set:
            return [MessageSeen(key, ts, NAME, host=host, queue_id=qid, email=value or None)]
        return [Skip("header_checks line for another header")]

    def _delivery(self, rest, key, ts, host, qid, source) -> list:
        m = _DELIVERY.match(rest)
        if not m:
            return [Reject("delivery line without to=<...> and status=")]
        status = m.group("status")
        if status in PROBES:
            return [Skip("address verification probe")]
        outcome = OUTCOMES.get(status)
        if outcome is None:
            return [Reject(f"unknown delivery status {status!r}")]
        to, orig_to, relay, dsn, _, text = m.groups()
        return [Attempt(
            key, ts, NAME, recipient=to, outcome=outcome, orig_recipient=orig_to or None,
            host=host, queue_id=qid, dsn=dsn, detail=text, relay=relay, source=source,
            stage=stage_of(text) if text and "in reply to" in text else None,
        )]
