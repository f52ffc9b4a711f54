"""A large, realistic Postfix log with known truth, for benchmarks and the
crash/concurrency tests.

Line shapes are those of the genuine capture in tests/logs/postfix/ (Postfix
3.7 writing via maillog_file); ids, addresses and times are fresh, outcomes
follow a realistic mix, and messages interleave like a busy server's. The
truth (events by type that the SPEC's rules give) is returned and printed.

    python benchmarks/generate_postfix.py OUT.log --messages 200000 [--seed 1] [--host mx1]
"""

from __future__ import annotations

import argparse
import heapq
import json
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

HOST = "mx1"
CAMPAIGNS = ["spring", "autumn", "welcome", "winter-sale", "digest"]
DOMAINS = ["example.com", "example.net", "example.org", "mail.example.co.uk"]

# (weight, kind): what the receiving server does with one recipient.
MIX = [
    (86, "ok"), (4, "unknown"), (2, "block"), (1, "spam"), (2, "full"),
    (3, "grey"), (1, "defer"), (1, "disabled"),
]
REPLIES = {
    "unknown": ("5.1.1", "550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table",
                "RCPT TO"),
    "block": ("5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org; "
              "https://www.spamhaus.org/query/ip/192.0.2.10", "RCPT TO"),
    "spam": ("5.7.1", "550 5.7.1 Message rejected as spam by Content Filtering", "end of DATA"),
    "full": ("5.2.2", "552 5.2.2 <{rcpt}>: Recipient address rejected: Mailbox full", "RCPT TO"),
    "disabled": ("5.2.1", "550 5.2.1 The email account that you tried to reach is disabled.", "RCPT TO"),
    "grey": ("4.7.1", "450 4.7.1 <{rcpt}>: Recipient address rejected: Greylisted, see "
             "http://postgrey.schweikert.ch/help/{domain}.html", "RCPT TO"),
    "defer": ("4.3.0", "451 4.3.0 Temporary local problem - please try later", "RCPT TO"),
}
HARD = {"unknown", "block", "spam", "disabled"}


def _stamp(t: datetime) -> str:
    return t.strftime("%b %e %H:%M:%S")


def _qid(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789ABCDEF") for _ in range(11))


def generate(path: str, messages: int, seed: int = 1, start: datetime | None = None, host: str = HOST) -> dict:
    """Write the log of the server `host`; return the truth: events by type,
    lines, messages."""
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 20, 6, 0, tzinfo=timezone.utc)
    kinds, weights = zip(*((k, w) for w, k in MIX))
    truth: Counter = Counter()
    heap: list = []  # (time, seq, line)
    seq = 0

    def emit(t, prog, pid, text):
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, f"{_stamp(t)} {host} postfix/{prog}[{pid}]: {text}\n"))

    lines = 0
    with open(path, "w") as out:
        for n in range(messages):
            t = start + timedelta(seconds=n * 0.05 + rng.random() * 0.02)
            qid = _qid(rng)
            campaign = rng.choice(CAMPAIGNS)
            sender = f"bounces+{campaign}@news.example.net"
            mid = f"<{campaign}.{n:07d}.{rng.getrandbits(32):08x}@news.example.net>"
            rcpts = [f"user{rng.randrange(2_000_000)}@{rng.choice(DOMAINS)}" for _ in range(rng.choice((1, 1, 1, 2, 3)))]
            rcpts = list(dict.fromkeys(rcpts))
            spid, cpid, qpid = 2000 + n % 50, 3000 + n % 40, 1999
            emit(t, "smtpd", spid, "connect from app1.news.example.net[192.0.2.20]")
            emit(t, "smtpd", spid, f"{qid}: client=app1.news.example.net[192.0.2.20]")
            emit(t, "cleanup", cpid, f"{qid}: message-id={mid}")
            emit(t, "cleanup", cpid, f"{qid}: info: header X-Campaign-ID: {campaign} from "
                 f"app1.news.example.net[192.0.2.20]; from=<{sender}> to=<{rcpts[0]}> proto=ESMTP "
                 f"helo=<app1.news.example.net>")
            emit(t, "smtpd", spid, "disconnect from app1.news.example.net[192.0.2.20] ehlo=1 mail=1 "
                 f"rcpt={len(rcpts)} data=1 quit=1 commands={4 + len(rcpts)}")
            emit(t, "qmgr", qpid, f"{qid}: from=<{sender}>, size={rng.randrange(2000, 90000)}, nrcpt={len(rcpts)} (queue active)")
            last = t
            bounced = False
            expired = False
            for rcpt in rcpts:
                kind = rng.choices(kinds, weights)[0]
                domain = rcpt.split("@")[1]
                truth["sent"] += 1
                at = t + timedelta(seconds=0.1 + rng.random())
                pid = 4000 + rng.randrange(100)
                tries = {"grey": rng.choice((1, 2)), "defer": 4}.get(kind, 0)
                for i in range(tries):
                    dsn, reply, stage = REPLIES[kind]
                    emit(at, "smtp", pid, f"{qid}: to=<{rcpt}>, relay=mx.{domain}[198.51.100.7]:25, delay=0.4, "
                         f"delays=0.01/0/0.2/0.2, dsn={dsn}, status=deferred (host mx.{domain}[198.51.100.7] said: "
                         f"{reply.format(rcpt=rcpt, domain=domain)} (in reply to {stage} command))")
                    at += timedelta(minutes=2 * (i + 1))
                if tries:
                    truth["soft_bounced"] += 1
                    truth["soft_attempts"] += tries
                if kind == "defer":
                    expired = True
                elif kind in ("ok", "grey"):
                    truth["delivered"] += 1
                    emit(at, "smtp", pid, f"{qid}: to=<{rcpt}>, relay=mx.{domain}[198.51.100.7]:25, delay=0.3, "
                         f"delays=0.01/0/0.1/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {_qid(rng)})")
                else:
                    dsn, reply, stage = REPLIES[kind]
                    truth["hard_bounced" if kind in HARD else "soft_bounced"] += 1
                    bounced = True
                    emit(at, "smtp", pid, f"{qid}: to=<{rcpt}>, relay=mx.{domain}[198.51.100.7]:25, delay=0.3, "
                         f"delays=0.01/0/0.1/0.2, dsn={dsn}, status=bounced (host mx.{domain}[198.51.100.7] said: "
                         f"{reply.format(rcpt=rcpt, domain=domain)} (in reply to {stage} command))")
                last = max(last, at)
            if expired:
                last += timedelta(minutes=10)
                emit(last, "qmgr", qpid, f"{qid}: from=<{sender}>, status=expired, returned to sender")
            if bounced or expired:
                ndn = _qid(rng)
                emit(last, "cleanup", cpid, f"{ndn}: message-id=<{last:%Y%m%d%H%M%S}.{ndn}@{host}.news.example.net>")
                emit(last, "qmgr", qpid, f"{ndn}: from=<>, size=3120, nrcpt=1 (queue active)")
                emit(last, "bounce", 5000, f"{qid}: sender non-delivery notification: {ndn}")
                emit(last, "local", 5001, f"{ndn}: to=<{sender}>, relay=local, delay=0.01, delays=0/0/0/0, "
                     "dsn=2.0.0, status=sent (delivered to mailbox)")
                emit(last, "qmgr", qpid, f"{ndn}: removed")
            emit(last, "qmgr", qpid, f"{qid}: removed")
            # Write out everything older than anything still to come.
            horizon = t - timedelta(minutes=40)
            while heap and heap[0][0] < horizon:
                out.write(heapq.heappop(heap)[2])
                lines += 1
        while heap:
            out.write(heapq.heappop(heap)[2])
            lines += 1
    truth["lines"] = lines
    truth["messages"] = messages
    return dict(truth)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--host", default=HOST, help="the server's name in each line [default: %(default)s]")
    args = ap.parse_args()
    print(json.dumps(generate(args.out, args.messages, args.seed, host=args.host), indent=2))


if __name__ == "__main__":
    main()
