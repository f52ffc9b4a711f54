"""Exim main log (`/var/log/exim4/mainlog` on Debian), plain or via syslog.

A message's lines share its message id: `1b8cs4-0005xz-6g` (6-6-2) or, from
Exim 4.97, `16VDhn-000000001bo-D342` (6-11-4; spec "Message identification").
The flag after the id says what happened (spec chapter "Log files", "Log line
flags"):

  <=  arrival; `<= <> R=<parent id>` is a bounce Exim generated (our own NDN)
  (=  arrival after a "fakereject" (the message was kept)
  =>  delivery              ->  another address in the same delivery
  >>  cutthrough delivery   *>  delivery suppressed by -N (nothing was sent)
  ==  deferred              **  failed (bounced, or timed out after retries)
  Completed                 the message left the queue

Lines may carry `[pid]` (log_selector +pid), milliseconds (+millisec), a zone
(log_timezone), a syslog prefix (with or without Exim's own stamp), and Exim
splits long syslog lines into `[n/m]` pieces ("/" for length, "\\" at an
internal newline; spec "Logging to syslog"). Multi-line SMTP replies are
logged on one line with a literal `\\n` between the lines.

One send per message id and address: an address's first line here opens
it, even a deferral that only waits for an earlier failure's retry time
(`routing defer (-52): retry time not reached`; the send's time is that
line's, the first time our MTA handled the address); an outcome line seen
again after `Completed` is a repeat, skipped.

A campaign or email id header can be logged by an ACL in acl_smtp_data:
`logwrite = X-Campaign-ID: $h_X-Campaign-ID:` (logged as `<id> X-Campaign-ID:
spring`) or `warn log_message = ...` (`<id> ... Warning: X-Campaign-ID:
spring`); the header names are the configured campaign/email headers.
"""

from __future__ import annotations

import re

from ..events import Attempt, MessageDone, MessageSeen, Reject, Skip, message_id_of, person_of
from .context import ParseContext
from .syslog import HEADER, stamp

NAME = "exim"
DESCRIPTION = "Exim main log (exim4 mainlog), plain or through syslog"
# An Exim message id encodes the time and process that made it: a host never
# gives one to two messages, so a line about it read in a later run (a
# repeated `**` after `Completed`) is about the same send.
IDS_NEVER_REUSED = True

MSGID = r"[0-9A-Za-z]{6}-[0-9A-Za-z]{6}(?:[0-9A-Za-z]{5})?-[0-9A-Za-z]{2}(?:[0-9A-Za-z]{2})?"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,6})?(?: [+-]\d{4})?"
SYSLOG_STAMP = (r"(?:[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?"
                r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)")

# Each pattern with a line it must match (tests walk them).
PATTERNS = {
    "syslog": (
        re.compile(rf"(?:(?P<sts>{SYSLOG_STAMP}) )?(?P<host>\S+) (?P<prog>exim\w*)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)"),
        "Apr 28 15:53:37 server exim[12105]: 2016-04-28 15:53:37 [12105] 1avnJx-00039F-Hs <= foi+request-1234@example.com",
    ),
    "split": (
        re.compile(r"\[(?P<n>\d+)(?P<kind>[/\\])(?P<m>\d+)\] ?(?P<text>.*)"),
        "[2/5]  [127.0.0.1] (ph10): syntax error in 'From' header",
    ),
    "line": (
        re.compile(rf"(?P<ts>{STAMP}) (?:\[(?P<pid>\d+)\] )?(?:(?P<id>{MSGID}) )?(?P<rest>.*)"),
        "2016-06-03 01:21:52 [22942] 1b8cs4-0005xz-6g ** invalid@example.com "
        "F=<do-not-reply-to-this-address@example.net>: Unrouteable address",
    ),
    "bare": (
        re.compile(rf"(?:\[(?P<pid>\d+)\] )?(?:(?P<id>{MSGID}) )?(?P<rest>.*)"),
        "[8003] SMTP protocol error in \"AUTH LOGIN\" H=(User) [192.0.2.29]:4816 I=[192.0.2.1]:25",
    ),
    "flag": (
        re.compile(r"(?P<flag><=|\(=|=>|->|>>|\*>|\*\*|==) (?P<body>.*)"),
        "=> monk@holistic.fict.example R=dnslookup T=remote_smtp H=holistic.fict.example [192.168.234.234]",
    ),
    "header": (
        re.compile(r"(?:.*? Warning: |Warning: )?(?P<name>[A-Za-z][A-Za-z0-9-]*): ?(?P<value>.*)"),
        "X-Campaign-ID: spring",
    ),
    "token": (
        re.compile(r'\s*(?:(?P<key>[A-Za-z][A-Za-z0-9_]*)=(?P<val>"(?:[^"\\]|\\.)*"|\S*)|(?P<word>\S+))'),
        'C="250 2.0.0 Ok: queued as S000123"',
    ),
}
_SYSLOG, _SPLIT, _LINE, _BARE, _FLAG, _HEADER, _TOKEN = (p for p, _ in PATTERNS.values())

_LOOKS_OURS = re.compile(rf"(?:^| ){MSGID} (?:<=|\(=|=>|->|>>|\*>|\*\*|==|Completed)")
_UNQUOTE = re.compile(r'\\([\\"])')  # string_printing() quoting inside "..."
ARRIVALS = ("<=", "(=")
DELIVERED = ("=>", "->", ">>")
# Exim gave up on an address after its retries: SPEC's `expired` soft bounce.
EXPIRY = re.compile(r"retry timeout exceeded|retry time not reached for any host after a long failure period")
# `==` lines of queue runs that did not try the address: no attempt.
NOT_TRIED = re.compile(r"^(?:retry time not (?:yet )?reached(?! for any host after a long failure period)"
                       r"|SMTP delivery explicitly queued|first-pass only routing)", re.I)
# Of those, the ones that wait for an earlier failure's retry time (spec
# "Retry configuration"; `routing defer (-51)`/`(-52)` by version, `T=...
# defer (-53|-54): retry time not reached [for any host]`): when that is all
# this log says of an address, the message is queued for it and not
# delivered, a soft bounce.
RETRY_WAIT = re.compile(r"^retry time not (?:yet )?reached", re.I)
# How many messages' recipients a parser remembers (oldest forgotten first).
MAX_REMEMBERED = 20_000
# Deliveries that never leave the host: the router threw the address away.
DISCARDS = (":blackhole:", "blackhole", "discarded")
_STAGES = (("rcpt to", "rcpt"), ("end of data", "data"), ("data", "data"), ("mail from", "mail"))
_CONTINUATION = re.compile(r"\\n(?:[2-5]\d\d[ -](?:[2-5]\.\d{1,3}\.\d{1,3} )?)?")

SAMPLES = [
    "2002-10-31 08:57:53 16ZCW1-0005MB-00 <= kryten@dwarf.fict.example H=mailer.fict.example "
    "[192.168.123.123] U=exim P=smtp S=5678 id=<incoming message id>",
    "2002-10-31 09:00:10 16ZCW1-0005MB-00 => monk@holistic.fict.example R=dnslookup T=remote_smtp "
    "H=holistic.fict.example [192.168.234.234]",
    "2002-12-19 16:20:23 16aiQz-0002Q5-00 == marvin@endrest.example R=dnslookup T=smtp defer (146): Connection refused",
    "2002-10-31 09:00:11 16ZCW1-0005MB-00 Completed",
]


def sniff(line: str) -> bool:
    m = _SYSLOG.match(line)
    if m:
        return True
    if not _LINE.match(line):
        return False
    # `2026-11-28 13:10:01 mx1 postfix/smtp[1]: ...` is another program's
    # syslog line with an ISO stamp, not Exim's own.
    head = HEADER.match(line)
    return not (head and not head.group("prog").startswith("exim") and head.group("host")[:1] != "[")


def fields(body: str) -> tuple[list[str], dict[str, str], str | None]:
    """Split `addr <top> K=v K="v w" ... : error` into the words before the
    error, the K=v fields, and the error text after the first token that ends
    in `:` (Exim writes `H=host [ip]: SMTP error ...`, `addr: retry ...`)."""
    words: list[str] = []
    kv: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m or m.end() == pos:
            break
        pos = m.end()
        key = m.group("key")
        if key is not None:
            val = m.group("val")
            if len(val) > 1 and val[0] == '"' and val[-1] == '"':
                kv.setdefault(key, _UNQUOTE.sub(r"\1", val[1:-1]))
                continue
            ends = val.endswith(":")
            kv.setdefault(key, val[:-1] if ends else val)
        else:
            word = m.group("word")
            if not words and not kv and len(word) > 1 and word[0] == ":" and word[-1] == ":":
                words.append(word)  # `:blackhole:` is a name, not a separator
                continue
            ends = word.endswith(":")
            if word != ":":
                words.append(word[:-1] if ends else word)
        if ends:
            return words, kv, body[pos:].strip() or None
    return words, kv, None


def unwrap(reply: str) -> str:
    """`550-Bad\\n550 user` as Postfix logs a multi-line reply: `550 Bad user`."""
    if "\\n" not in reply:
        return reply
    joined = _CONTINUATION.sub(" ", reply)
    return re.sub(r"(?<![\d.])([2-5]\d\d)-(?=\S)", r"\1 ", joined, count=1)


def stage_of(text: str | None) -> str | None:
    low = (text or "").lower()
    for phrase, stage in _STAGES:
        if f"after {phrase}" in low or f"after pipelined {phrase}" in low:
            return stage
    return None


class Parser:
    """One input's Exim lines to facts."""

    def __init__(self, ctx: ParseContext):
        self.ctx = ctx
        self.pieces: dict[tuple, list[tuple[str, str]]] = {}
        # key -> {person: has a final outcome}: the addresses this input has
        # logged a line for, per message still in the queue; and, once
        # `Completed`, the ones with an outcome (a repeat of those is the same send).
        self.open: dict[str, dict[str, bool]] = {}
        self.completed: dict[str, frozenset[str]] = {}

    def parse(self, line: str, source: str) -> list:
        host = None
        clock_ts = None
        text = line
        s = _SYSLOG.match(line)
        if s:
            host = s.group("host")
            text = s.group("msg")
            if s.group("sts"):
                clock_ts = s.group("sts")
        split = _SPLIT.match(text)
        if split:
            text = self._join(split, host, s.group("pid") if s else None)
            if text is None:
                return [Skip("part of a split syslog line")]
        m = _LINE.match(text)
        if m:
            ts = self._when(m.group("ts"))
        elif clock_ts is not None:
            # syslog_timestamp = false: only the syslog stamp.
            m = _BARE.match(text)
            ts = stamp(self.ctx.clock, clock_ts)
        else:
            if _LOOKS_OURS.search(text):
                return [Reject("Exim message line without a timestamp")]
            return [Skip("not an Exim log entry")]
        msgid = m.group("id")
        rest = m.group("rest")
        if msgid is None:
            return [Skip("not about a message")]
        key = f"{host or ''}/exim/{msgid}"
        f = _FLAG.match(rest)
        if f:
            flag, body = f.group("flag"), f.group("body")
            if flag in ARRIVALS:
                return self._arrival(body, key, ts, host, msgid)
            if flag == "*>":
                return [Skip("delivery suppressed by -N")]
            return self._delivery(flag, body, key, ts, host, msgid, source)
        if rest == "Completed" or rest.startswith("Completed "):
            self._complete(key)
            return [MessageDone(key, ts)]
        return self._header(rest, key, ts, host, msgid)

    def _complete(self, key: str) -> None:
        people = self.open.pop(key, {})
        self.completed.pop(key, None)
        if len(self.completed) >= MAX_REMEMBERED:
            del self.completed[next(iter(self.completed))]
        self.completed[key] = frozenset(p for p, final in people.items() if final)

    def _remember(self, key: str, person: str, final: bool) -> bool:
        """Note a line for (message, person); False when it is the first."""
        people = self.open.get(key)
        if people is None:
            if len(self.open) >= MAX_REMEMBERED:
                del self.open[next(iter(self.open))]
            people = self.open[key] = {}
        known = person in people
        people[person] = final or people.get(person, False)
        return known

    def _when(self, text: str):
        if text[-5] in "+-" and text[-6] == " ":  # log_timezone: `... 09:44:33 +0100`
            text = text[:-6] + text[-5:]
        return self.ctx.clock.iso(text)

    def _join(self, split, host, pid) -> str | None:
        """Collect `[n/m]` pieces; the whole line once the last one is in."""
        n, total, kind, piece = int(split.group("n")), int(split.group("m")), split.group("kind"), split.group("text")
        slot = (host, pid)
        if n == 1:
            self.pieces[slot] = []
        parts = self.pieces.get(slot)
        if parts is None:
            return None
        parts.append((kind, piece))
        if n < total:
            return None
        del self.pieces[slot]
        # The mark says how the line was split AFTER its piece: "/" for
        # length, "\\" at a newline; only the first line is the log entry.
        joined = "".join(piece + ("\n" if kind == "\\" else "") for kind, piece in parts)
        return joined.split("\n", 1)[0]

    def _arrival(self, body, key, ts, host, msgid) -> list:
        words, kv, _ = fields(body)
        if not words:
            return [Reject("arrival line without a sender")]
        # A new arrival under an id already completed is another message
        # (ids come round again only in logs with ids rewritten, such as
        # Exim's test suite): nothing of the old one carries over.
        self.completed.pop(key, None)
        self.open.pop(key, None)
        sender = words[0]
        is_notice = sender == "<>"
        if is_notice:
            sender = ""
        mid = message_id_of(kv.get("id"))
        config = self.ctx.config
        return [MessageSeen(key, ts, NAME, host=host, queue_id=msgid, message_id=mid, sender=sender,
                            campaign=config.campaign_from_sender(sender), is_notice=is_notice)]

    def _delivery(self, flag, body, key, ts, host, msgid, source) -> list:
        words, kv, error = fields(body)
        if not words:
            return [Reject(f"{flag} line without an address")]
        addr = words[0]
        top = None
        for word in words[1:]:
            if word.startswith("<") and word.endswith(">"):
                top = word[1:-1]
        if addr in DISCARDS:
            return [Skip("address discarded by a router or ACL")]
        if top is not None and "@" not in top:
            top = None  # `<system-filter>`: generated by a filter, no address
        if "@" not in (top or addr):
            return [Skip("local delivery without an address (pipe, file, filter)")]
        person = person_of(top or addr)
        if person in self.completed.get(key, ()):
            # Exim writes one outcome per address and `Completed` last: the
            # line again (a log read twice, joined copies) is the same send.
            return [Skip("outcome repeated after the message was completed")]
        if flag in DELIVERED:
            self._remember(key, person, True)
            return [Attempt(key, ts, NAME, recipient=top or addr, orig_recipient=top, outcome="delivered",
                            host=host, queue_id=msgid, detail=unwrap(kv["C"]) if "C" in kv else None,
                            relay=kv.get("H"), source=source)]
        detail = unwrap(error) if error else None
        if flag == "==":
            if detail and NOT_TRIED.match(detail):
                if not RETRY_WAIT.match(detail) or self._remember(key, person, False):
                    return [Skip("deferral without a delivery attempt (retry time not reached)")]
                # The first this log says of the address: queued for it and
                # waiting on an earlier failure. The send starts here.
            else:
                self._remember(key, person, False)
            outcome = "deferred"
        else:
            self._remember(key, person, True)
            outcome = "bounced"
            if detail and (EXPIRY.search(detail) or _temporary(detail)):
                outcome = "expired"
        return [Attempt(key, ts, NAME, recipient=top or addr, orig_recipient=top, outcome=outcome,
                        host=host, queue_id=msgid, detail=detail, relay=kv.get("H"),
                        stage=stage_of(detail), source=source)]

    def _header(self, rest, key, ts, host, msgid) -> list:
        m = _HEADER.match(rest)
        if m:
            name = m.group("name").lower()
            value = m.group("value").strip() or None
            config = self.ctx.config
            if name in config.campaign_header_set:
                return [MessageSeen(key, ts, NAME, host=host, queue_id=msgid, campaign=value)]
            if name in config.email_header_set:
                return [MessageSeen(key, ts, NAME, host=host, queue_id=msgid, email=value)]
        return [Skip("other message line")]


_REPLY_CLASS = re.compile(r"(?:^|: )([2-5])\d\d[ -]")


def _temporary(detail: str) -> bool:
    """A `**` whose last reply was 4xx: Exim failed the address because its
    retry time ran out, not because the reply was permanent."""
    m = _REPLY_CLASS.search(detail)
    return bool(m) and m.group(1) == "4"
