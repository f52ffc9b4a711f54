#!/usr/bin/env python3
"""Scripted SMTP sink for producing genuine MTA log captures.

A small, stdlib-only SMTP server (socketserver, one thread per connection) that
real MTAs (Postfix, Exim, OpenSMTPD, Sendmail) relay to on loopback.  It never
delivers anything: it answers each recipient according to a script and appends
one JSON line per per-recipient answer to a record file, so that the MTA's own
log can be checked against what the receiving side really said.

Usage::

    python3 tools/smtp_sink.py --port 2525 --record /tmp/sink.jsonl \
        [--rules tools/sample_rules.json] [--host 127.0.0.1] [--grey-attempts 1]

Behaviours, chosen by the recipient's local part.  A behaviour word matches when
the local part is exactly the word or the word followed by a digit or one of
``. _ + -`` (so ``unknown7``, ``grey.bob`` and ``full-1`` match, ``bigelow``
does not).  Longest word first (``fulltemp`` before ``full``).

==========  =======  ===========================================================
word        stage    answer
==========  =======  ===========================================================
ok          -        ``250 2.1.5 Ok`` at RCPT, ``250 2.0.0 Ok: queued as X`` at
                     DATA.  Any local part that matches no word (ann, dave...)
                     behaves like ``ok``.
unknown     RCPT     ``550 5.1.1 <addr>: Recipient address rejected: User
                     unknown in virtual mailbox table``
block       RCPT     ``554 5.7.1 Service unavailable; Client host [127.0.0.1]
                     blocked using zen.spamhaus.org;
                     https://www.spamhaus.org/query/ip/127.0.0.1``
full        RCPT     ``552 5.2.2 <addr>: Recipient address rejected: Mailbox
                     full`` (5xx, but mailbox full is a SOFT bounce)
fulltemp    RCPT     ``452 4.2.2 Mailbox full``
grey        RCPT     ``450 4.7.1 <addr>: Recipient address rejected:
                     Greylisted, see http://postgrey.schweikert.ch/help/
                     <domain>.html`` for the first ``--grey-attempts`` (default
                     1) attempts of a (sender, recipient) pair, then ``ok``
                     (like postgrey, the triplet is then known: a second
                     message with the same envelope sender passes at once)
defer       RCPT     always ``451 4.3.0 Temporary local problem - please try
                     later`` (the MTA retries until its queue lifetime ends)
big         DATA     RCPT ok, end of DATA ``552 5.3.4 Message size exceeds
                     fixed limit``
spam        DATA     RCPT ok, end of DATA ``550 5.7.1 Message rejected as spam
                     by Content Filtering``
disabled    RCPT     ``550 5.2.1 The email account that you tried to reach is
                     disabled.``
==========  =======  ===========================================================

The DATA answer is given once per message and applies to every recipient that
was accepted at RCPT, so ``big``/``spam`` recipients should be alone in their
message (if several accepted recipients ask for a DATA failure, the first one
wins).

``--rules FILE`` overrides the prefix behaviour for given addresses.  It is a
JSON object whose keys are ``"recipient"`` or ``"sender recipient"`` (envelope
sender, one space, recipient; the more specific key wins; compared
case-insensitively) and whose values are lists of answers given in order, one
per RCPT attempt of that key; the last answer repeats.  An answer is either a
behaviour word from the table (``"ok"``, ``"grey"`` means a single greylisting
450, ``"unknown"``...) or a literal reply ``"550 5.1.1 text"`` (given at RCPT) or
``"data:552 5.3.4 text"`` (RCPT accepted, reply at end of DATA).  Keys starting
with ``_`` are comments.

Record file: one JSON object per line, appended and flushed per answer::

    {"ts": "2026-11-28T17:50:01.123Z", "recipient": "unknown1@example.org",
     "stage": "rcpt", "code": 550, "dsn": "5.1.1", "text": "...",
     "message_id": null, "attempt": 1, "sender": "bounces+spring@...",
     "behaviour": "unknown", "session": 12, "client": "127.0.0.1"}

``attempt`` counts the RCPT commands the sink has seen for the (sender,
recipient) pair (the sink cannot tell messages apart before DATA).  At the data
stage ``message_id`` is the Message-ID header of the message, and there is one
line per accepted recipient.  Accepted RCPTs (250) are recorded too.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import itertools
import json
import re
import socketserver
import sys
import threading

HOSTNAME = "sink.example.org"

# behaviour -> (stage, code, dsn, text template); {addr} and {domain} are filled in.
BEHAVIOURS = {
    "ok": ("rcpt", 250, "2.1.5", "Ok"),
    "unknown": ("rcpt", 550, "5.1.1",
                "<{addr}>: Recipient address rejected: User unknown in virtual mailbox table"),
    "block": ("rcpt", 554, "5.7.1",
              "Service unavailable; Client host [127.0.0.1] blocked using zen.spamhaus.org; "
              "https://www.spamhaus.org/query/ip/127.0.0.1"),
    "fulltemp": ("rcpt", 452, "4.2.2", "Mailbox full"),
    "full": ("rcpt", 552, "5.2.2", "<{addr}>: Recipient address rejected: Mailbox full"),
    "grey": ("rcpt", 450, "4.7.1",
             "<{addr}>: Recipient address rejected: Greylisted, see "
             "http://postgrey.schweikert.ch/help/{domain}.html"),
    "defer": ("rcpt", 451, "4.3.0", "Temporary local problem - please try later"),
    "big": ("data", 552, "5.3.4", "Message size exceeds fixed limit"),
    "spam": ("data", 550, "5.7.1", "Message rejected as spam by Content Filtering"),
    "disabled": ("rcpt", 550, "5.2.1", "The email account that you tried to reach is disabled."),
}
WORDS = sorted(BEHAVIOURS, key=len, reverse=True)
WORD_RE = re.compile(r"^(%s)(?:[0-9._+\-].*)?$" % "|".join(WORDS), re.I)
REPLY_RE = re.compile(r"^(?:(rcpt|data):)?\s*([2-5]\d\d)(?:\s+([2-5]\.\d{1,3}\.\d{1,3}))?\s*(.*)$", re.I)


def utcnow() -> str:
    now = _dt.datetime.now(_dt.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (now.microsecond // 1000)


def behaviour_for(local: str) -> str:
    m = WORD_RE.match(local)
    return m.group(1).lower() if m else "ok"


class State:
    """Shared state: counters, greylist, rules, record file."""

    def __init__(self, record_path: str, rules: dict, grey_attempts: int, verbose: bool):
        self.lock = threading.Lock()
        self.record = open(record_path, "a", encoding="utf-8")
        self.rules = {k.lower(): v for k, v in rules.items() if not k.startswith("_")}
        self.grey_attempts = grey_attempts
        self.attempts: dict[tuple[str, str], int] = {}
        self.rule_pos: dict[str, int] = {}
        self.sessions = itertools.count(1)
        self.queue_ids = itertools.count(1)
        self.verbose = verbose

    def write(self, obj: dict) -> None:
        line = json.dumps(obj, sort_keys=False)
        with self.lock:
            self.record.write(line + "\n")
            self.record.flush()
        if self.verbose:
            print(line, file=sys.stderr, flush=True)

    def decide(self, sender: str, rcpt: str) -> tuple[int, dict]:
        """Return (attempt, answer) for one RCPT; answer has stage/code/dsn/text/behaviour."""
        s, r = sender.lower(), rcpt.lower()
        local, _, domain = r.rpartition("@")
        if not _:
            local, domain = r, ""
        with self.lock:
            attempt = self.attempts.get((s, r), 0) + 1
            self.attempts[(s, r)] = attempt
            key = None
            for k in (f"{s} {r}", r):
                if k in self.rules:
                    key = k
                    break
            if key is not None:
                answers = self.rules[key]
                pos = self.rule_pos.get(key, 0)
                self.rule_pos[key] = pos + 1
                spec = answers[min(pos, len(answers) - 1)]
                beh = None
            else:
                beh = behaviour_for(local)
                spec = beh
                if beh == "grey":
                    spec = "grey" if attempt <= self.grey_attempts else "ok"
        ans = self.render(spec, rcpt, domain)
        ans["behaviour"] = beh if beh is not None else "rule:" + key
        return attempt, ans

    @staticmethod
    def render(spec: str, addr: str, domain: str) -> dict:
        word = spec.strip().lower()
        if word in BEHAVIOURS:
            stage, code, dsn, text = BEHAVIOURS[word]
            return {"stage": stage, "code": code, "dsn": dsn,
                    "text": text.format(addr=addr, domain=domain or "localhost")}
        m = REPLY_RE.match(spec.strip())
        if not m:
            raise ValueError(f"bad answer in rules: {spec!r}")
        stage = (m.group(1) or "rcpt").lower()
        return {"stage": stage, "code": int(m.group(2)), "dsn": m.group(3),
                "text": m.group(4).format(addr=addr, domain=domain or "localhost")}


STATE: State | None = None


def parse_path(arg: str) -> str | None:
    """Extract the address from 'FROM:<a@b> SIZE=1' / 'TO:<a@b>'."""
    m = re.search(r"<([^>]*)>", arg)
    if m:
        return m.group(1)
    m = re.match(r"\s*(\S+)", arg.split(":", 1)[-1])
    return m.group(1) if m else None


class Handler(socketserver.StreamRequestHandler):
    timeout = 300

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode("utf-8", "replace") + b"\r\n")
        self.wfile.flush()

    def reset(self) -> None:
        self.sender = None
        self.accepted: list[tuple[str, int, dict]] = []  # (rcpt, attempt, answer)

    def handle(self) -> None:
        st = STATE
        self.session = next(st.sessions)
        self.client = self.client_address[0]
        self.reset()
        self.reply(f"220 {HOSTNAME} ESMTP emaillog scripted sink")
        while True:
            try:
                raw = self.rfile.readline(8192)
            except OSError:
                return
            if not raw:
                return
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reset()
                self.reply(f"250-{HOSTNAME}")
                self.reply("250-PIPELINING")
                self.reply("250-SIZE 52428800")
                self.reply("250-8BITMIME")
                self.reply("250 ENHANCEDSTATUSCODES")
            elif verb == "HELO":
                self.reset()
                self.reply(f"250 {HOSTNAME}")
            elif verb == "MAIL":
                if self.sender is not None:
                    self.reply("503 5.5.1 Error: nested MAIL command")
                    continue
                addr = parse_path(arg)
                if addr is None:
                    self.reply("501 5.5.4 Syntax: MAIL FROM:<address>")
                    continue
                self.sender = addr
                self.accepted = []
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                if self.sender is None:
                    self.reply("503 5.5.1 Error: need MAIL command")
                    continue
                rcpt = parse_path(arg)
                if not rcpt:
                    self.reply("501 5.5.4 Syntax: RCPT TO:<address>")
                    continue
                attempt, ans = st.decide(self.sender, rcpt)
                if ans["stage"] == "data":
                    rc = dict(ans, stage="rcpt", code=250, dsn="2.1.5", text="Ok")
                else:
                    rc = ans
                st.write({"ts": utcnow(), "recipient": rcpt, "stage": "rcpt",
                          "code": rc["code"], "dsn": rc["dsn"], "text": rc["text"],
                          "message_id": None, "attempt": attempt, "sender": self.sender,
                          "behaviour": ans["behaviour"], "session": self.session,
                          "client": self.client})
                self.reply(" ".join(str(x) for x in (rc["code"], rc["dsn"], rc["text"]) if x))
                if 200 <= rc["code"] < 300:
                    self.accepted.append((rcpt, attempt, ans))
            elif verb == "DATA":
                if self.sender is None:
                    self.reply("503 5.5.1 Error: need RCPT command")
                    continue
                if not self.accepted:
                    self.reply("554 5.5.1 Error: no valid recipients")
                    continue
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                msgid, size = self.read_data()
                if msgid is False:
                    return
                fail = next((a for _, _, a in self.accepted if a["stage"] == "data"), None)
                if fail is not None:
                    code, dsn, text = fail["code"], fail["dsn"], fail["text"]
                else:
                    code, dsn = 250, "2.0.0"
                    text = "Ok: queued as S%06d" % next(st.queue_ids)
                for rcpt, attempt, ans in self.accepted:
                    st.write({"ts": utcnow(), "recipient": rcpt, "stage": "data",
                              "code": code, "dsn": dsn, "text": text,
                              "message_id": msgid, "attempt": attempt, "sender": self.sender,
                              "behaviour": ans["behaviour"], "session": self.session,
                              "client": self.client, "size": size})
                self.reply(" ".join(str(x) for x in (code, dsn, text) if x))
                self.reset()
            elif verb == "RSET":
                self.reset()
                self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            elif verb == "VRFY":
                self.reply("502 5.5.1 VRFY command is disabled")
            else:
                self.reply("502 5.5.2 Error: command not recognized")

    def read_data(self):
        """Read the message up to the lone dot; return (message_id, size) or (False, 0)."""
        msgid = None
        size = 0
        in_headers = True
        last_hdr = None
        while True:
            try:
                raw = self.rfile.readline(1 << 20)
            except OSError:
                return False, 0
            if not raw:
                return False, 0
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b".."):
                raw = raw[1:]
            size += len(raw)
            if in_headers:
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                if text == "":
                    in_headers = False
                elif text[:1] in (" ", "\t") and last_hdr == "message-id" and msgid == "":
                    msgid = text.strip()
                else:
                    name, _, value = text.partition(":")
                    last_hdr = name.strip().lower()
                    if last_hdr == "message-id" and msgid is None:
                        msgid = value.strip()
        return (msgid or None), size


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main(argv=None) -> int:
    global STATE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2525)
    ap.add_argument("--record", required=True, help="JSON-lines file to append answers to")
    ap.add_argument("--rules", help="JSON file: address -> list of answers")
    ap.add_argument("--grey-attempts", type=int, default=1,
                    help="RCPT attempts greylisted per (sender, recipient) before passing")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args(argv)
    rules = {}
    if a.rules:
        with open(a.rules, encoding="utf-8") as fh:
            rules = json.load(fh)
        for k, v in rules.items():
            if not k.startswith("_"):
                if not isinstance(v, list) or not v:
                    raise SystemExit(f"rules: {k}: value must be a non-empty list")
                for spec in v:
                    State.render(spec, "x@y", "y")  # validate
    STATE = State(a.record, rules, a.grey_attempts, a.verbose)
    with Server((a.host, a.port), Handler) as srv:
        print(f"smtp_sink listening on {a.host}:{a.port}", file=sys.stderr, flush=True)
        try:
            srv.serve_forever()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
