"""Suppression and retry state, derived from events at a given time.

Nothing here is stored: the answer at `--at T` comes from the events stamped
at or before T, so old logs answer "as of" any moment and a correction to the
events corrects every answer (SPEC §2, Suppression and Retries).

Suppression reasons and their reach:
  hard_bounce   class `permanent`       every campaign, until released
  spam_block    class `spam_block`      the bounce's campaign, spam_block_hours
  unsubscribed / complained             every campaign, until released
  manual        `emaillog suppress`     every campaign or one, until given or released
A `released` event lifts what was in force when it was recorded (all of a
person's suppressions, or one campaign's); later events suppress again.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from .config import Config
from .events import COMPLAINED, DELIVERED, HARD_BOUNCED, MANUAL_SUPPRESSED, RELEASED, SOFT_BOUNCED, UNSUBSCRIBED, iso

SUPPRESSING_TYPES = (HARD_BOUNCED, UNSUBSCRIBED, COMPLAINED, MANUAL_SUPPRESSED, RELEASED)
SUPPRESSION_COLUMNS = ("id", "ts", "type", "person", "campaign", "bounce_class", "scope", "until", "detail", "note")
RETRY_COLUMNS = ("id", "ts", "person", "campaign", "message_id", "queue_id", "attempts", "last_attempt", "reason",
                 "send")
REASONS = ("hard_bounce", "spam_block", "unsubscribed", "complained", "manual")


def _shallow(item) -> dict:
    """A dataclass's fields in order: dataclasses.asdict deep-copies every
    value and is slow on 100k rows of plain strings."""
    return {f.name: getattr(item, f.name) for f in fields(item)}


def columns(cls) -> list[str]:
    """The export columns of Suppression or Retry (their to_json keys)."""
    return [f.name for f in fields(cls)]


@dataclass
class Suppression:
    person: str
    scope: str | None  # a campaign, or None = every campaign
    reason: str
    since: str
    until: str | None  # None = until released
    event_id: int
    detail: str | None

    def to_json(self) -> dict:
        return {**_shallow(self), "scope": self.scope or "*"}

    def applies_to(self, campaign: str | None) -> bool:
        return self.scope is None or self.scope == campaign


@dataclass
class Retry:
    person: str
    campaign: str | None
    message_id: str | None
    queue_id: str | None
    first_soft_bounce: str
    attempts: int
    last_attempt: str | None
    last_reason: str | None
    window_closes: str
    status: str  # pending | given_up
    event_id: int

    def to_json(self) -> dict:
        return _shallow(self)


def _plus(ts: str, hours: float) -> str:
    return iso(datetime.fromisoformat(ts.replace("Z", "+00:00")) + timedelta(hours=hours))


def suppression_of(row: dict, config: Config) -> Suppression | None:
    """The suppression one event imposes (before any release), or None."""
    kind = row["type"]
    base = dict(person=row["person"], since=row["ts"], event_id=row["id"], detail=row.get("detail") or row.get("note"))
    if kind == HARD_BOUNCED:
        if row.get("bounce_class") == "permanent":
            return Suppression(scope=None, reason="hard_bounce", until=None, **base)
        if row.get("bounce_class") == "spam_block":
            return Suppression(scope=row.get("campaign"), reason="spam_block",
                               until=_plus(row["ts"], config.spam_block_hours), **base)
        return None  # technical: our fault, nobody to suppress
    if kind in (UNSUBSCRIBED, COMPLAINED):
        return Suppression(scope=None, reason=kind, until=None, **base)
    if kind == MANUAL_SUPPRESSED:
        return Suppression(scope=row.get("scope"), reason="manual", until=row.get("until"), **base)
    return None


def active_suppressions(rows: list[dict], at: str, config: Config) -> list[Suppression]:
    """Suppressions in force at `at`, from events in time order.

    `rows` are a person's (or everyone's) suppressing events; events after
    `at` are ignored. One row per (person, scope, reason): the earliest
    `since`, the latest `until`.
    """
    live: dict[tuple, Suppression] = {}
    for row in rows:
        if row["ts"] > at:
            break
        if row["type"] == RELEASED:
            scope = row.get("scope")
            for key in [k for k, s in live.items() if k[0] == row["person"] and (scope is None or s.scope == scope)]:
                del live[key]
            continue
        sup = suppression_of(row, config)
        if sup is None:
            continue
        key = (sup.person, sup.scope, sup.reason)
        have = live.get(key)
        if have is not None and (have.until is None or (sup.until is not None and have.until >= sup.until)):
            continue
        if have is not None and have.until is not None and have.until > row["ts"]:
            sup.since = have.since  # an extension of one still in force
        live[key] = sup
    return sorted((s for s in live.values() if s.until is None or s.until > at),
                  key=lambda s: (s.person, s.scope or "", s.reason))


def retries(soft_rows: list[dict], resolutions: dict[str, str], at: str, config: Config,
            *, include_given_up: bool = False) -> list[Retry]:
    """Soft-bounced sends still being retried at `at`.

    `resolutions` maps a send to the time it was delivered or hard-bounced.
    A send is pending from its first soft bounce until then, until the MTA
    gave up (`expired`), or until the retry window closes; then given up.
    """
    out = []
    for row in soft_rows:
        if row["ts"] > at:
            continue
        resolved = resolutions.get(row.get("send") or "")
        if resolved is not None and resolved <= at:
            continue
        closes = _plus(row["ts"], config.retry_window_hours)
        expired = row.get("reason") == "expired" and (row.get("last_attempt") or row["ts"]) <= at
        status = "given_up" if expired or closes <= at else "pending"
        if status == "given_up" and not include_given_up:
            continue
        out.append(Retry(
            person=row["person"], campaign=row.get("campaign"), message_id=row.get("message_id"),
            queue_id=row.get("queue_id"), first_soft_bounce=row["ts"], attempts=row.get("attempts") or 1,
            last_attempt=row.get("last_attempt"), last_reason=row.get("reason"),
            window_closes=closes, status=status, event_id=row["id"]))
    return sorted(out, key=lambda r: (r.window_closes, r.person))


class StateQueries:
    """The store queries behind `suppressed`, `retries`, `check` and `person`."""

    def __init__(self, store, config: Config):
        self.store = store
        self.config = config

    def suppressions(self, at: str, *, person: str | None = None) -> list[Suppression]:
        rows = self.store.events(person=person, types=list(SUPPRESSING_TYPES), through=at,
                                 columns=SUPPRESSION_COLUMNS)
        return active_suppressions(rows, at, self.config)

    def retries(self, at: str, *, person: str | None = None, include_given_up: bool = False) -> list[Retry]:
        soft = self.store.events(person=person, types=[SOFT_BOUNCED], through=at, columns=RETRY_COLUMNS)
        sends = sorted({r["send"] for r in soft if r.get("send")})
        resolutions = self.store.send_resolutions(sends, (DELIVERED, HARD_BOUNCED))
        return retries(soft, resolutions, at, self.config, include_given_up=include_given_up)

    def check(self, person: str, campaign: str | None, at: str) -> list[Suppression]:
        """What stops `campaign` mailing `person` at `at` (empty: go ahead)."""
        return [s for s in self.suppressions(at, person=person) if s.applies_to(campaign)]

