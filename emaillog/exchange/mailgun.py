"""Mailgun: the bounce, unsubscribe and complaint lists of a sending domain.

Written: one CSV per list for its import endpoint. Read: those CSVs, and a
page of the API's list (`{"items": [...]}`). Mailgun's unsubscribes carry a
tag ("*" = all of the domain's mail); Mailgun tags are where emaillog reads a
campaign from (emaillog/formats/mailgun.py), so a one-campaign manual
suppression becomes an unsubscribe from that tag.
"""

from __future__ import annotations

from .reading import Collector, table, unread
from .records import ALL_CAMPAIGNS
from .source import Source
from .times import rfc2822
from .writing import Row, csv_text, unique

NAME = "mailgun"
TITLE = "Mailgun"

# POST /v3/{domain}/bounces/import "must contain the following column
# headers: address, code, error, created_at" (code default 550, created_at
# RFC 2822); /unsubscribes/import "address, tags, created_at" (tags "*" = all
# the domain's mail); /complaints/import "address, created_at"; each file at
# most 25 MB.
# https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/bounces/post-v3--domainid--bounces-import
# https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/unsubscribe/post-v3--domainid--unsubscribes-import
# https://documentation.mailgun.com/docs/mailgun/api-reference/send/mailgun/complaints.md ("Import complaint list")
# The lists (GET /v3/{domain}/bounces, ...) page their records under "items"
# (same pages, "List all ...").
LAYOUTS = ("csv",)
COLUMNS = {
    "bounces": ["address", "code", "error", "created_at"],
    "unsubscribes": ["address", "tags", "created_at"],
    "complaints": ["address", "created_at"],
}
DEFAULT_CODE = "550"  # Mailgun's own default for an imported bounce

# Our reason -> Mailgun list (for every campaign, for one campaign = its tag).
EXPORT = {
    "hard_bounce": ("bounces", None),
    "complained": ("complaints", None),
    "unsubscribed": ("unsubscribes", "unsubscribes"),
    "manual": ("unsubscribes", "unsubscribes"),
    "spam_block": (None, None),
}
# A record's list, told by the columns (or keys) only it has; first match wins.
LISTS = (
    ({"code", "error"}, "bounces", "hard_bounce"),
    ({"tags"}, "unsubscribes", "unsubscribed"),
    (set(), "complaints", "complained"),
)


def write(rows: list[Row], layout: str) -> dict[str, str]:
    everywhere = {(row.target, row.entry.address) for row in rows if row.entry.scope is None}
    files = {}
    for name, columns in COLUMNS.items():
        mine = [row for row in rows if row.target == name
                and (row.entry.scope is None or (name, row.entry.address) not in everywhere)]
        mine = unique(mine, lambda row: (row.entry.address, row.entry.scope))
        if mine:
            files[f"mailgun-{name}.csv"] = csv_text(columns, (_cells(name, row) for row in mine))
    return files


def _cells(name: str, row: Row) -> list[str]:
    entry = row.entry
    # One line: a bounce's error text is one field, and an importer need not take quoted newlines.
    error = " ".join((entry.detail or "").split()) or f"emaillog {entry.reason}"
    cells = {"address": entry.address, "code": DEFAULT_CODE, "error": error,
             "tags": entry.scope or ALL_CAMPAIGNS, "created_at": rfc2822(entry.since)}
    return [cells[column] for column in COLUMNS[name]]


def sniff(source: Source) -> bool:
    doc = source.document
    if isinstance(doc, dict):
        items = doc.get("items")
        return isinstance(items, list) and (not items or (isinstance(items[0], dict) and "address" in items[0]))
    return not source.first_line.startswith(("{", "[")) and "address" in source.header


def read(source: Source, collect: Collector) -> None:
    doc = source.document
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        for line, item in source.array_items("items"):
            if isinstance(item, dict):
                _one(collect, line, item)
            else:
                collect.problem(line, "it is not a JSON object with an address")
    elif "address" in source.header:
        for line, row in table(source, collect):
            _one(collect, line, row)
    else:
        unread(source, collect, "not read: the file is neither a Mailgun list page nor a CSV with an address column")


def _one(collect: Collector, line: int, item: dict) -> None:
    columns, name, reason = next(entry for entry in LISTS if entry[0] & set(item) or not entry[0])
    if name == "bounces":
        words = " ".join(str(item[k]) for k in ("code", "error") if item.get(k) not in (None, ""))
        detail = "Mailgun bounce" + (f": {words}" if words else "")
    else:
        detail = f"Mailgun {name[:-1]}"
    for scope in _scopes(item.get("tags")) if name == "unsubscribes" else [None]:
        collect.add(line, item.get("address"), reason, scope=scope, since=item.get("created_at"),
                    detail=detail + (f" (tag {scope})" if scope else ""))


def _scopes(tags) -> list[str | None]:
    """Campaigns an unsubscribe stops: None = all ("*" or no tag)."""
    tags = [tags] if isinstance(tags, str) else list(tags or [])
    tags = [str(t).strip() for t in tags if str(t).strip()]
    return [None] if not tags or ALL_CAMPAIGNS in tags else tags
