"""Suppression lists exchanged with ESPs: write the file each provider
imports, read what each exports (or our own CSV) back as records.

One module per provider, registered by one line below. A provider module has
NAME, TITLE, LAYOUTS (the first is the default), EXPORT (our reason -> its
list or word, for every campaign and for one campaign; None = cannot),
`write(rows, layout) -> {file name: text}`, `sniff(source) -> bool` and
`read(source, collect)`. Pure: no database, no files, no printing.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from . import mailgun, ours, postmark, sendgrid, ses
from .reading import Collector, unread
from .records import REASONS, Entry, Exported, Problem, ReadResult, Record, Skipped, address_of
from .source import Source
from .writing import Row

PROVIDERS = {
    ses.NAME: ses,
    sendgrid.NAME: sendgrid,
    mailgun.NAME: mailgun,
    postmark.NAME: postmark,
}
READERS = {ours.NAME: ours, **PROVIDERS}  # detection tries them in this order

# When one address has several suppressions and the provider keeps one per
# address, the first of these wins: the strongest statement about the address.
PRECEDENCE = ("hard_bounce", "complained", "unsubscribed", "manual", "spam_block")
SPAM_BLOCK_WHY = ("a spam block holds one campaign back for a day after a receiver refused our own servers; "
                  "{title}'s list has neither campaigns nor end dates, and {title} sends from its own servers")
ONE_CAMPAIGN_WHY = "{title} has no list for one campaign"

__all__ = ["PROVIDERS", "READERS", "REASONS", "Entry", "Exported", "Problem", "ReadResult", "Record",
           "Skipped", "detect", "export_for", "read_export"]


def export_for(provider: str, entries: Iterable[Entry | Mapping], *, layout: str | None = None) -> Exported:
    """The files `provider` imports, for our suppressions `entries` (Entry
    or plain dicts, see Entry.from_mapping); what cannot be expressed there
    is listed in `skipped` with why, never dropped silently."""
    module = _module(provider, PROVIDERS)
    layout = layout or module.LAYOUTS[0]
    if layout not in module.LAYOUTS:
        raise ValueError(f"{provider} has no layout {layout!r}; it has {', '.join(module.LAYOUTS)}")
    entries = [e if isinstance(e, Entry) else Entry.from_mapping(e) for e in entries]
    result = Exported(provider=module.NAME, layout=layout, files={})
    rows = []
    for entry in sorted(entries, key=_order):
        why, row = _place(module, entry)
        if why:
            result.skipped.append(Skipped(entry, why))
            continue
        rows.append(row)
        result.exported.append(entry)
        if entry.until is not None:
            result.outlasting.append(entry)
    result.files = module.write(rows, layout)
    return result


def _order(entry: Entry):
    rank = PRECEDENCE.index(entry.reason) if entry.reason in PRECEDENCE else len(PRECEDENCE)
    return (entry.address.lower(), rank, entry.scope or "", entry.since)


def _place(module, entry: Entry) -> tuple[str | None, Row | None]:
    """(why it cannot go, None) or (None, the row it becomes)."""
    address = address_of(entry.address)
    if address is None:
        return f"{entry.address!r} is not an email address", None
    if entry.reason not in module.EXPORT:
        return f"{entry.reason!r} is not one of our reasons ({', '.join(REASONS)})", None
    target = module.EXPORT[entry.reason][entry.scope is not None]
    if target is None:
        template = SPAM_BLOCK_WHY if entry.reason == "spam_block" else ONE_CAMPAIGN_WHY
        return template.format(title=module.TITLE), None
    return None, Row(target, Entry(address, entry.scope, entry.reason, entry.since, entry.until, entry.detail))


def detect(data: str | bytes | Source) -> str | None:
    """The name of the reader whose layout the file has (its header or first
    record), or None."""
    source = data if isinstance(data, Source) else Source.of(data)
    return next((name for name, module in READERS.items() if module.sniff(source)), None)


def read_export(data: str | bytes, *, from_: str | None = None) -> ReadResult:
    """Suppression records from a provider's (or our own) file, auto-detected
    unless `from_` names the reader; every non-blank data line gives at least
    one record or one problem."""
    source = Source.of(data)
    name = _module(from_, READERS).NAME if from_ else detect(source)
    if name is None:
        collect = Collector(source="unknown")
        unread(source, collect, f"not read: the file looks like none of {', '.join(READERS)}; "
                                "name the provider to read it as that one")
        collect.result.provider = None
        return collect.result
    collect = Collector(source=name)
    READERS[name].read(source, collect)
    return collect.result


def _module(name: str, registry: dict):
    try:
        return registry[name]
    except KeyError:
        raise ValueError(f"unknown provider {name!r}; known: {', '.join(registry)}") from None
