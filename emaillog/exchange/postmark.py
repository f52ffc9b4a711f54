"""Postmark: the suppression list of a message stream.

Postmark has no file import. Written: the JSON bodies of its API's bulk
"create suppressions" request (POST /message-streams/{stream}/suppressions),
which stores each address as a ManualSuppression of origin Customer. Read:
those bodies, and the suppression dump (GET .../suppressions/dump).
A message stream (transactional, broadcast) is not a campaign: what a
stream suppresses is read as suppressed for every campaign.
"""

from __future__ import annotations

import json

from .reading import Collector, unread
from .source import Source
from .writing import Row, chunked, unique

NAME = "postmark"
TITLE = "Postmark"

# Create: {"Suppressions": [{"EmailAddress": "..."}]}; created entries get
# Origin Customer and reason ManualSuppression (the official clients say so,
# e.g. ActiveCampaign/postmark-php src/Postmark/PostmarkClient.php
# createSuppressions). Dump: {"Suppressions": [{"EmailAddress",
# "SuppressionReason": HardBounce | SpamComplaint | ManualSuppression,
# "Origin": Recipient | Customer | Admin, "CreatedAt"}]}.
# https://postmarkapp.com/developer/api/suppressions-api
LAYOUTS = ("json",)
KEY = "Suppressions"
PER_REQUEST = 50  # Postmark's per-request cap as we remember the API page; not verified here

# Our reason -> what Postmark will store (for every campaign, for one campaign).
EXPORT = {
    "hard_bounce": ("ManualSuppression", None),
    "complained": ("ManualSuppression", None),
    "unsubscribed": ("ManualSuppression", None),
    "manual": ("ManualSuppression", None),
    "spam_block": (None, None),
}
# (SuppressionReason, Origin) -> ours; Origin None = any. A ManualSuppression
# by the Recipient is their unsubscribe; by us (Customer) or Postmark (Admin)
# it is a decision: manual. No reason = our own create body (ManualSuppression, Customer).
IMPORT = {
    ("HardBounce", None): "hard_bounce",
    ("SpamComplaint", None): "complained",
    ("ManualSuppression", "Recipient"): "unsubscribed",
    ("ManualSuppression", None): "manual",
}


def write(rows: list[Row], layout: str) -> dict[str, str]:
    rows = unique(rows, lambda row: row.entry.address)
    return {f"postmark-suppressions{suffix}.json":
            json.dumps({KEY: [{"EmailAddress": row.entry.address} for row in part]}, indent=2) + "\n"
            for suffix, part in chunked(rows, PER_REQUEST)}


def sniff(source: Source) -> bool:
    doc = source.document
    return isinstance(doc, dict) and isinstance(doc.get(KEY), list)


def read(source: Source, collect: Collector) -> None:
    if not sniff(source):
        unread(source, collect, f"not read: the file is not a Postmark JSON document with {KEY}")
        return
    for line, item in source.array_items(KEY):
        if not isinstance(item, dict):
            collect.problem(line, "it is not a JSON object with an EmailAddress")
            continue
        word = item.get("SuppressionReason") or "ManualSuppression"
        origin = item.get("Origin") or "Customer"
        reason = IMPORT.get((word, origin)) or IMPORT.get((word, None))
        if reason is None:
            collect.problem(line, f"the SuppressionReason {word!r} is none of {', '.join(sorted({w for w, _ in IMPORT}))}")
            continue
        collect.add(line, item.get("EmailAddress"), reason, since=item.get("CreatedAt"),
                    detail=f"Postmark {word} ({origin})")
