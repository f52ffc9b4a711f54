"""Sendmail syslog lines (`sm-mta` on Debian, `sendmail` elsewhere).

A message's lines share its queue id (`2ASHl6xx001234`, sendmail 8.12+:
date, time, sequence and pid in base 60/10). What we read (sendmail
`logsender()`/`logdelivery()` in deliver.c and savemail.c):

  QID: from=<sender>, size=812, class=0, nrcpts=5, msgid=<...>, proto=ESMTP, daemon=MTA, relay=...
  QID: to=<a>,<b>, [ctladdr=<c> (uid/gid),] delay=..., xdelay=..., mailer=esmtp, pri=...,
       relay=host. [ip], dsn=X.Y.Z, stat=Sent (...)|Deferred: 451 ...|User unknown|...
  QID: <a>... User unknown                     (the error as told to the sender)
  QID: NEWQID: DSN: Service unavailable         (NEWQID is a notice we generated)
  QID: NEWQID: DSN: Cannot send message for 5 days   (the queue lifetime ran out)
  QID: NEWQID: sender notify: Cannot send message for 3 minutes   (likewise)

`stat=queued` with a 4.x.x `dsn=` is a temporary failure before any
connection (DNS: `dsn=4.4.3`), a deferral; without one it is a message
queued on purpose (DeliveryMode=queue), not yet an attempt. A bare
`stat=Service unavailable` is sendmail's word for its exit status
(sm_sysexitmsg); the `dsn=` beside it decides (bounce_rules.STATUS_WORDS).

`ctladdr` is the controlling user of a delivery, not the original
recipient, so the person is the `to=` address. Messages the submission
program (`sendmail` as MSP, /var/spool/clientmqueue) hands to the local MTA
are not sends: their `from=` has no `daemon=` and their `to=` goes to the
loopback relay; the MTA's own queue entry for them is the send.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from ..events import Attempt, MessageExpired, MessageSeen, Reject, Skip, message_id_of
from .context import ParseContext
from .syslog import HEADER, stamp

NAME = "sendmail"
DESCRIPTION = "Sendmail syslog lines (sm-mta / sendmail; from=, to= ... stat=, DSN:)"

QID = r"[A-Za-z0-9]{8,20}"

# Each pattern with a line it must match (tests walk them).
PATTERNS = {
    # syslog with a `<facility.level>` tag (syslog-ng `$PRI`), or loghub's
    # `- <epoch> <YYYY.MM.DD> <node> ` prefix before an ordinary header.
    "prefix": (
        re.compile(r"- (?P<epoch>\d{9,11}) \d{4}\.\d\d\.\d\d \S+ (?P<line>.*)"),
        "- 1131566491 2005.11.09 eadmin1 Nov 9 12:01:31 src@eadmin1 sendmail[4306]: unable to qualify my own domain name",
    ),
    "priority": (
        re.compile(r"(?P<ts>[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d) <[\w.]+> (?P<rest>.*)"),
        "Jun 17 14:37:39 <mail.info> robin sm-mta[2794]: 55HIbcGI002794: from=<root@yourhost.com>, size=108",
    ),
    "queued": (
        re.compile(rf"(?P<qid>{QID}): (?P<rest>.*)"),
        "2ASHl6xx001234: to=<ann@example.net>, delay=00:00:01, mailer=esmtp, dsn=2.0.0, stat=Sent (Ok)",
    ),
    "from": (
        re.compile(r"from=(?P<from><[^>]*>|[^,\s]*),"),
        "from=<bounces+spring@news.example.net>, size=812, class=0, nrcpts=5, msgid=<spring.1@news.example.net>",
    ),
    "to": (
        re.compile(r"to=(?P<to>.*?), (?=[a-z_]+=)(?P<rest>.*?)(?:, stat=(?P<stat>.*))?$"),
        "to=<ann@example.net>,<bob@example.net>, delay=00:00:01, xdelay=00:00:01, mailer=esmtp, pri=120812, "
        "relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0, stat=Sent (Ok: queued as S000123)",
    ),
    "notice": (
        re.compile(rf"(?P<newqid>{QID}): (?P<kind>DSN|return to sender|postmaster notify|sender notify): (?P<text>.*)"),
        "2ASHl7xx001240: DSN: User unknown",
    ),
    "addr_error": (
        re.compile(r"<(?P<addr>[^>]*)>\.\.\. (?P<text>.*)"),
        "<unknown1@example.net>... User unknown",
    ),
}
_PREFIX, _PRIORITY, _QUEUED, _FROM, _TO, _NOTICE, _ADDR_ERROR = (p for p, _ in PATTERNS.values())
_FIELD = re.compile(r"(?:^|, )(?P<key>[a-z_]+)=(?P<value>.*?)(?=, [a-z_]+=|$)")
_DSN = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
LOOPBACK = ("[127.0.0.1]", "[IPv6:::1]", "localhost", "[::1]")
MAX_PENDING = 10_000
# The queue lifetime ran out (sendmail queue.c / savemail.c wording).
EXPIRY = re.compile(r"^Cannot send message (?:for|within) ", re.I)

SAMPLES = [
    "Jun 17 14:37:39 robin sm-mta[2794]: 55HIbcGI002794: from=<root@yourhost.com>, size=108, class=0, "
    "nrcpts=1, msgid=<202506171437.55HIbcGI002794@yourhost.com>, proto=ESMTP, daemon=MTA-v4, relay=[192.168.1.45]",
    "Nov  9 12:01:31 eadmin1 sm-mta[4306]: jA9J1UvC004306: to=<root@eadmin1>, delay=00:00:01, xdelay=00:00:00, "
    "mailer=esmtp, pri=659060, relay=[127.0.0.1] [127.0.0.1], dsn=4.0.0, stat=Deferred: Connection refused by [127.0.0.1]",
]


def is_sendmail(prog: str) -> bool:
    return prog == "sendmail" or prog.startswith("sm-")


def header(line: str):
    """(ts text or datetime, host, prog, msg) of a sendmail syslog line, or None."""
    epoch = None
    m = _PREFIX.match(line)
    if m:
        epoch = int(m.group("epoch"))
        line = m.group("line")
    p = _PRIORITY.match(line)
    if p:
        line = f"{p.group('ts')} {p.group('rest')}"
    head = HEADER.match(line)
    if not head:
        return None
    when = datetime.fromtimestamp(epoch, timezone.utc) if epoch is not None else head.group("ts")
    return when, head.group("host"), head.group("prog"), head.group("msg")


def sniff(line: str) -> bool:
    h = header(line)
    return bool(h) and is_sendmail(h[2])


def fields(text: str) -> dict[str, str]:
    return {m.group("key"): m.group("value") for m in _FIELD.finditer(text)}


def addresses(text: str) -> list[str]:
    """`<a@b>,<c@d>` or `a@b,c@d` -> addresses (no brackets)."""
    return [a.strip().strip("<>") for a in text.split(",") if a.strip().strip("<>")]


class Parser:
    """One input's Sendmail lines to facts."""

    def __init__(self, ctx: ParseContext):
        self.ctx = ctx
        self.submissions: set[str] = set()  # MSP queue entries (hand-offs to the MTA)
        self.errors: dict[tuple[str, str], str] = {}  # (key, rcpt) -> `<rcpt>... text`

    def parse(self, line: str, source: str) -> list:
        h = header(line)
        if h is None:
            if "sendmail" in line or "sm-mta" in line:
                return [Skip("not a syslog line")]
            return []
        when, host, prog, msg = h
        if not is_sendmail(prog):
            return []
        q = _QUEUED.match(msg)
        if not q or "=" in q.group("qid"):
            return [Skip("not about a queued message")]
        ts = when if isinstance(when, datetime) else stamp(self.ctx.clock, when)
        qid, rest = q.group("qid"), q.group("rest")
        key = f"{host}/sendmail/{qid}"
        if rest.startswith("from="):
            return self._from(rest, key, ts, host, qid)
        if rest.startswith("to="):
            return self._to(rest, key, ts, host, qid, source)
        n = _NOTICE.match(rest)
        if n:
            newqid = n.group("newqid")
            facts = [MessageSeen(f"{host}/sendmail/{newqid}", ts, NAME, host=host, queue_id=newqid, is_notice=True)]
            if EXPIRY.match(n.group("text")):
                facts.append(MessageExpired(key, ts, NAME, source=source))
            return facts
        e = _ADDR_ERROR.match(rest)
        if e:
            if len(self.errors) >= MAX_PENDING:  # refused at RCPT: no to= line ever follows
                self.errors.pop(next(iter(self.errors)))
            self.errors[(key, e.group("addr").lower())] = e.group("text")
            return [Skip("error as told to the sender (the to= line follows)")]
        return [Skip("other message line")]

    def _from(self, rest, key, ts, host, qid) -> list:
        m = _FROM.match(rest)
        if not m:
            return [Reject("from= line without a sender")]
        kv = fields(rest)
        sender = m.group("from").strip("<>")
        relay = kv.get("relay", "")
        if "daemon" not in kv and "@" in relay.split(" ")[0] and "proto" not in kv:
            # The MSP (clientmqueue): `relay=user@localhost`, no daemon=.
            self.submissions.add(key)
        config = self.ctx.config
        return [MessageSeen(key, ts, NAME, host=host, queue_id=qid, sender=sender,
                            message_id=message_id_of(kv.get("msgid")),
                            campaign=config.campaign_from_sender(sender), is_notice=sender == "")]

    def _to(self, rest, key, ts, host, qid, source) -> list:
        m = _TO.match(rest)
        if not m or m.group("stat") is None:
            return [Reject("to= line without stat=")]
        kv = fields(m.group("rest"))
        stat = m.group("stat").strip()
        # Sendmail 8.15+ logs the remote's own words in `reply=`, the last field
        # before `stat=`; `stat=` alone is often just "Service unavailable".
        reply = m.group("rest").partition("reply=")[2].strip() or None
        mailer, relay = kv.get("mailer", ""), kv.get("relay", "")
        handoff = mailer == "relay" and relay.startswith(LOOPBACK) and (
            key in self.submissions or "Message accepted for delivery" in stat)
        if handoff:
            return [Skip("submission program handing the message to the local MTA")]
        word = stat.split(":", 1)[0].split(" (", 1)[0].strip()
        dsn = kv.get("dsn") if _DSN.fullmatch(kv.get("dsn", "")) else None
        if word == "Sent":
            outcome, detail = "delivered", _inner(stat)
        elif word == "Deferred":
            outcome, detail = "deferred", reply or stat.partition(":")[2].strip() or stat
        elif word in ("queued", "Queued"):
            if not (dsn and dsn[0] == "4"):
                return [Skip("queued for a later delivery attempt")]
            # `dsn=4.4.3, stat=queued`: the address could not be resolved for
            # now (a DNS lookup failed temporarily) and waits in the queue;
            # sendmail logs no retry of it, only `sender notify: Cannot send
            # message for ...` when it gives up. A send and a deferral.
            outcome, detail = "deferred", stat
        else:
            outcome, detail = "bounced", reply or stat
        facts = []
        for rcpt in addresses(m.group("to")):
            if "@" not in rcpt:
                facts.append(Skip("local user without a domain"))
                continue
            told = self.errors.pop((key, rcpt.lower()), None)
            text = detail
            if outcome == "bounced" and told and told not in (detail or ""):
                text = f"{told}" if not detail or detail in told else f"{detail}: {told}"
            facts.append(Attempt(key, ts, NAME, recipient=rcpt, outcome=outcome, host=host, queue_id=qid,
                                 dsn=dsn, detail=text, relay=relay or None, source=source))
        return facts


def _inner(stat: str) -> str | None:
    """`Sent (Ok: queued as S000123)` -> `Ok: queued as S000123`."""
    if "(" in stat and stat.endswith(")"):
        return stat[stat.index("(") + 1:-1]
    return None
