"""OpenSMTPD (6.4+ log format) syslog lines, program `smtpd`.

Every line is `<session id> <subsystem> <event> key=value ...` (OpenSMTPD
book, "Logging"). A message is `msgid` (8 hex digits); each recipient is an
envelope whose id `evpid` (16 hex digits) starts with the msgid. What we read
(usr.sbin/smtpd/smtp_session.c, mta.c `mta_log()`, mda.c `mda_log()`,
queue.c `queue_log()`):

  smtp message msgid=c405e39a size=303 nrcpt=1 proto=ESMTP
  smtp envelope evpid=c405e39ad6bbc64f from=<sender> to=<rcpt>
  mta delivery evpid=... from=<..> to=<dest> rcpt=<orig|-> source="ip" relay="ip (name)"
      delay=2s result="Ok|TempFail|PermFail" stat="250 2.0.0 ..."       (quoted)
  mda delivery evpid=... from=<..> to=<..> rcpt=<..> user=u delay=0s result=Ok stat=Delivered  (unquoted)
  relay: Expire for <evpid>: from=<..>, to=<..>, rcpt=<..>, delay=4m, stat=Envelope expired

`rcpt` is the address given at RCPT TO when aliasing changed it (`-` when
not): that is the person. Bounces OpenSMTPD generates are new messages from
`<>` (bounce.c enqueues them through a local SMTP session): not sends.
OpenSMTPD logs no Message-ID and no headers, so the campaign comes from a
VERP envelope sender only.
"""

from __future__ import annotations

import re

from ..events import Attempt, MessageSeen, Reject, Skip, orig_or_alias
from .context import ParseContext
from .syslog import HEADER, stamp

NAME = "opensmtpd"
DESCRIPTION = "OpenSMTPD 6.4+ syslog lines (smtpd: smtp/mta/mda events)"

# Each pattern with a line it must match (tests walk them).
PATTERNS = {
    "event": (
        re.compile(r"(?P<session>[0-9a-f]{16}) (?P<subsystem>smtp|mta|mda) (?:event=)?(?P<event>[\w-]+)(?: (?P<rest>.*))?"),
        "5df87c903d709659 smtp message msgid=c405e39a size=303 nrcpt=1 proto=ESMTP",
    ),
    "kv": (
        # `key="quoted value"`, `key=<address>` or `key=word`; `stat` (the
        # last field of mda lines) runs to the end of the line unquoted.
        re.compile(r'(?P<key>\w+)=(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|<(?P<addr>[^>]*)>|(?P<word>\S*))'),
        'result="TempFail"',
    ),
    "queue": (
        re.compile(r"(?P<agent>delivery|relay): (?P<what>\w+) for (?P<evpid>[0-9a-f]{16}): "
                   r"from=<?(?P<from>[^,>]*)>?, to=<?(?P<to>[^,>]*)>?,(?: rcpt=<?(?P<rcpt>[^,>]*)>?,)?"
                   r"(?: relay=.*?,)? delay=\S+, stat=(?P<stat>.*)"),
        "relay: Expire for 3d4c4a424797fe79: from=<gilles@poolp.org>, to=<gilles.chehade@gmail.com>, "
        "rcpt=<->, delay=4m, stat=Envelope expired",
    ),
}
_EVENT, _KV, _QUEUE = (p for p, _ in PATTERNS.values())
_STAT = re.compile(r"\bstat=(?P<stat>.*)$")

# mta/mda `result=`; queue.c `queue_log()` prefixes (and pre-6.4 ones).
OUTCOMES = {"Ok": "delivered", "TempFail": "deferred", "PermFail": "bounced", "Loop": "bounced"}
QUEUE_OUTCOMES = {"Expire": "expired", "TempFail": "deferred", "PermFail": "bounced", "Ok": "delivered"}

SAMPLES = [
    "Jul  6 06:01:46 ams-1 smtpd[75295]: 5df87c972116a049 smtp envelope evpid=3d4c4a424797fe79 "
    "from=<gilles@poolp.org> to=<gilles.chehade@gmail.com>",
    "Jul  6 06:01:48 ams-1 smtpd[75295]: 5df87c9ffd0e785d mta delivery evpid=f6e94209918f7e7b "
    "from=<gilles@poolp.org> to=<gilles.chehade@gmail.com> rcpt=<-> source=\"212.83.129.132\" "
    "relay=\"173.194.76.27 (ws-in-f27.1e100.net)\" delay=2s result=\"Ok\" "
    "stat=\"250 2.0.0 OK  1562385708 z11si6726563wmb.62 - gsmtp\"",
]


# smtpd's processes name themselves; before 6.4 the queue lines came from
# `transfer`, `delivery` and `queue` (OpenSMTPD issue #195).
PROGRAMS = ("smtpd", "opensmtpd")
OLD_PROGRAMS = ("transfer", "delivery", "queue", "mta", "mda")


def ours(prog: str, msg: str) -> bool:
    if prog in PROGRAMS:
        return True
    return prog in OLD_PROGRAMS and bool(_QUEUE.match(msg))


def sniff(line: str) -> bool:
    m = HEADER.match(line)
    if m:
        return ours(m.group("prog"), m.group("msg")) and bool(
            _EVENT.match(m.group("msg")) or _QUEUE.match(m.group("msg")))
    return bool(_EVENT.match(line))  # a bare `mta delivery` line (no syslog header)


def fields(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _KV.finditer(text):
        key = m.group("key")
        if key == "stat" and m.group("quoted") is None:
            out[key] = text[m.start() + len("stat="):].strip()
            break
        value = m.group("quoted")
        if value is None:
            value = m.group("addr") if m.group("addr") is not None else m.group("word")
        out.setdefault(key, value)
    return out


def address(value: str | None) -> str | None:
    """`<->` and `<>` are no address."""
    if value is None or value in ("-", "@"):
        return None
    return value


class Parser:
    """One input's OpenSMTPD lines to facts."""

    def __init__(self, ctx: ParseContext):
        self.ctx = ctx

    def parse(self, line: str, source: str) -> list:
        head = HEADER.match(line)
        if not head:
            if _EVENT.match(line):
                return [Reject("OpenSMTPD line without a syslog header (no time)")]
            return []
        if not ours(head.group("prog"), head.group("msg")):
            return []
        host, msg = head.group("host"), head.group("msg")
        ts = stamp(self.ctx.clock, head.group("ts"))
        m = _EVENT.match(msg)
        if m:
            return self._event(m, host, ts, source)
        q = _QUEUE.match(msg)
        if q:
            return self._queue(q, host, ts, source)
        if msg.startswith(("relay:", "delivery:")):
            return [Reject("queue line without from=, to= and stat=")]
        return [Skip("not about a message")]

    def _key(self, host: str, msgid: str) -> str:
        return f"{host}/smtpd/{msgid}"

    def _event(self, m, host, ts, source) -> list:
        subsystem, event = m.group("subsystem"), m.group("event")
        kv = fields(m.group("rest") or "")
        if subsystem == "smtp" and event == "message":
            msgid = kv.get("msgid")
            if not msgid:
                return [Reject("smtp message line without msgid=")]
            return [MessageSeen(self._key(host, msgid), ts, NAME, host=host, queue_id=msgid)]
        if subsystem == "smtp" and event == "envelope":
            evpid = kv.get("evpid")
            if not evpid or "from" not in kv:
                return [Reject("smtp envelope line without evpid= and from=")]
            sender = kv["from"]
            return [MessageSeen(self._key(host, evpid[:8]), ts, NAME, host=host, queue_id=evpid[:8],
                                sender=sender, campaign=self.ctx.config.campaign_from_sender(sender),
                                is_notice=sender == "")]
        if event == "delivery" and subsystem in ("mta", "mda"):
            return self._delivery(kv, host, ts, source)
        return [Skip(f"{subsystem} {event}")]

    def _delivery(self, kv, host, ts, source) -> list:
        evpid, result = kv.get("evpid"), kv.get("result")
        to = address(kv.get("to"))
        if not evpid or not to or not result:
            return [Reject("delivery line without evpid=, to= and result=")]
        outcome = OUTCOMES.get(result)
        if outcome is None:
            return [Reject(f"unknown delivery result {result!r}")]
        rcpt, alias = orig_or_alias(address(kv.get("rcpt")))
        sender = kv.get("from")
        return [Attempt(self._key(host, evpid[:8]), ts, NAME, recipient=to, orig_recipient=rcpt, alias=alias,
                        outcome=outcome, host=host, queue_id=evpid[:8], detail=kv.get("stat") or None,
                        relay=kv.get("relay"), source=source, sender=sender)]

    def _queue(self, q, host, ts, source) -> list:
        outcome = QUEUE_OUTCOMES.get(q.group("what"))
        if outcome is None:
            return [Skip(f"envelope {q.group('what').lower()}")]  # Remove: by the administrator
        evpid = q.group("evpid")
        to = address(q.group("to"))
        if not to:
            return [Reject("queue line without a recipient")]
        rcpt, alias = orig_or_alias(address(q.group("rcpt")))
        return [Attempt(self._key(host, evpid[:8]), ts, NAME, recipient=to, orig_recipient=rcpt, alias=alias,
                        outcome=outcome, host=host, queue_id=evpid[:8], detail=q.group("stat").strip() or None,
                        source=source, sender=q.group("from"))]
