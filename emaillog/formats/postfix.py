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

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from .. import cython_shim as cython

from ..events import Attempt, message_id_of, MessageDone, MessageExpired, MessageSeen, orig_or_alias, Reject, Skip
from .context import ParseContext
from ..inputs import MAX_LINE, text_defect
from ..timestamps import TimestampError
from .postfix_lines import postfix_lines, QUEUE_ID
from .syslog import HEADER

NAME = "postfix"
DESCRIPTION = "Postfix syslog / maillog_file lines (BSD or RFC 3339 timestamps)"


# Each pattern with a line it must match (tests walk them).
PATTERNS = {
    "queued": (
        re.compile(rf"(?P<qid>{QUEUE_ID}): ?(?P<rest>.*)"),
        "4Fq2xk1cQzz9: removed",
    ),
    "delivery": (
        re.compile(
            # Old Postfix versions logged addresses without angle brackets; a
            # local part with spaces or commas is logged quoted, with `\"`
            # inside (quote_822_local(3)): <"a b"@example>, <"a\"b"@example>;
            # an address literal is a domain: <user@[192.0.2.1]>.
            r'to=<?(?P<to>"(?:[^"\\]|\\.)*"[^>,\s]*|[^>,\s]*)>?,'
            r'(?: orig_to=<?(?P<orig_to>"(?:[^"\\]|\\.)*"[^>,\s]*|[^>,\s]*)>?,)?'
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
    "probe": (
        re.compile(r".*, status=(?:undeliverable-but-not-cached|undeliverable|deliverable)(?: \(|$)"),
        "to=<ok.literal@[127.0.0.2]>, relay=127.0.0.2[127.0.0.2]:25, delay=0.04, delays=0/0/0.04/0, dsn=2.1.5, "
        "status=deliverable (250 2.1.5 Ok)",
    ),
}
_QUEUED, _DELIVERY, _EXPIRED, _QUEUE_FROM, _MESSAGE_ID, _HEADER, _NOTICE, _PROBE_STATUS = (
    p for p, _ in PATTERNS.values())
# The syslog header and the queue id in one match: the hot path of a busy log.
_LINE = re.compile(HEADER.pattern.replace(r"(?P<prog>[^\s\[:]+)", r"(?P<prog>postfix[^\s\[:]*)")
                   .replace(r"(?P<msg>.*)", rf"(?P<qid>{QUEUE_ID}): ?(?P<rest>.*)"))

# --- the fast path ----------------------------------------------------------
# A busy mail log is millions of Postfix lines of a few shapes. `feed_lines`
# reads those shapes with string operations and hands what they say straight
# to the correlator; any line it is not sure of goes through `parse` above,
# so both paths give the same facts.
_QID = re.compile(QUEUE_ID)
_DSN_TEXT = re.compile(r"\d\.\d{1,3}\.\d{1,3}")
# The stamp part of the syslog header (syslog.HEADER), to check a new stamp against.
_STAMP = re.compile(HEADER.pattern[len("(?P<ts>"):HEADER.pattern.index(") (?P<host>")])
_STAMP_CACHE = 50_000
_LONG_LINE = MAX_LINE // 4
_TAIL = re.compile(r"[^)]*")

OUTCOMES = {"sent": "delivered", "deferred": "deferred", "bounced": "bounced", "expired": "expired"}
# Address-verification probes (verify(8), postconf(5) address_verify_*) are
# not sends: the status says so (PATTERNS["probe"]), whatever the rest of the
# line looks like.
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


class _Fallback(Exception):
    """This line needs the full parser."""


class Parser:
    """One input's Postfix lines to facts."""

    def __init__(self, ctx: ParseContext):
        self.ctx = ctx
        self._stamps: dict[str, int] = {}  # stamp text -> UTC seconds
        self.fast_lines = 0  # Postfix lines the bulk reader read itself

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
            if _PROBE_STATUS.match(rest):
                return [Skip("address verification probe")]
            return [Reject("delivery line without to=<...> and status=")]
        status = m.group("status")
        if status in PROBES:
            return [Skip("address verification probe")]
        outcome = OUTCOMES.get(status)
        if outcome is None:
            return [Reject(f"unknown delivery status {status!r}")]
        to, orig_to, relay, dsn, _, text = m.groups()
        orig, alias = orig_or_alias(orig_to)  # orig_to=<alias>: a bare local name is no person
        return [Attempt(
            key, ts, NAME, recipient=to, outcome=outcome, orig_recipient=orig, alias=alias,
            host=host, queue_id=qid, dsn=dsn, detail=text, relay=relay, source=source,
            stage=stage_of(text) if text and "in reply to" in text else None,
        )]

    # Typed, compiled: str methods and slices are direct calls, not lookups.
    @cython.locals(text=str, stamp=str, host=str, prog=str, qid=str, rest=str, head=str, instance=str,
                   service=str, key=str, start=cython.Py_ssize_t, end=cython.Py_ssize_t)
    def feed_text(self, text: str, line_no: int, corr, label: str, other=None):
        """Parse a chunk of whole lines (numbered from line_no + 1) into
        `corr`. `postfix_lines` finds every Postfix line with its syslog
        header read; other lines go through `parse` (or `other`, a
        parse of the caller's: the syslog router gives them to their
        program's parser). Returns (lines, skipped, rejects as (line_no, why,
        text), latest time seen)."""
        if "\r" in text or "\x00" in text:  # the line-by-line path judges those lines
            lines = [line.rstrip("\r") for line in text.split("\n")]
            if lines[-1] == "":
                lines.pop()
            skipped, rejects, latest = self.feed_lines(lines, line_no, corr, label, other)
            return len(lines), skipped, rejects, latest
        skipped = 0
        rejects = []
        latest = 0
        stamps = self._stamps
        clock = self.ctx.clock
        seen, attempt, done, expired, feed = corr.seen, corr.attempt, corr.done, corr.expired, corr.feed
        pos = 0  # where the next line not yet read starts
        first = line_no

        def others(block: str) -> None:
            """Lines that are not Postfix's (or not of its usual shape)."""
            nonlocal skipped, latest, line_no
            lines = block.split("\n")
            if lines[-1] == "":
                lines.pop()
            s_, r_, l_ = self.feed_lines(lines, line_no, corr, label, other)
            skipped += s_
            rejects.extend(r_)
            if l_ and l_ > latest:
                latest = l_
            line_no += len(lines)

        for start, end, groups in postfix_lines(text):
            if start > pos:
                others(text[pos:start])
            line_no += 1
            pos = end + 1
            if pos - start > _LONG_LINE:
                line_no -= 1
                others(text[start:end] + "\n")  # a very long line: the line-by-line path judges it
                continue
            self.fast_lines += 1
            stamp, host, prog, qid, rest = groups
            ts = stamps.get(stamp)
            if ts is None:
                try:
                    when = clock.iso(stamp) if stamp[0].isdigit() else clock.syslog(stamp)
                except TimestampError as exc:
                    rejects.append((line_no, str(exc), text[start:end]))
                    continue
                if len(stamps) > _STAMP_CACHE:
                    stamps.clear()
                ts = stamps[stamp] = int(when.timestamp())
            if qid is None:
                skipped += 1  # connect from, NOQUEUE reject, warnings: not about a queued message
                continue
            instance, _, service = prog.partition("/")
            key = f"{host}/{instance}/{qid}"
            head = rest[:4]
            if head == "to=<" or head[:3] == "to=":
                delivery = _fast_delivery(rest)
                if delivery is None:
                    facts = self._delivery(rest, key, ts, host, qid, f"{label}:{line_no}")
                    skipped, latest = _take(facts, line_no, text[start:end], rejects, feed, skipped, latest)
                    continue
                if delivery is _PROBE:
                    skipped += 1
                    continue
                to, orig, dsn, outcome, detail = delivery
                if ts > latest:
                    latest = ts
                attempt(key, ts, NAME, to, outcome, orig=orig, host=host, queue_id=qid, dsn=dsn, detail=detail,
                        stage=stage_of(detail) if detail and "in reply to" in detail else None,
                        src=label, line=line_no)
                continue
            if ts > latest:
                latest = ts
            if rest == "removed":
                done(key)
            elif head == "from":
                found = _EXPIRED.match(rest)
                if found:
                    expired(key, ts, label, line_no)
                    continue
                found = _QUEUE_FROM.match(rest)
                if found:
                    sender = found.group("from")
                    seen(key, ts, NAME, host=host, queue_id=qid, sender=sender, is_notice=sender == "")
                else:
                    skipped += 1
            elif head == "mess" and rest.startswith("message-id="):
                found = _MESSAGE_ID.match(rest)
                seen(key, ts, NAME, host=host, queue_id=qid, message_id=message_id_of(found.group("mid")))
            elif (head == "info" or head == "warn") and rest.startswith(("info: header ", "warning: header ")):
                skipped, latest = _take(self._header(rest, key, ts, host, qid), line_no, text[start:end], rejects,
                                        feed, skipped, latest)
            elif service.endswith("bounce") and _NOTICE.search(rest):
                newqid = _NOTICE.search(rest).group("newqid")
                seen(f"{host}/{instance}/{newqid}", ts, NAME, host=host, queue_id=newqid, is_notice=True)
            else:
                skipped += 1
        if pos < len(text):
            others(text[pos:])
        return line_no - first, skipped, rejects, latest or None

    def feed_lines(self, lines: list[str], line_no: int, corr, label: str, other=None):
        """`parse` (or `other`) line by line into `corr`: (skipped, rejects, latest)."""
        skipped = 0
        rejects = []
        latest = 0
        feed = corr.feed
        parse = other or self.parse
        for line in lines:
            line_no += 1
            defect = text_defect(line)  # too long, or NULs left by a crash
            if defect:
                rejects.append((line_no, *defect))
                continue
            try:
                facts = parse(line, f"{label}:{line_no}")
            except TimestampError as exc:
                rejects.append((line_no, str(exc), line))
                continue
            skipped, latest = _take(facts, line_no, line, rejects, feed, skipped, latest)
        return skipped, rejects, latest or None


_PROBE = object()


def _take(facts, line_no, line, rejects, feed, skipped, latest):
    """Facts of one line into the correlator: (skipped, latest) updated."""
    if not facts:
        return skipped + 1, latest
    for fact in facts:
        if isinstance(fact, Reject):
            rejects.append((line_no, fact.why, line))
        elif isinstance(fact, Skip):
            skipped += 1
        else:
            ts = fact.ts if isinstance(fact.ts, int) else int(fact.ts.timestamp())
            if ts > latest:
                latest = ts
            feed(fact)
    return skipped, latest


@cython.locals(rest=str, to=str, orig=str, status=str, end=cython.Py_ssize_t, pos=cython.Py_ssize_t,
               at=cython.Py_ssize_t, status_end=cython.Py_ssize_t, d=cython.Py_ssize_t, close=cython.Py_ssize_t)
def _fast_delivery(rest: str):
    """(to, orig_to, dsn, outcome, text) of a delivery line of the usual
    shape, _PROBE for an address probe, or None when `_delivery` must read
    it (quoted addresses, a bare orig_to alias, old formats, anything
    unusual)."""
    end = rest.find(">, ", 4)
    to = rest[4:end]
    if end < 0 or rest[3] != "<" or '"' in to or " " in to or "," in to or ">" in to:
        return None
    pos = end + 3
    orig = None
    if rest.startswith("orig_to=<", pos):
        end = rest.find(">, ", pos + 9)
        orig = rest[pos + 9:end]
        if end < 0 or '"' in orig or " " in orig or "," in orig or ">" in orig or (orig and "@" not in orig):
            return None  # quoted, or a bare alias (orig_to=<sniptybounce>): `_delivery` reads it
        pos = end + 3
    at = rest.find(" status=", pos - 1)
    if at < 0:
        return None
    status_end = rest.find(" ", at + 8)
    status = rest[at + 8:] if status_end < 0 else rest[at + 8:status_end]
    dsn = None
    d = rest.rfind(" dsn=", pos - 1, at)
    if d >= 0 and rest[at - 1] == "," and _DSN_TEXT.fullmatch(rest, d + 5, at - 1):
        dsn = rest[d + 5:at - 1]
    text = None
    if status_end >= 0:
        close = rest.rfind(")")
        if rest[status_end:status_end + 2] != " (" or close < status_end or not _TAIL.fullmatch(rest, close + 1):
            return None
        text = rest[status_end + 2:close]
    outcome = OUTCOMES.get(status)
    if outcome is None:
        return _PROBE if status in PROBES else None
    return to, orig or None, dsn, outcome, text
