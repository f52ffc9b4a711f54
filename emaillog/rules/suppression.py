"""Who must not be mailed, as intervals: the SPEC's suppression rules.

  hard_bounce   class `permanent`       every campaign, until released
  spam_block    class `spam_block`      the bounce's campaign, spam_block_hours
  unsubscribed / complained             every campaign, until released
  manual        `emaillog suppress`     every campaign or one, until given or released

A `released` event lifts what is in force when it is recorded (all of a
person's suppressions, or one campaign's); later events suppress again.

A person's suppressing events, taken in time order, give *versions*: each
says that from `valid_from` until `valid_to` (the next event that changed it,
or a release) the suppression (scope, reason) held with this since/until.
So "who is suppressed at T" is a lookup, not a replay: the versions with
valid_from <= T < valid_to whose until is after T.
"""

from __future__ import annotations

from typing import NamedTuple


class Happening(NamedTuple):
    """One of a person's events that can suppress or release."""
    ts: int
    event_id: int
    type: str            # hard_bounced, unsubscribed, complained, manual_suppressed, released
    bounce_class: str | None
    campaign: str | int | None
    scope: str | int | None   # manual suppressions and releases: a campaign, None = all
    until: int | None         # manual suppressions


class Version(NamedTuple):
    scope: str | int | None
    reason: str
    since: int
    until: int | None
    valid_from: int
    valid_to: int | None
    event_id: int


def imposed(event: Happening, spam_block_seconds: int) -> tuple | None:
    """(scope, reason, until) that one event imposes before any release."""
    if event.type == "hard_bounced":
        if event.bounce_class == "permanent":
            return None, "hard_bounce", None
        if event.bounce_class == "spam_block":
            return event.campaign, "spam_block", event.ts + spam_block_seconds
        return None  # technical: our fault, nobody to suppress
    if event.type in ("unsubscribed", "complained"):
        return None, event.type, None
    if event.type == "manual_suppressed":
        return event.scope, "manual", event.until
    return None


def versions(events: list[Happening], spam_block_seconds: int) -> list[Version]:
    """The versions of one person's suppressions. One live suppression per
    (scope, reason): the earliest since of one still in force, the latest until."""
    live: dict[tuple, list] = {}  # (scope, reason) -> [since, until, event_id, valid_from]
    out: list[Version] = []

    def close(key, ts):
        since, until, event_id, valid_from = live.pop(key)
        out.append(Version(key[0], key[1], since, until, valid_from, ts, event_id))

    for event in sorted(events, key=lambda e: (e.ts, e.event_id)):
        if event.type == "released":
            for key in [k for k in live if event.scope is None or k[0] == event.scope]:
                close(key, event.ts)
            continue
        found = imposed(event, spam_block_seconds)
        if found is None:
            continue
        scope, reason, until = found
        key = (scope, reason)
        have = live.get(key)
        if have is not None and (have[1] is None or (until is not None and have[1] >= until)):
            continue
        since = event.ts
        if have is not None:
            if have[1] is not None and have[1] > event.ts:
                since = have[0]  # an extension of one still in force
            close(key, event.ts)
        live[key] = [since, until, event.event_id, event.ts]
    for key in list(live):
        since, until, event_id, valid_from = live.pop(key)
        out.append(Version(key[0], key[1], since, until, valid_from, None, event_id))
    return out
