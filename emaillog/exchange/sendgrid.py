"""SendGrid (Twilio SendGrid): suppression lists.

SendGrid keeps bounces, blocks, spam reports, invalid emails, global and
group unsubscribes. Its API can only *add* to the global and group
unsubscribes (the bounce, block, spam-report and invalid-email lists take
GET and DELETE only), and its UI takes a file only for an unsubscribe group.
So everything we suppress for every campaign goes to the global
unsubscribes, which SendGrid never sends to.

Written: the JSON body of POST /v3/asm/suppressions/global (default), or a
CSV of addresses for an unsubscribe group's "Upload CSV". Read: those, and
the lists as the API returns them (or as CSV with the same field names).
"""

from __future__ import annotations

import json

from .reading import Collector, table, unread
from .source import Source
from .writing import Row, csv_text, unique

NAME = "sendgrid"
TITLE = "SendGrid"

# POST /v3/asm/suppressions/global {"recipient_emails": [...]}; GET/DELETE
# only on /v3/suppression/{bounces,blocks,spam_reports,invalid_emails}:
# sendgrid/sendgrid-oai oai.json (paths /asm/suppressions/global,
# /suppression/*); https://www.twilio.com/docs/sendgrid/api-reference/suppressions-global-suppressions/add-recipient-addresses-to-the-global-suppression-group
# Group upload: "a list of email addresses in the first column. It can
# include a header row or extra columns": sendgrid/docs
# content/docs/ui/sending-email/unsubscribe-groups.md ("Upload a CSV").
LAYOUTS = ("global", "csv")
BODY_KEY = "recipient_emails"

# Our reason -> SendGrid list (for every campaign, for one campaign).
EXPORT = {
    "hard_bounce": ("global_unsubscribes", None),
    "complained": ("global_unsubscribes", None),
    "unsubscribed": ("global_unsubscribes", None),
    "manual": ("global_unsubscribes", None),
    "spam_block": (None, None),
}
# A listed record's list, told by the one field only that list has (the
# example responses in sendgrid-oai: bounces and blocks {created, email,
# reason, status}, spam_reports {created, email, ip}, invalid_emails
# {created, email, reason}, unsubscribes {created, email}); first match wins.
LISTS = (
    ("ip", "spam report", "complained"),
    ("status", "bounce", "hard_bounce"),
    ("reason", "invalid email", "hard_bounce"),
    (None, "global unsubscribe", "unsubscribed"),
)
CREATED = ("created", "created_at")  # the API's name; the second for CSV downloads (not documented)


def write(rows: list[Row], layout: str) -> dict[str, str]:
    addresses = [row.entry.address for row in unique(rows, lambda row: row.entry.address)]
    if layout == "csv":
        return {"sendgrid-unsubscribe-group.csv": csv_text(["email"], ([a] for a in addresses))}
    return {"sendgrid-global-unsubscribes.json": json.dumps({BODY_KEY: addresses}, indent=2) + "\n"}


def sniff(source: Source) -> bool:
    doc = source.document
    if isinstance(doc, dict):
        return isinstance(doc.get(BODY_KEY), list)
    if isinstance(doc, list):
        return bool(doc) and isinstance(doc[0], dict) and "email" in doc[0]
    return not source.first_line.startswith(("{", "[")) and "email" in source.header


def read(source: Source, collect: Collector) -> None:
    doc = source.document
    if isinstance(doc, dict) and isinstance(doc.get(BODY_KEY), list):
        for line, item in source.array_items(BODY_KEY):
            collect.add(line, item, "unsubscribed", detail="SendGrid global unsubscribe")
    elif isinstance(doc, list):
        for line, item in source.array_items():
            if isinstance(item, dict):
                _one(collect, line, item)
            else:
                collect.problem(line, "it is not a JSON object with an email")
    elif "email" in source.header:
        for line, row in table(source, collect):
            _one(collect, line, {k: v for k, v in row.items() if v != ""})
    else:
        unread(source, collect, "not read: the file is neither SendGrid's JSON nor a CSV with an email column")


def _one(collect: Collector, line: int, item: dict) -> None:
    _, name, reason = next(entry for entry in LISTS if entry[0] is None or entry[0] in item)
    status = str(item.get("status") or "")
    if status.startswith("4"):
        collect.problem(line, f"status {status} is a temporary failure: SendGrid lists it as a block "
                              "and does not suppress the address")
        return
    words = "; ".join(str(item[k]) for k in ("reason", "status", "ip") if item.get(k))
    since = next((item[k] for k in CREATED if item.get(k) not in (None, "")), None)
    collect.add(line, item.get("email"), reason, since=since,
                detail=f"SendGrid {name}" + (f": {words}" if words else ""))
