"""Amazon SES: the account-level suppression list.

Written: the bulk-add file for `aws sesv2 create-import-job` (an S3 object,
CSV or newline-delimited JSON). Read: that file, and what
`aws sesv2 list-suppressed-destinations` prints (SES has no file export).
SES knows two reasons, BOUNCE and COMPLAINT.
"""

from __future__ import annotations

import json

from .reading import Collector
from .records import address_of
from .source import Source
from .writing import Row, chunked, csv_text, unique

NAME = "ses"
TITLE = "Amazon SES"

# Bulk add (CreateImportJob, SuppressionListDestination PUT): CSV lines
# "recipient1@example.com,BOUNCE" with no header, or JSON lines
# {"emailAddress":"recipient1@example.com","reason":"BOUNCE"}; "a bulk add
# limit of 100,000 addresses in an Amazon S3 object per API call".
# https://docs.aws.amazon.com/ses/latest/dg/sending-email-suppression-list.html#sending-email-suppression-list-manual-add-bulk
# (awsdocs/amazon-ses-developer-guide, doc-source/sending-email-suppression-list.md)
LAYOUTS = ("csv", "jsonl")
PER_FILE = 100_000
# Listing: {"SuppressedDestinationSummaries": [{"EmailAddress", "Reason",
# "LastUpdateTime"}], "NextToken"}: same page, "Viewing a list of addresses";
# https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SuppressedDestinationSummary.html
LISTING = "SuppressedDestinationSummaries"

# Our reason -> SES reason (for every campaign, for one campaign). SES has no
# word for an unsubscribe or an operator's decision; COMPLAINT is the
# recipient-side one (BOUNCE would call the address invalid). SES stops both
# only when the account suppresses both reasons (PutAccountSuppressionAttributes).
EXPORT = {
    "hard_bounce": ("BOUNCE", None),
    "complained": ("COMPLAINT", None),
    "unsubscribed": ("COMPLAINT", None),
    "manual": ("COMPLAINT", None),
    "spam_block": (None, None),
}
# SES reason -> ours: SES adds BOUNCE on a hard bounce, COMPLAINT on a complaint.
IMPORT = {"BOUNCE": "hard_bounce", "COMPLAINT": "complained"}
CSV_HEADERS = (["emailaddress", "reason"], ["email", "reason"])  # not documented, tolerated


def write(rows: list[Row], layout: str) -> dict[str, str]:
    rows = unique(rows, lambda row: row.entry.address)  # one list: one reason per address
    files = {}
    for suffix, part in chunked(rows, PER_FILE):
        if layout == "jsonl":
            text = "".join(json.dumps({"emailAddress": r.entry.address, "reason": r.target}) + "\n" for r in part)
        else:
            text = csv_text(None, ([r.entry.address, r.target] for r in part))
        files[f"ses-suppression-list{suffix}.{layout}"] = text
    return files


def sniff(source: Source) -> bool:
    doc = source.document
    if isinstance(doc, dict) and LISTING in doc:
        return True
    if source.first_line.startswith("{"):
        try:
            return "emailAddress" in json.loads(source.first_line)
        except ValueError:
            return False
    cells = [cell.strip() for cell in source.csv_rows[0][1]] if source.csv_rows else []
    return len(cells) == 2 and ([c.lower() for c in cells] in CSV_HEADERS
                                or (cells[1].upper() in IMPORT and address_of(cells[0]) is not None))


def read(source: Source, collect: Collector) -> None:
    doc = source.document
    if isinstance(doc, dict) and LISTING in doc:
        for line, item in source.array_items(LISTING):
            if _is_object(collect, line, item):
                _one(collect, line, item.get("EmailAddress"), item.get("Reason"), item.get("LastUpdateTime"))
    elif source.first_line.startswith(("{", "[")):
        for line, item in source.json_lines():
            if isinstance(item, ValueError):
                collect.problem(line, f"it is not JSON ({item})")
            elif _is_object(collect, line, item):
                _one(collect, line, item.get("emailAddress"), item.get("reason"), None)
    else:
        rows = source.csv_rows
        if rows and [c.strip().lower() for c in rows[0][1]] in CSV_HEADERS:
            rows = rows[1:]
        for line, cells in rows:
            if len(cells) == 2:
                _one(collect, line, cells[0], cells[1], None)
            else:
                collect.problem(line, f"it has {len(cells)} field{'' if len(cells) == 1 else 's'}; "
                                      "SES's layout has 2 (address,reason)")


def _is_object(collect: Collector, line: int, item) -> bool:
    if not isinstance(item, dict):
        collect.problem(line, "it is not a JSON object")
    return isinstance(item, dict)


def _one(collect: Collector, line: int, address, reason, since) -> None:
    word = str(reason or "").strip().upper()
    if word not in IMPORT:
        collect.problem(line, f"the reason {reason!r} is not BOUNCE or COMPLAINT")
    else:
        collect.add(line, address, IMPORT[word], since=since, detail=f"SES reason {word}")
