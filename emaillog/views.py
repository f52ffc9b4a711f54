"""SQL views for people who open the database in sqlite-utils or Datasette.

They answer "as of now" (SQLite's clock) with the configured windows baked
in; `ingest` recreates them when the windows in the config change. The
commands (`suppressed`, `retries`, `stats`) compute the same answers in
Python and also take `--at`; a test keeps the two in agreement.

  campaign_funnel      one row per campaign: the counts and rates of `stats`
  active_suppressions  one row per event whose suppression is in force now
  pending_retries      soft-bounced sends still being retried now
  person_status        one row per person: mailable, suppressed, or retrying
"""

from __future__ import annotations

from .stats import ACTIVITY_TYPES, FUNNEL_COLUMNS

NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


def _plus(column: str, hours: float) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {column}, '+{float(hours)} hours')"


def _ratio(part: str, whole: str) -> str:
    return f"round(1.0 * {part} / nullif({whole}, 0), 4)"


def campaign_funnel() -> str:
    types = ", ".join(f"'{t}'" for t in ACTIVITY_TYPES)
    return f"""
        SELECT *,
            {_ratio('delivered', 'sent')} AS delivery_rate,
            {_ratio('hard_bounced', 'sent')} AS hard_bounce_rate,
            {_ratio('soft_bounced', 'sent')} AS soft_bounce_rate,
            {_ratio('unique_opens', 'delivered')} AS open_rate,
            {_ratio('unique_clicks', 'delivered')} AS click_rate,
            {_ratio('unique_clicks', 'unique_opens')} AS click_to_open_rate,
            {_ratio('unsubscribed', 'delivered')} AS unsubscribe_rate,
            {_ratio('complained', 'delivered')} AS complaint_rate
        FROM (SELECT campaign, {FUNNEL_COLUMNS} FROM events WHERE type IN ({types}) GROUP BY campaign)"""


def active_suppressions(spam_block_hours: float) -> str:
    """The rules of state.py in SQL: each suppressing event, unless a later
    release covers it or its time is up."""
    return f"""
        SELECT * FROM (
            SELECT e.person,
                CASE WHEN e.type = 'hard_bounced' AND e.bounce_class = 'spam_block' THEN e.campaign
                     WHEN e.type = 'manual_suppressed' THEN e.scope END AS scope,
                CASE WHEN e.type = 'hard_bounced' THEN
                          CASE e.bounce_class WHEN 'permanent' THEN 'hard_bounce' ELSE 'spam_block' END
                     WHEN e.type = 'manual_suppressed' THEN 'manual' ELSE e.type END AS reason,
                e.ts AS since,
                CASE WHEN e.type = 'hard_bounced' AND e.bounce_class = 'spam_block'
                          THEN {_plus('e.ts', spam_block_hours)}
                     WHEN e.type = 'manual_suppressed' THEN e.until END AS until,
                e.id AS event_id, coalesce(e.detail, e.note) AS detail
            FROM events e
            WHERE e.type IN ('unsubscribed', 'complained', 'manual_suppressed')
                  OR (e.type = 'hard_bounced' AND e.bounce_class IN ('permanent', 'spam_block'))
        ) s
        WHERE s.since <= {NOW} AND (s.until IS NULL OR s.until > {NOW})
          AND NOT EXISTS (
            SELECT 1 FROM events r
            WHERE r.type = 'released' AND r.person = s.person AND r.ts <= {NOW}
              AND (r.ts > s.since OR (r.ts = s.since AND r.id > s.event_id))
              AND (r.scope IS NULL OR r.scope = s.scope))"""


def _still_pending(retry_window_hours: float) -> str:
    """For a soft bounce `s`: in its window, not given up, not resolved."""
    return f"""s.ts <= {NOW} AND {_plus('s.ts', retry_window_hours)} > {NOW}
          AND NOT (coalesce(s.reason, '') = 'expired' AND coalesce(s.last_attempt, s.ts) <= {NOW})
          AND NOT EXISTS (
            SELECT 1 FROM events r
            WHERE r.dedupe_key IN (s.send || '|delivered', s.send || '|hard_bounced') AND r.ts <= {NOW})"""


def pending_retries(retry_window_hours: float) -> str:
    return f"""
        SELECT s.person, s.campaign, s.message_id, s.queue_id, s.ts AS first_soft_bounce,
               coalesce(s.attempts, 1) AS attempts, s.last_attempt, s.reason AS last_reason,
               {_plus('s.ts', retry_window_hours)} AS window_closes, s.id AS event_id
        FROM events s
        WHERE s.type = 'soft_bounced' AND {_still_pending(retry_window_hours)}"""


def person_status(retry_window_hours: float) -> str:
    # Pending retries counted through the person index (`+s.type` keeps
    # SQLite from scanning every soft bounce once per person).
    pending = f"""(SELECT count(*) FROM events s WHERE s.person = p.person AND +s.type = 'soft_bounced'
                  AND {_still_pending(retry_window_hours)})"""
    return f"""
        SELECT p.person,
            CASE WHEN EXISTS (SELECT 1 FROM active_suppressions a WHERE a.person = p.person AND a.scope IS NULL)
                      THEN 'suppressed'
                 WHEN EXISTS (SELECT 1 FROM active_suppressions a WHERE a.person = p.person)
                      THEN 'suppressed_for_some_campaigns'
                 WHEN {pending} > 0 THEN 'retrying'
                 ELSE 'mailable' END AS status,
            (SELECT group_concat(DISTINCT reason || coalesce(' (' || scope || ')', ''))
               FROM active_suppressions a WHERE a.person = p.person) AS suppressions,
            {pending} AS pending_retries,
            p.sent, p.delivered, p.hard_bounced, p.soft_bounced, p.opened, p.clicked,
            p.first_event, p.last_event
        FROM (SELECT person, sum(type = 'sent') AS sent, sum(type = 'delivered') AS delivered,
                     sum(type = 'hard_bounced') AS hard_bounced, sum(type = 'soft_bounced') AS soft_bounced,
                     sum(type = 'opened') AS opened, sum(type = 'clicked') AS clicked,
                     min(ts) AS first_event, max(ts) AS last_event
              FROM events GROUP BY person) p"""


def definitions(retry_window_hours: float, spam_block_hours: float) -> dict[str, str]:
    """View name -> SELECT, in creation order (later ones use earlier ones)."""
    return {
        "campaign_funnel": campaign_funnel(),
        "active_suppressions": active_suppressions(spam_block_hours),
        "pending_retries": pending_retries(retry_window_hours),
        "person_status": person_status(retry_window_hours),
    }


def sync_views(conn, retry_window_hours: float, spam_block_hours: float) -> bool:
    """Create or replace the views whose SQL differs; True when any changed.
    The caller holds a write transaction."""
    have = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view'"))
    wanted = {name: f"CREATE VIEW {name} AS{sql}"
              for name, sql in definitions(retry_window_hours, spam_block_hours).items()}
    if all(have.get(name) == sql for name, sql in wanted.items()):
        return False
    for name in reversed(list(wanted)):
        conn.execute(f"DROP VIEW IF EXISTS {name}")
    for sql in wanted.values():
        conn.execute(sql)
    return True
