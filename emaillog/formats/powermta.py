"""PowerMTA accounting files (CSV, `<acct-file>`), columns named by the header.

The first line names the columns (`type,timeLogged,timeQueued,orig,rcpt,...`,
chosen by `record-fields`); one record per line after it. Record types:

  d   delivered                          t   transient failure (deferred)
  b   bounce (PowerMTA gave up: 5xx now, or `message-expired` after retries)
  rb  remote bounce (an out-of-band DSN PowerMTA's bounce processor read)
  f   feedback loop report (an ARF complaint)  ->  `complained`
  r   receipt (the message was accepted for sending): nothing to record

`jobId` is the campaign (unless a campaign header is logged as a
`header_X-Campaign-ID` column). `bounceCat` is PowerMTA's own judgement: it is
passed on only as a hint, used when our classifier finds nothing in
`dsnDiag`/`dsnStatus` (SPEC 2a decides from the text and codes).

Records carry no queue id: a message is known by its logged Message-ID
header, else its DSN ENVID, else (sender, time queued, job). The time a
message was queued starts its correlation state, so a record read days later
(a remote bounce) joins the same send.
"""

from __future__ import annotations

import csv
import re

from ..events import COMPLAINED, Attempt, Event, MessageSeen, Reject, Skip, message_id_of, orig_or_alias, person_of
from .context import ParseContext

NAME = "powermta"
DESCRIPTION = "PowerMTA accounting CSV (d/b/t/rb/f records, header-driven columns)"

# PowerMTA's shipped record-fields, for a file read from the middle (a later
# run resumes after the header): used only when the column count matches.
DEFAULT_FIELDS = (
    "type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,"
    "srcType,srcMta,dlvType,dlvSourceIp,dlvDestinationIp,dlvEsmtpAvailable,dlvSize,vmta,jobId,"
    "envId,queue,vmtaPool"
).split(",")

# Each pattern with a line it must match (tests walk them).
PATTERNS = {
    "header": (
        re.compile(r"type,.*\brcpt\b"),
        "type,timeLogged,timeQueued,orig,rcpt,orcpt,dsnAction,dsnStatus,dsnDiag,dsnMta,bounceCat,jobId",
    ),
    "record": (
        re.compile(r"(?:d|b|t|f|rb|r),\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"),
        "d,2026-11-28 17:47:06+0000,2026-11-28 17:47:05+0000,bounces@news.example.net,ann@example.net",
    ),
    "dsn": (
        re.compile(r"(?P<dsn>[245]\.\d{1,3}\.\d{1,3})"),
        "5.1.1 (bad destination mailbox address)",
    ),
}
_HEADER, _RECORD, _DSN = (p for p, _ in PATTERNS.values())
_NAME = re.compile(r"[A-Za-z][\w-]*")

OUTCOMES = {"d": "delivered", "t": "deferred", "b": "bounced", "rb": "bounced"}
# PowerMTA's bounce categories (User's Guide, "bounce-category-patterns").
HINTS = {
    "bad-mailbox": "hard", "bad-domain": "hard", "inactive-mailbox": "hard", "invalid-sender": "hard",
    "no-answer-from-host": "soft", "quota-issues": "soft", "routing-errors": "soft",
    "bad-connection": "soft", "message-expired": "soft", "other": None, "policy-related": None,
    "spam-related": None, "virus-related": None, "content-related": None, "protocol-errors": None,
    "relaying-issues": None, "bad-configuration": None,
}
# ARF Feedback-Type values that are a person's complaint (RFC 5965 §7.3).
COMPLAINTS = {"abuse", "fraud", "virus", "other", ""}

SAMPLES = [
    "b,2026-11-28 17:47:07+0000,2026-11-28 17:47:05+0000,bounces+spring@news.example.net,unknown1@example.org,,"
    "failed,5.1.1 (bad destination mailbox address),\"smtp;550 5.1.1 <unknown1@example.org>: Recipient address "
    "rejected: User unknown in virtual mailbox table\",mx.example.org (192.0.2.25),bad-mailbox,spring",
    PATTERNS["header"][1],
]


def is_header(cells: list[str]) -> bool:
    """The column-name line: names only, among them `type` and `rcpt`."""
    names = {c.strip() for c in cells}
    return {"type", "rcpt"} <= names and all(_NAME.fullmatch(c.strip()) for c in cells)


def sniff(line: str) -> bool:
    return bool(_HEADER.match(line) or _RECORD.match(line))


class Parser:
    """One accounting file's records to facts; keeps the header it saw."""

    def __init__(self, ctx: ParseContext):
        self.ctx = ctx
        self.columns: list[str] | None = None

    def prime(self, head: list[str]) -> None:
        """Take the column names from the file's first lines (for a run that
        resumes after the header)."""
        for line in head[:1]:
            cells = next(csv.reader([line.rstrip("\r\n")]), [])
            if is_header(cells):
                self.columns = [c.strip() for c in cells]

    def parse(self, line: str, source: str) -> list:
        if not line.strip():
            return []
        try:
            cells = next(csv.reader([line]))
        except (csv.Error, StopIteration):
            return [Reject("not a CSV line")]
        if is_header(cells):
            self.columns = [c.strip() for c in cells]
            return [Skip("CSV header")]
        columns = self.columns
        if columns is None:
            if len(cells) != len(DEFAULT_FIELDS):
                return [Reject("record before any CSV header line (cannot name its columns)")]
            columns = DEFAULT_FIELDS
        if len(cells) > len(columns):
            return [Reject(f"record has {len(cells)} fields, the header names {len(columns)}")]
        rec = dict(zip(columns, cells))
        kind = rec.get("type", "")
        if kind == "f":
            return self._feedback(rec, source)
        outcome = OUTCOMES.get(kind)
        if outcome is None:
            return [Skip(f"{kind!r} record")]
        return self._delivery(rec, outcome, source)

    # -- helpers -------------------------------------------------------------
    def _time(self, rec: dict, *names: str):
        for name in names:
            value = (rec.get(name) or "").strip()
            if value:
                return self.ctx.clock.iso(value)
        return None

    def _campaign(self, rec: dict) -> str | None:
        for name, value in rec.items():
            if name.lower().startswith("header_") and name[7:].lower() in self.ctx.config.campaign_header_set:
                if value.strip():
                    return value.strip()
        return (rec.get("jobId") or "").strip() or None

    def _header(self, rec: dict, names) -> str | None:
        for name, value in rec.items():
            if name.lower().startswith("header_") and name[7:].lower() in names and value.strip():
                return value.strip()
        return None

    def _delivery(self, rec: dict, outcome: str, source: str) -> list:
        rcpt = (rec.get("rcpt") or "").strip()
        ts = self._time(rec, "timeLogged", "timeQueued")
        if not rcpt or ts is None:
            return [Reject("record without rcpt and a time")]
        queued = self._time(rec, "timeQueued") or ts
        sender = (rec.get("orig") or "").strip()
        message_id = message_id_of(self._header(rec, {"message-id"}))
        campaign = self._campaign(rec)
        ident = message_id or (rec.get("envId") or "").strip() or \
            f"{sender}|{(rec.get('timeQueued') or '').strip()}|{(rec.get('jobId') or '').strip()}"
        key = f"powermta/{(rec.get('vmta') or '').strip()}/{ident}"
        status = (rec.get("dsnStatus") or "").strip()
        m = _DSN.match(status)
        category = (rec.get("bounceCat") or "").strip()
        if outcome == "bounced" and category == "message-expired":
            outcome = "expired"
        orcpt = (rec.get("orcpt") or "").strip()
        if ";" in orcpt:  # RFC 3461 ORCPT: `rfc822;addr`
            orcpt = orcpt.split(";", 1)[1]
        orcpt, alias = orig_or_alias(orcpt)
        return [
            MessageSeen(key, queued, NAME, unique_key=True, message_id=message_id, sender=sender or None, campaign=campaign,
                        email=self._header(rec, self.ctx.config.email_header_set), is_notice=sender in ("", "<>")),
            Attempt(key, ts, NAME, recipient=rcpt, outcome=outcome, orig_recipient=orcpt, alias=alias,
                    dsn=m.group("dsn") if m else None,
                    detail=(rec.get("dsnDiag") or "").strip() or status or None,
                    relay=(rec.get("dsnMta") or "").strip() or None, hint=HINTS.get(category),
                    source=source, message_id=message_id, sender=sender or None, campaign=campaign),
        ]

    def _feedback(self, rec: dict, source: str) -> list:
        person = person_of(rec.get("rcpt"))
        ts = self._time(rec, "timeLogged", "timeQueued")
        if not person or ts is None:
            return [Reject("feedback record without rcpt and a time")]
        kind = (rec.get("feedbackType") or "").strip().lower()
        if kind not in COMPLAINTS:
            return [Skip(f"feedback report of type {kind!r}")]
        campaign = self._campaign(rec)
        stamp = (rec.get("timeLogged") or rec.get("timeQueued")).strip()
        return [Event(ts=ts, type=COMPLAINED, person=person,
                      key=f"complained|{person}|{campaign or ''}|{stamp}", campaign=campaign,
                      message_id=message_id_of(self._header(rec, {"message-id"})), source_format=NAME,
                      host=(rec.get("reportingMta") or "").strip() or None,
                      detail=f"feedback loop report ({kind or 'abuse'})"
                             + (f" from {rec['userAgent'].strip()}" if (rec.get("userAgent") or "").strip() else ""),
                      source=source)]
