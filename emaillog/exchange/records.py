"""The records suppression exchange speaks: what we export (Entry), what we
read back (Record), and what could not be done (Skipped, Problem).

Nothing here knows a provider; each provider module maps these to its own
file layout with one table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..events import person_of

# Our suppression reasons (SPEC §2, Suppression); the same words as
# emaillog/state.py REASONS, kept here so exchange does not import the state layer.
REASONS = ("hard_bounce", "spam_block", "unsubscribed", "complained", "manual")
ALL_CAMPAIGNS = "*"  # how our CSV writes scope None


def address_of(text: str | None) -> str | None:
    """A person's address, lower case (SPEC §3), or None when `text` is not
    one: a person always has a local part and a domain."""
    address = person_of(text)
    if not address or any(c.isspace() for c in address):
        return None
    local, at, domain = address.rpartition("@")
    return address if at and local and domain else None


@dataclass(frozen=True)
class Entry:
    """One of our suppressions, as export takes it.

    `scope` None = every campaign, else the one campaign it stops;
    `since`/`until` are UTC ISO 8601 (`...Z`); `until` None = until released.
    """

    address: str
    scope: str | None
    reason: str
    since: str
    until: str | None = None
    detail: str | None = None

    @classmethod
    def from_mapping(cls, row: Mapping) -> "Entry":
        """From a plain dict: ours (`address`) or a Suppression.to_json()
        row (`person`, scope "*" for every campaign)."""
        scope = row.get("scope")
        return cls(address=row.get("address") or row["person"],
                   scope=None if scope in (None, "", ALL_CAMPAIGNS) else scope,
                   reason=row["reason"], since=row["since"], until=row.get("until") or None,
                   detail=row.get("detail") or None)


@dataclass(frozen=True)
class Skipped:
    """An entry export could not express for a provider, and why (one sentence)."""

    entry: Entry
    why: str


@dataclass
class Exported:
    """What export wrote for one provider.

    `files` maps a file name to its text, in the order to upload them;
    `outlasting` are exported entries that end (`until`) while the
    provider's list never does: remove them there when ours ends.
    """

    provider: str
    layout: str
    files: dict[str, str]
    exported: list[Entry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    outlasting: list[Entry] = field(default_factory=list)


@dataclass(frozen=True)
class Record:
    """One suppression read from a file: an address not to mail.

    `since` is None when the file does not say (SES's import layout); the
    caller stamps its own time. `detail` keeps the provider's own words.
    """

    address: str
    scope: str | None
    reason: str
    since: str | None
    until: str | None
    detail: str | None
    source: str
    line: int

    @property
    def key(self) -> str:
        """The natural identity of the record: reading the same file twice
        gives the same keys, so storing by key is idempotent."""
        return "|".join((self.source, self.address, self.scope or ALL_CAMPAIGNS, self.reason, self.since or ""))

    def to_json(self) -> dict:
        return {"address": self.address, "scope": self.scope, "reason": self.reason, "since": self.since,
                "until": self.until, "detail": self.detail, "source": self.source, "line": self.line,
                "key": self.key}


@dataclass(frozen=True)
class Problem:
    """A line (or JSON item starting on that line) that was not read, and why."""

    line: int
    why: str


@dataclass
class ReadResult:
    """Everything read from one file: every non-blank data line gives one
    record or one problem, never neither."""

    provider: str | None
    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
