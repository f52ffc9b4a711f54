"""The hourly counts behind `stats`: events by campaign, hour and kind, and
by receiving domain. Kept at ingest as differences (what changed rows gave
before is taken away, what they give now is added) by the same SQL that
`rebuild` runs over everything, so the two cannot disagree.

A sends row gives a `sent` at sent_ts, its outcome at out_ts (metric =
outcome + 1: 2 delivered, 3-6 hard by class) and, through soft_bounces, a
soft bounce at its first time (7); an action row gives its type's metric.
Metrics 100 and 101 keep the first and last event time of the hour.
"""

from __future__ import annotations

from .schema import M_FIRST, M_LAST

# Per kind of row, the events it gives: (hour, campaign, metric, ts, domain slot).
_SEND_EVENTS = """
    SELECT s.sent_ts AS ts, s.campaign, 1 AS metric, p.domain, 0 AS slot
        FROM sends s JOIN persons p ON p.id = s.person WHERE {sends}
    UNION ALL SELECT s.out_ts, s.campaign, s.outcome + 1, p.domain, CASE s.outcome WHEN 1 THEN 1 ELSE 2 END
        FROM sends s JOIN persons p ON p.id = s.person WHERE ({sends}) AND s.outcome IS NOT NULL
    UNION ALL SELECT b.first_ts, s.campaign, 7, p.domain, 3
        FROM soft_bounces b JOIN sends s ON s.id = b.send JOIN persons p ON p.id = s.person WHERE {sends}"""
# delivered 1 -> 2, hard bounced by class (1-3, or none) -> 3-6, opened.. complained -> 8-11
_ACTION_EVENTS = """
    SELECT a.ts, a.campaign,
           CASE a.type WHEN 1 THEN 2 WHEN 2 THEN coalesce(a.class, 4) + 2 ELSE a.type + 4 END AS metric,
           p.domain, CASE a.type WHEN 1 THEN 1 WHEN 2 THEN 2 END AS slot
        FROM actions a JOIN persons p ON p.id = a.person WHERE ({actions}) AND a.type IN (1, 2, 4, 5, 6, 7)"""


def _events(sends: str | None, actions: str | None) -> str:
    parts = []
    if sends:
        parts.append(_SEND_EVENTS.format(sends=sends))
    if actions:
        parts.append(_ACTION_EVENTS.format(actions=actions))
    return " UNION ALL ".join(parts)


def apply(conn, sign: int, *, sends: str | None = None, actions: str | None = None, args: tuple = ()) -> None:
    """Add (sign 1) or take away (sign -1) what the rows chosen by the
    `sends` and `actions` WHERE clauses give. `args` fill their ? marks in
    that order, each clause's as many times as it appears."""
    if not sends and not actions:
        return
    events = _events(sends, actions)
    values = _repeat(args, sends, actions)
    conn.execute(f"""
        INSERT INTO counts (hour, campaign, metric, n)
        SELECT ts / 3600, coalesce(campaign, 0), metric, {int(sign)} * count(*) FROM ({events}) WHERE 1
        GROUP BY 1, 2, 3
        ON CONFLICT DO UPDATE SET n = n + excluded.n""", values)
    conn.execute(f"""
        INSERT INTO domain_counts (hour, campaign, domain, sent, delivered, hard, soft)
        SELECT ts / 3600, coalesce(campaign, 0), coalesce(domain, 0), {int(sign)} * sum(slot = 0),
               {int(sign)} * sum(slot = 1), {int(sign)} * sum(slot = 2), {int(sign)} * sum(slot = 3)
        FROM ({events}) WHERE slot IS NOT NULL GROUP BY 1, 2, 3
        ON CONFLICT DO UPDATE SET sent = sent + excluded.sent, delivered = delivered + excluded.delivered,
            hard = hard + excluded.hard, soft = soft + excluded.soft""", values)
    if sign > 0:  # the first and last event of an hour only ever widen
        conn.execute(f"""
            INSERT INTO counts (hour, campaign, metric, n)
            SELECT ts / 3600, coalesce(campaign, 0), {M_FIRST}, min(ts) FROM ({events}) WHERE 1 GROUP BY 1, 2
            ON CONFLICT DO UPDATE SET n = min(n, excluded.n)""", values)
        conn.execute(f"""
            INSERT INTO counts (hour, campaign, metric, n)
            SELECT ts / 3600, coalesce(campaign, 0), {M_LAST}, max(ts) FROM ({events}) WHERE 1 GROUP BY 1, 2
            ON CONFLICT DO UPDATE SET n = max(n, excluded.n)""", values)


def _repeat(args: tuple, sends: str | None, actions: str | None) -> list:
    """The ? values for _events(sends, actions): each clause's own, as often
    as the clause is written out (three times for sends, once for actions)."""
    n_sends = sends.count("?") if sends else 0
    n_actions = actions.count("?") if actions else 0
    send_args, action_args = list(args[:n_sends]), list(args[n_sends:n_sends + n_actions])
    return send_args * 3 + action_args


def rebuild(conn) -> None:
    """The counts again from every row."""
    conn.execute("DELETE FROM counts")
    conn.execute("DELETE FROM domain_counts")
    apply(conn, 1, sends="1", actions="1")
    conn.execute("DELETE FROM counts WHERE n = 0 AND metric < 100")
    conn.execute("DELETE FROM domain_counts WHERE sent = 0 AND delivered = 0 AND hard = 0 AND soft = 0")
