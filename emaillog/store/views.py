"""SQL views for people who open the database in sqlite-utils or Datasette.

They answer "as of now" (the database's clock) with the configured windows baked
in; `Store.sync_config` recreates them when the windows in the config
change. The commands compute the same answers and also take `--at`; a test
keeps the two in agreement.

  events               the SPEC's event stream, one row per event (as `events --format jsonl`)
  campaign_funnel      one row per campaign: the counts and rates of `stats`
  active_suppressions  the suppressions in force now
  pending_retries      soft-bounced sends still being retried now
  person_status        one row per person: mailable, suppressed, or retrying
"""

from __future__ import annotations

from ..events import EVENT_TYPES
from ..rules.resolver import note_sql
from .codec import sql_join
from .dialect import SQLITE, dialect_of
from .schema import (CLASS_CODE, M_DELIVERED, M_FIRST, M_HARD, M_LAST, M_SENT, M_SOFT, SUPPRESSION_REASONS)

# The dialect the views are being written in (set by `definitions`).
_d = SQLITE
NOW = "__NOW__"  # replaced by the dialect's clock in `definitions`


def _iso(column: str) -> str:
    return _d.iso(column)


def _name(column: str) -> str:
    return f"(SELECT value FROM names WHERE id = {column})"


def _text(text: str, arg: str, address: str = "p.address") -> str:
    return sql_join(f"(SELECT template FROM texts WHERE id = {text})", arg, address, char=_d.char)


def _source(file: str, line: str) -> str:
    label = f"(SELECT label FROM sources WHERE id = {file})"
    return f"CASE WHEN {file} IS NULL THEN NULL WHEN {line} IS NULL THEN {label} ELSE {label} || ':' || {line} END"


def _ratio(part: str, whole: str) -> str:
    return f"round(1.0 * {part} / nullif({whole}, 0), 4)"


def _case(column: str, mapping: dict) -> str:
    whens = " ".join(f"WHEN {code} THEN '{name}'" for code, name in mapping.items())
    return f"CASE {column} {whens} END"


def events() -> str:
    common = (f"p.address AS person, {_name('s.campaign')} AS campaign, {_name('s.email')} AS email, "
              f"{_text('s.mid', 's.mid_arg', 'NULL')} AS message_id, s.queue_id, "
              f"{_name('s.format')} AS source_format, {_name('s.host')} AS host")
    nothing = "NULL AS url"
    tail = "NULL AS machine, NULL AS note, NULL AS actor, NULL AS scope, NULL AS until"
    doubt = (f"CASE WHEN EXISTS (SELECT 1 FROM dns_doubts d WHERE d.send = b.send AND d.demoted = 1) "
             f"THEN {note_sql(_name('p.domain'))} END")
    soft_tail = tail.replace("NULL AS note", f"{doubt} AS note")
    classes = _case("s.outcome", {code + 1: name for name, code in CLASS_CODE.items()})
    types = _case("a.type", dict(enumerate(EVENT_TYPES)))
    return f"""
        SELECT s.id * 4 AS id, {_iso('s.sent_ts')} AS ts, 'sent' AS type, {common},
               NULL AS bounce_class, NULL AS reason, CAST(NULL AS INTEGER) AS smtp_code, NULL AS dsn,
               NULL AS detail, {nothing}, {_source('s.sent_file', 's.sent_line')} AS source,
               CAST(NULL AS INTEGER) AS attempts, NULL AS last_attempt, {tail}
        FROM sends s JOIN persons p ON p.id = s.person
        UNION ALL
        SELECT s.id * 4 + 2, {_iso('s.out_ts')}, CASE s.outcome WHEN 1 THEN 'delivered' ELSE 'hard_bounced' END,
               {common}, {classes}, {_name('s.out_reason')}, s.out_code, {_name('s.out_dsn')},
               {_text('s.out_text', 's.out_arg')}, {nothing},
               CASE WHEN s.out_file IS NULL AND s.out_line IS NULL THEN {_source('s.sent_file', 's.sent_line')}
                    ELSE {_source('coalesce(s.out_file, s.sent_file)', 's.out_line')} END,
               NULL, NULL, {tail}
        FROM sends s JOIN persons p ON p.id = s.person WHERE s.outcome IS NOT NULL
        UNION ALL
        SELECT b.send * 4 + 1, {_iso('b.first_ts')}, 'soft_bounced', {common}, NULL, {_name('b.first_reason')},
               b.first_code, {_name('b.first_dsn')}, {_text('b.first_text', 'b.first_arg')}, {nothing},
               {_source('b.first_file', 'b.first_line')}, b.attempts, {_iso('b.last_ts')}, {soft_tail}
        FROM soft_bounces b JOIN sends s ON s.id = b.send JOIN persons p ON p.id = s.person
        UNION ALL
        SELECT a.id * 4 + 3, {_iso('a.ts')}, {types}, p.address, {_name('a.campaign')}, {_name('a.email')},
               {_text('a.mid', 'a.mid_arg', 'NULL')}, a.queue_id, {_name('a.format')}, {_name('a.host')},
               {_case('a.class', {v: k for k, v in CLASS_CODE.items()})}, {_name('a.reason')}, a.code,
               {_name('a.dsn')}, {_text('a.text', 'a.arg')}, {_text('a.url', 'a.url_arg', 'NULL')},
               {_source('a.file', 'a.line')}, NULL, NULL, {_name('a.machine')}, a.note, {_name('a.actor')},
               {_name('a.scope')}, {_iso('a.until')}
        FROM actions a JOIN persons p ON p.id = a.person"""


def campaign_funnel() -> str:
    hard = ", ".join(str(m) for m in M_HARD.values())
    counts = f"""
        SELECT campaign,
            sum(CASE WHEN metric = {M_SENT} THEN n ELSE 0 END) AS sent,
            sum(CASE WHEN metric = {M_DELIVERED} THEN n ELSE 0 END) AS delivered,
            sum(CASE WHEN metric IN ({hard}) THEN n ELSE 0 END) AS hard_bounced,
            sum(CASE WHEN metric = {M_HARD[2]} THEN n ELSE 0 END) AS hard_permanent,
            sum(CASE WHEN metric = {M_HARD[3]} THEN n ELSE 0 END) AS hard_spam_block,
            sum(CASE WHEN metric = {M_HARD[4]} THEN n ELSE 0 END) AS hard_technical,
            sum(CASE WHEN metric = {M_SOFT} THEN n ELSE 0 END) AS soft_bounced,
            min(CASE WHEN metric = {M_FIRST} THEN n END) AS first_ts,
            max(CASE WHEN metric = {M_LAST} THEN n END) AS last_ts
        FROM counts GROUP BY campaign"""
    engagement = f"""
        SELECT coalesce(campaign, 0) AS campaign,
            count(DISTINCT CASE WHEN type = 4 AND machine IS NULL THEN person END) AS unique_opens,
            count(DISTINCT CASE WHEN type = 4 AND machine IS NOT NULL THEN person END) AS machine_opens,
            count(DISTINCT CASE WHEN type = 5 AND machine IS NULL THEN person END) AS unique_clicks,
            count(DISTINCT CASE WHEN type = 5 AND machine IS NOT NULL THEN person END) AS machine_clicks,
            count(DISTINCT CASE WHEN type = 6 THEN person END) AS unsubscribed,
            count(DISTINCT CASE WHEN type = 7 THEN person END) AS complained
        FROM actions WHERE type IN (4, 5, 6, 7) GROUP BY 1"""
    zero = lambda c: f"coalesce(e.{c}, 0) AS {c}"  # noqa: E731
    return f"""
        SELECT CASE WHEN c.campaign = 0 THEN NULL ELSE {_name('c.campaign')} END AS campaign,
            c.sent, c.delivered, c.hard_bounced, c.hard_permanent, c.hard_spam_block, c.hard_technical,
            c.soft_bounced, {zero('unique_opens')}, {zero('machine_opens')}, {zero('unique_clicks')},
            {zero('machine_clicks')}, {zero('unsubscribed')}, {zero('complained')},
            {_iso('c.first_ts')} AS first_event, {_iso('c.last_ts')} AS last_event,
            {_ratio('c.delivered', 'c.sent')} AS delivery_rate,
            {_ratio('c.hard_bounced', 'c.sent')} AS hard_bounce_rate,
            {_ratio('c.soft_bounced', 'c.sent')} AS soft_bounce_rate,
            {_ratio('coalesce(e.unique_opens, 0)', 'c.delivered')} AS open_rate,
            {_ratio('coalesce(e.unique_clicks, 0)', 'c.delivered')} AS click_rate,
            {_ratio('coalesce(e.unique_clicks, 0)', 'e.unique_opens')} AS click_to_open_rate,
            {_ratio('coalesce(e.unsubscribed, 0)', 'c.delivered')} AS unsubscribe_rate,
            {_ratio('coalesce(e.complained, 0)', 'c.delivered')} AS complaint_rate
        FROM ({counts}) c LEFT JOIN ({engagement}) e ON e.campaign = c.campaign
        WHERE c.first_ts IS NOT NULL"""


def active_suppressions() -> str:
    reasons = _case("v.reason", {i + 1: r for i, r in enumerate(SUPPRESSION_REASONS)})
    detail = (f"CASE WHEN v.event % 4 = 2 THEN {_text('s.out_text', 's.out_arg')} "
              f"ELSE coalesce({_text('a.text', 'a.arg')}, a.note) END")
    return f"""
        SELECT p.address AS person, {_name('v.scope')} AS scope, {reasons} AS reason,
               {_iso('v.since')} AS since, {_iso('v.until')} AS until, v.event AS event_id, {detail} AS detail
        FROM suppressions v JOIN persons p ON p.id = v.person
        LEFT JOIN sends s ON v.event % 4 = 2 AND s.id = v.event / 4
        LEFT JOIN actions a ON v.event % 4 = 3 AND a.id = v.event / 4
        WHERE v.valid_from <= {NOW} AND (v.valid_to IS NULL OR v.valid_to > {NOW})
          AND (v.until IS NULL OR v.until > {NOW})"""


def _still_pending(retry_window_hours: float) -> str:
    return f"""b.first_ts <= {NOW} AND b.first_ts + {int(retry_window_hours * 3600)} > {NOW}
          AND NOT coalesce(b.reason = (SELECT id FROM names WHERE kind = 'reason' AND value = 'expired')
                           AND b.last_ts <= {NOW}, FALSE)
          AND NOT coalesce(b.resolved_ts <= {NOW}, FALSE)"""


def pending_retries(retry_window_hours: float) -> str:
    return f"""
        SELECT p.address AS person, {_name('s.campaign')} AS campaign,
               {_text('s.mid', 's.mid_arg', 'NULL')} AS message_id, s.queue_id,
               {_iso('b.first_ts')} AS first_soft_bounce, b.attempts, {_iso('b.last_ts')} AS last_attempt,
               {_name('b.reason')} AS last_reason,
               {_iso(f'b.first_ts + {int(retry_window_hours * 3600)}')} AS window_closes, b.send * 4 + 1 AS event_id
        FROM soft_bounces b JOIN sends s ON s.id = b.send JOIN persons p ON p.id = s.person
        WHERE {_still_pending(retry_window_hours)}"""


def person_status(retry_window_hours: float) -> str:
    pending = f"""(SELECT count(*) FROM soft_bounces b JOIN sends s ON s.id = b.send
                   WHERE s.person = p.id AND {_still_pending(retry_window_hours)})"""
    live = f"""(SELECT v.scope FROM suppressions v WHERE v.person = p.id AND v.valid_from <= {NOW}
                AND (v.valid_to IS NULL OR v.valid_to > {NOW}) AND (v.until IS NULL OR v.until > {NOW}))"""
    reasons = _case("v.reason", {i + 1: r for i, r in enumerate(SUPPRESSION_REASONS)})
    return f"""
        SELECT p.address AS person,
            CASE WHEN EXISTS (SELECT 1 FROM {live} x WHERE x.scope IS NULL) THEN 'suppressed'
                 WHEN EXISTS (SELECT 1 FROM {live} x) THEN 'suppressed_for_some_campaigns'
                 WHEN {pending} > 0 THEN 'retrying'
                 ELSE 'mailable' END AS status,
            (SELECT {_d.string_agg(f"{reasons} || coalesce(' (' || {_name('v.scope')} || ')', '')")}
               FROM suppressions v WHERE v.person = p.id AND v.valid_from <= {NOW}
               AND (v.valid_to IS NULL OR v.valid_to > {NOW}) AND (v.until IS NULL OR v.until > {NOW}))
               AS suppressions,
            {pending} AS pending_retries,
            (SELECT count(*) FROM sends s WHERE s.person = p.id) AS sent,
            (SELECT count(*) FROM sends s WHERE s.person = p.id AND s.outcome = 1) AS delivered,
            (SELECT count(*) FROM sends s WHERE s.person = p.id AND s.outcome > 1) AS hard_bounced,
            (SELECT count(*) FROM soft_bounces b JOIN sends s ON s.id = b.send WHERE s.person = p.id) AS soft_bounced,
            (SELECT count(*) FROM actions a WHERE a.person = p.id AND a.type = 4) AS opened,
            (SELECT count(*) FROM actions a WHERE a.person = p.id AND a.type = 5) AS clicked,
            {_iso(_either(_d.least, "(SELECT min(sent_ts) FROM sends WHERE person = p.id)",
                          "(SELECT min(ts) FROM actions WHERE person = p.id)"))} AS first_event,
            {_iso(_either(_d.greatest, f"(SELECT max({_d.greatest}(sent_ts, coalesce(out_ts, 0))) FROM sends "
                          "WHERE person = p.id)", "(SELECT max(ts) FROM actions WHERE person = p.id)"))} AS last_event
        FROM persons p"""


def _either(pick: str, a: str, b: str) -> str:
    """min/max of two values either of which may be NULL (then the other)."""
    return f"{pick}(coalesce({a}, {b}), coalesce({b}, {a}))"


def definitions(retry_window_hours: float, spam_block_hours: float, dialect=SQLITE) -> dict[str, str]:
    """View name -> SELECT, in creation order."""
    global _d
    _d = dialect
    try:
        made = {
            "events": events(),
            "campaign_funnel": campaign_funnel(),
            "active_suppressions": active_suppressions(),
            "pending_retries": pending_retries(retry_window_hours),
            "person_status": person_status(retry_window_hours),
        }
    finally:
        _d = SQLITE
    return {name: sql.replace(NOW, dialect.now) for name, sql in made.items()}


def windows(config) -> str:
    """The settings the stored suppression intervals depend on."""
    import json
    return json.dumps({"spam_block_hours": config.spam_block_hours})


def sync_views(conn, retry_window_hours: float, spam_block_hours: float) -> bool:
    """Create or replace the views whose SQL differs; True when any changed.
    The caller holds a write transaction."""
    dialect = dialect_of(conn)
    have = dialect.views(conn)
    wanted = {name: f"CREATE VIEW {name} AS{sql}"
              for name, sql in definitions(retry_window_hours, spam_block_hours, dialect).items()}
    if have == wanted:
        return False
    for name in have:
        conn.execute(f"DROP VIEW IF EXISTS {name}")
    for name, sql in wanted.items():
        conn.execute(sql)
        if dialect is not SQLITE:  # kept to compare with next time (see dialect.Postgres.views)
            conn.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         (f"view:{name}", sql))
    return True
