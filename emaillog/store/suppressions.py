"""Keeping the `suppressions` table (versions, see rules/suppression.py) in
step with the events: a person's versions are computed again from all of
their suppressing events whenever one of those changes, so events read in
any order give the same intervals."""

from __future__ import annotations

from collections import defaultdict

from ..events import EVENT_TYPES
from ..rules.suppression import Happening, versions
from .schema import CLASS_NAME, CLASS_OF_OUTCOME, SUPPRESSION_CODE, TYPE_CODE

_ACTION_TYPES = tuple(TYPE_CODE[t] for t in
                      ("hard_bounced", "unsubscribed", "complained", "manual_suppressed", "released"))
CHUNK = 400


def happenings(conn, persons: list[int]) -> dict[int, list[Happening]]:
    """Each person's suppressing events, from sends and actions."""
    out: dict[int, list[Happening]] = defaultdict(list)
    for i in range(0, len(persons), CHUNK):
        chunk = persons[i:i + CHUNK]
        marks = ", ".join("?" * len(chunk))
        for person, send, ts, outcome, campaign in conn.execute(
                f"SELECT person, id, out_ts, outcome, campaign FROM sends "
                f"WHERE person IN ({marks}) AND outcome IN (2, 3)", chunk):
            out[person].append(Happening(ts, send * 4 + 2, "hard_bounced", CLASS_OF_OUTCOME[outcome],
                                         campaign, None, None))
        for person, id_, ts, type_, cls, campaign, scope, until in conn.execute(
                f"SELECT person, id, ts, type, class, campaign, scope, until FROM actions "
                f"WHERE person IN ({marks}) AND type IN ({', '.join(map(str, _ACTION_TYPES))})", chunk):
            out[person].append(Happening(ts, id_ * 4 + 3, EVENT_TYPES[type_], CLASS_NAME.get(cls),
                                         campaign, scope, until))
    return out


def recompute(conn, persons: list[int], config) -> int:
    """Replace these persons' versions; returns how many were written."""
    seconds = int(config.spam_block_hours * 3600)
    found = happenings(conn, persons)
    rows = []
    for person in persons:
        for v in versions(found.get(person, []), seconds):
            rows.append((person, v.scope, SUPPRESSION_CODE[v.reason], v.since, v.until, v.valid_from,
                         v.valid_to, v.event_id))
    for i in range(0, len(persons), CHUNK):
        chunk = persons[i:i + CHUNK]
        conn.execute(f"DELETE FROM suppressions WHERE person IN ({', '.join('?' * len(chunk))})", chunk)
    conn.executemany("INSERT INTO suppressions (person, scope, reason, since, until, valid_from, valid_to, event) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def rebuild(conn, config) -> int:
    """All versions again, from the events (a changed spam block window)."""
    persons = sorted({r[0] for r in conn.execute(
        f"SELECT person FROM sends WHERE outcome IN (2, 3) UNION SELECT person FROM actions "
        f"WHERE type IN ({', '.join(map(str, _ACTION_TYPES))})")})
    conn.execute("DELETE FROM suppressions")
    return recompute(conn, persons, config)
