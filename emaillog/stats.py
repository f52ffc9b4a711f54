"""Campaign figures as a marketer reads them: the funnel, rates, top bounce
reasons, top receiving domains and activity over time.

Pure queries returning plain data; `stats`, `report --html` and the
`campaign_funnel` view (store.py) all count with FUNNEL_COLUMNS, so the
three never disagree. Definitions (also in the README):

* sent, delivered, soft/hard bounced: sends (one message to one person);
  a soft-bounced send that was delivered later counts in both.
* unique opens and clicks: people, per campaign, human and machine apart
  (a person with both a proxy prefetch and a real open counts in both).
* unsubscribed, complained: people.
* rates: delivered / sent; hard and soft bounces / sent; opens, clicks,
  unsubscribes and complaints / delivered; click-to-open = clicks / opens
  (human ones). A rate with nothing to divide by is None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import Config

FUNNEL_COLUMNS = """
    sum(type = 'sent') AS sent,
    sum(type = 'delivered') AS delivered,
    sum(type = 'hard_bounced') AS hard_bounced,
    sum(type = 'hard_bounced' AND bounce_class = 'permanent') AS hard_permanent,
    sum(type = 'hard_bounced' AND bounce_class = 'spam_block') AS hard_spam_block,
    sum(type = 'hard_bounced' AND bounce_class = 'technical') AS hard_technical,
    sum(type = 'soft_bounced') AS soft_bounced,
    count(DISTINCT CASE WHEN type = 'opened' AND machine IS NULL THEN person END) AS unique_opens,
    count(DISTINCT CASE WHEN type = 'opened' AND machine IS NOT NULL THEN person END) AS machine_opens,
    count(DISTINCT CASE WHEN type = 'clicked' AND machine IS NULL THEN person END) AS unique_clicks,
    count(DISTINCT CASE WHEN type = 'clicked' AND machine IS NOT NULL THEN person END) AS machine_clicks,
    count(DISTINCT CASE WHEN type = 'unsubscribed' THEN person END) AS unsubscribed,
    count(DISTINCT CASE WHEN type = 'complained' THEN person END) AS complained,
    min(ts) AS first_event,
    max(ts) AS last_event"""

# Operator actions are not campaign activity.
ACTIVITY_TYPES = ("sent", "delivered", "hard_bounced", "soft_bounced", "opened", "clicked",
                  "unsubscribed", "complained")

COUNTS = ("sent", "delivered", "hard_bounced", "hard_permanent", "hard_spam_block", "hard_technical",
          "soft_bounced", "given_up", "unique_opens", "machine_opens", "unique_clicks", "machine_clicks",
          "unsubscribed", "complained")
RATES = ("delivery_rate", "hard_bounce_rate", "soft_bounce_rate", "open_rate", "click_rate",
         "click_to_open_rate", "unsubscribe_rate", "complaint_rate")
MAX_BUCKETS = 5000
CSV_COLUMNS = ("campaign",) + COUNTS + RATES + ("first_event", "last_event")


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def with_rates(row: dict) -> dict:
    """Add the marketer's rates to a row of counts."""
    sent, delivered, opens = row["sent"], row["delivered"], row["unique_opens"]
    return {**row,
            "delivery_rate": _ratio(delivered, sent),
            "hard_bounce_rate": _ratio(row["hard_bounced"], sent),
            "soft_bounce_rate": _ratio(row["soft_bounced"], sent),
            "open_rate": _ratio(opens, delivered),
            "click_rate": _ratio(row["unique_clicks"], delivered),
            "click_to_open_rate": _ratio(row["unique_clicks"], opens),
            "unsubscribe_rate": _ratio(row["unsubscribed"], delivered),
            "complaint_rate": _ratio(row["complained"], delivered)}


@dataclass
class Filters:
    """Which events count: one campaign or all, `since` <= ts < `until`."""
    campaign: str | None = None
    since: str | None = None
    until: str | None = None

    def where(self, *extra: str, extra_args: tuple = ()) -> tuple[str, list]:
        clauses = [f"type IN ({', '.join('?' * len(ACTIVITY_TYPES))})", *extra]
        args = [*ACTIVITY_TYPES, *extra_args]
        if self.campaign is not None:
            clauses.append("campaign = ?")
            args.append(self.campaign)
        if self.since:
            clauses.append("ts >= ?")
            args.append(self.since)
        if self.until:
            clauses.append("ts < ?")
            args.append(self.until)
        return " WHERE " + " AND ".join(clauses), args


@dataclass
class Stats:
    at: str
    filters: Filters
    campaigns: list[dict]
    total: dict
    reasons: list[dict]
    domains: list[dict]
    bucket: str  # "day" or "hour"
    activity: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"at": self.at, "campaign": self.filters.campaign, "since": self.filters.since,
                "until": self.filters.until, "total": self.total, "campaigns": self.campaigns,
                "top_bounce_reasons": self.reasons, "top_domains": self.domains,
                "activity": {"bucket": self.bucket, "items": self.activity}}


def _rows(conn, sql: str, args) -> list[dict]:
    cur = conn.execute(sql, args)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur]


def campaign_rows(conn, filters: Filters) -> list[dict]:
    """One row of counts per campaign (None = events without a campaign)."""
    where, args = filters.where()
    rows = _rows(conn, f"SELECT campaign, {FUNNEL_COLUMNS} FROM events{where} "
                       "GROUP BY campaign ORDER BY min(ts), campaign", args)
    return [{k: (v or 0) if k in COUNTS else v for k, v in row.items()} for row in rows]


def top_reasons(conn, filters: Filters, limit: int) -> list[dict]:
    where, args = filters.where("type IN ('hard_bounced', 'soft_bounced')")
    return _rows(conn, "SELECT CASE type WHEN 'hard_bounced' THEN 'hard' ELSE 'soft' END AS bounce, "
                       "bounce_class, coalesce(reason, 'other') AS reason, count(*) AS count, "
                       f"count(DISTINCT person) AS people FROM events{where} "
                       "GROUP BY bounce, bounce_class, reason ORDER BY count DESC, bounce, reason LIMIT ?",
                 [*args, limit])


def top_domains(conn, filters: Filters, limit: int) -> list[dict]:
    """Receiving domains by sends, with how often mail to them failed."""
    where, args = filters.where("type IN ('sent', 'delivered', 'hard_bounced', 'soft_bounced')")
    rows = _rows(conn, "SELECT substr(person, instr(person, '@') + 1) AS domain, "
                       "sum(type = 'sent') AS sent, sum(type = 'delivered') AS delivered, "
                       "sum(type = 'hard_bounced') AS hard_bounced, sum(type = 'soft_bounced') AS soft_bounced "
                       f"FROM events{where} GROUP BY domain ORDER BY sent DESC, domain LIMIT ?",
                 [*args, limit])
    for row in rows:
        row["hard_bounce_rate"] = _ratio(row["hard_bounced"], row["sent"])
        row["soft_bounce_rate"] = _ratio(row["soft_bounced"], row["sent"])
    return rows


def activity(conn, filters: Filters, bucket: str = "auto", *, person: str | None = None) -> tuple[str, list[dict]]:
    """Events per UTC day (or hour) and type: [{"bucket": "2026-11-28", "sent": 3, ...}].
    One scan, per hour; `auto` keeps hours when it all fits in two days."""
    where, args = filters.where(*(["person = ?"] if person else []), extra_args=(person,) if person else ())
    hours = conn.execute(f"SELECT substr(ts, 1, 13), type, count(*) FROM events{where} GROUP BY 1, 2 ORDER BY 1",
                         args).fetchall()
    if bucket == "auto":
        bucket = "hour" if hours and hours[-1][0][:10] <= _day_after(hours[0][0][:10]) else "day"
    counts: dict[str, dict] = {}
    for when, kind, n in hours:
        label = when + ":00" if bucket == "hour" else when[:10]
        item = counts.setdefault(label, {"bucket": label, **{t: 0 for t in ACTIVITY_TYPES}})
        item[kind] += n
    return bucket, _fill_gaps(list(counts.values()), bucket)


def _fill_gaps(items: list[dict], bucket: str) -> list[dict]:
    """Empty buckets between the first and the last, so a chart's time axis
    is even (skipped when that would mean more than MAX_BUCKETS)."""
    if len(items) < 2:
        return items
    from datetime import datetime, timedelta
    fmt, step = ("%Y-%m-%dT%H:00", timedelta(hours=1)) if bucket == "hour" else ("%Y-%m-%d", timedelta(days=1))
    first, last = (datetime.strptime(items[i]["bucket"], fmt) for i in (0, -1))
    if (last - first) / step > MAX_BUCKETS:
        return items
    have = {item["bucket"]: item for item in items}
    out, when = [], first
    while when <= last:
        label = when.strftime(fmt)
        out.append(have.get(label) or {"bucket": label, **{t: 0 for t in ACTIVITY_TYPES}})
        when += step
    return out


def _day_after(day: str) -> str:
    from datetime import date, timedelta
    return (date.fromisoformat(day) + timedelta(days=1)).isoformat()


def given_up_by_campaign(retries: list, filters: Filters) -> dict:
    """Soft-bounced sends whose retries ended undelivered, per campaign."""
    out: dict = {}
    for r in retries:
        if r.status != "given_up" or (filters.campaign is not None and r.campaign != filters.campaign):
            continue
        if (filters.since and r.first_soft_bounce < filters.since) or (filters.until and r.first_soft_bounce >= filters.until):
            continue
        out[r.campaign] = out.get(r.campaign, 0) + 1
    return out


def campaign_stats(store, config: Config, at: str, filters: Filters, *, top: int = 10,
                   bucket: str = "auto", retries: list | None = None) -> Stats:
    """Everything `stats` shows, evaluated at `at` (for given-up retries).
    `retries`: StateQueries.retries(at, include_given_up=True), when the
    caller has it already."""
    if retries is None:
        from .state import StateQueries
        retries = StateQueries(store, config).retries(at, include_given_up=True)
    conn = store.conn
    given_up = given_up_by_campaign(retries, filters)
    rows = []
    for row in campaign_rows(conn, filters):
        row["given_up"] = given_up.get(row["campaign"], 0)
        full = with_rates(row)
        rows.append({c: full[c] for c in CSV_COLUMNS})  # the documented column order, in JSON too
    total = {c: sum(r[c] for r in rows) for c in COUNTS}
    total["first_event"] = min((r["first_event"] for r in rows if r["first_event"]), default=None)
    total["last_event"] = max((r["last_event"] for r in rows if r["last_event"]), default=None)
    bucket, items = activity(conn, filters, bucket)
    return Stats(at=at, filters=filters, campaigns=rows, total=with_rates({"campaign": None, **total}),
                 reasons=top_reasons(conn, filters, top), domains=top_domains(conn, filters, top),
                 bucket=bucket, activity=items)
