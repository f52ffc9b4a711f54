"""Campaign figures as a marketer reads them: the funnel, rates, top bounce
reasons, top receiving domains and activity over time.

Pure queries returning plain data; `stats`, `report --html` and the
`campaign_funnel` view count the same way. Definitions (also in the README):

* sent, delivered, soft/hard bounced: sends (one message to one person);
  a soft-bounced send that was delivered later counts in both.
* unique opens and clicks: people, per campaign, human and machine apart
  (a person with both a proxy prefetch and a real open counts in both).
* unsubscribed, complained: people.
* rates: delivered / sent; hard and soft bounces / sent; opens, clicks,
  unsubscribes and complaints / delivered; click-to-open = clicks / opens
  (human ones). A rate with nothing to divide by is None.

Speed: event counts come from the hourly `counts` kept at ingest, so a
year of mail sums a few thousand rows; a window that does not start or end
on the hour adds the events of its partial hours, read one by one. People
(distinct) are counted from the bounce and engagement rows themselves.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .config import Config
from .store.codec import epoch, iso
from .store.schema import CLASS_OF_OUTCOME, M_DELIVERED, M_FIRST, M_HARD, M_LAST, M_SENT, M_SOFT, M_TYPE

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

# counts.metric -> (event type, funnel column or None)
METRICS = {M_SENT: ("sent", "sent"), M_DELIVERED: ("delivered", "delivered"), M_SOFT: ("soft_bounced", "soft_bounced"),
           M_HARD[2]: ("hard_bounced", "hard_permanent"), M_HARD[3]: ("hard_bounced", "hard_spam_block"),
           M_HARD[4]: ("hard_bounced", "hard_technical"), M_HARD[5]: ("hard_bounced", None),
           **{m: (t, None) for t, m in M_TYPE.items()}}
HARD_COLUMN = {"permanent": "hard_permanent", "spam_block": "hard_spam_block", "technical": "hard_technical"}
HOUR = 3600


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


class _Window:
    """A filter as seconds and as whole hours, with the partial hours at
    its edges: [lo, hi) = whole hours [lo_hour, hi_hour) plus `edges`."""

    def __init__(self, store, filters: Filters):
        self.campaign_id = None
        self.empty = False
        if filters.campaign is not None:
            self.campaign_id = store.reader.name_id("campaign", filters.campaign)
            self.empty = self.campaign_id is None
        self.lo, self.hi = epoch(filters.since), epoch(filters.until)
        self.lo_hour = None if self.lo is None else -(-self.lo // HOUR)
        self.hi_hour = None if self.hi is None else self.hi // HOUR
        self.edges: list[tuple[int | None, int | None]] = []
        if self.lo_hour is not None and self.hi_hour is not None and self.lo_hour > self.hi_hour:
            self.edges = [(self.lo, self.hi)]  # inside one hour
            self.lo_hour = self.hi_hour = 0
        else:
            if self.lo is not None and self.lo % HOUR:
                self.edges.append((self.lo, self.lo_hour * HOUR))
            if self.hi is not None and self.hi % HOUR:
                self.edges.append((self.hi_hour * HOUR, self.hi))

    def hours_sql(self, column: str = "hour") -> tuple[str, list]:
        where, args = [], []
        if self.lo_hour is not None:
            where.append(f"{column} >= ?")
            args.append(self.lo_hour)
        if self.hi_hour is not None:
            where.append(f"{column} < ?")
            args.append(self.hi_hour)
        if self.campaign_id is not None:
            where.append("campaign = ?")
            args.append(self.campaign_id)
        return (" AND ".join(where) or "TRUE"), args

    def seconds_sql(self, column: str, campaign_column: str) -> tuple[str, list]:
        where, args = [], []
        if self.lo is not None:
            where.append(f"{column} >= ?")
            args.append(self.lo)
        if self.hi is not None:
            where.append(f"{column} < ?")
            args.append(self.hi)
        if self.campaign_id is not None:
            where.append(f"{campaign_column} = ?")
            args.append(self.campaign_id)
        return (" AND ".join(where) or "TRUE"), args


class _Tally:
    """Event counts by campaign, hour and domain."""

    def __init__(self):
        self.funnel: dict = defaultdict(Counter)   # campaign id -> column -> n
        self.span: dict = {}                       # campaign id -> [first, last]
        self.hours: dict = defaultdict(Counter)    # hour -> event type -> n
        self.domains: dict = defaultdict(lambda: [0, 0, 0, 0])

    def add(self, campaign: int, column: str | None, kind: str, n: int) -> None:
        row = self.funnel[campaign]
        row[kind] += n
        if column and column != kind:
            row[column] += n

    def stretch(self, campaign: int, first, last) -> None:
        have = self.span.get(campaign)
        if first is None:
            return
        if have is None:
            self.span[campaign] = [first, last]
        else:
            have[0], have[1] = min(have[0], first), max(have[1], last)


def _from_counts(conn, window: _Window, tally: _Tally) -> None:
    where, args = window.hours_sql()
    for campaign, metric, n in conn.execute(
            f"SELECT campaign, metric, sum(n) FROM counts WHERE {where} AND metric < {M_FIRST} "
            "GROUP BY campaign, metric", args):
        kind, column = METRICS[metric]
        tally.add(campaign, column, kind, n)
    for campaign, first, last in conn.execute(
            f"SELECT campaign, min(CASE WHEN metric = {M_FIRST} THEN n END), "
            f"max(CASE WHEN metric = {M_LAST} THEN n END) FROM counts WHERE {where} "
            f"AND metric IN ({M_FIRST}, {M_LAST}) GROUP BY campaign", args):
        tally.stretch(campaign, first, last)
    for hour, metric, n in conn.execute(
            f"SELECT hour, metric, sum(n) FROM counts WHERE {where} AND metric < {M_FIRST} GROUP BY hour, metric",
            args):
        tally.hours[hour][METRICS[metric][0]] += n
    for domain, *counts in conn.execute(
            f"SELECT domain, sum(sent), sum(delivered), sum(hard), sum(soft) FROM domain_counts WHERE {where} "
            "GROUP BY domain", args):
        have = tally.domains[domain]
        for i, n in enumerate(counts):
            have[i] += n


def _from_events(store, window: _Window, lo: int | None, hi: int | None, tally: _Tally) -> None:
    """The same counts from the events themselves (a partial hour)."""
    reader = store.reader
    ids = {}
    for event in reader.events(since=iso(lo), until=iso(hi), campaign=None, types=ACTIVITY_TYPES):
        campaign = ids.setdefault(event["campaign"], reader.name_id("campaign", event["campaign"])
                                  if event["campaign"] is not None else 0) or 0
        if window.campaign_id is not None and campaign != window.campaign_id:
            continue
        kind = event["type"]
        column = HARD_COLUMN.get(event["bounce_class"]) if kind == "hard_bounced" else kind
        tally.add(campaign, column, kind, 1)
        ts = epoch(event["ts"])
        tally.stretch(campaign, ts, ts)
        tally.hours[ts // HOUR][kind] += 1
        slot = {"sent": 0, "delivered": 1, "hard_bounced": 2, "soft_bounced": 3}.get(kind)
        if slot is not None:
            domain = event["person"].rpartition("@")[2] or event["person"]
            tally.domains[("name", domain)][slot] += 1


def tally(store, filters: Filters) -> _Tally:
    window = _Window(store, filters)
    result = _Tally()
    if window.empty:
        return result
    if window.lo_hour is None or window.hi_hour is None or window.lo_hour < window.hi_hour:
        _from_counts(store.conn, window, result)
    for lo, hi in window.edges:
        _from_events(store, window, lo, hi, result)
    return result


def _engagement(conn, window: _Window) -> dict:
    """People who opened, clicked, unsubscribed, complained, per campaign."""
    if window.empty:
        return {}
    where, args = window.seconds_sql("ts", "campaign")
    out = {}
    for campaign, *counts in conn.execute(f"""
            SELECT coalesce(campaign, 0),
                count(DISTINCT CASE WHEN type = 4 AND machine IS NULL THEN person END),
                count(DISTINCT CASE WHEN type = 4 AND machine IS NOT NULL THEN person END),
                count(DISTINCT CASE WHEN type = 5 AND machine IS NULL THEN person END),
                count(DISTINCT CASE WHEN type = 5 AND machine IS NOT NULL THEN person END),
                count(DISTINCT CASE WHEN type = 6 THEN person END),
                count(DISTINCT CASE WHEN type = 7 THEN person END)
            FROM actions WHERE type IN (4, 5, 6, 7) AND {where} GROUP BY 1""", args):
        out[campaign] = dict(zip(("unique_opens", "machine_opens", "unique_clicks", "machine_clicks",
                                  "unsubscribed", "complained"), counts))
    return out


def top_reasons(store, filters: Filters, limit: int) -> list[dict]:
    """Bounce reasons by how many bounces gave them, with how many people.
    Each kind is counted where it is kept in its order: hard bounces in the
    sends_reasons index, soft ones in soft_bounces (which carries the
    person), hard outcomes stored as actions (a send's second outcome, a
    few rows) apart; a group met in both is counted again across the two."""
    window = _Window(store, filters)
    if window.empty:
        return []
    conn = store.conn
    hard, hard_args = window.seconds_sql("out_ts", "campaign")
    soft, soft_args = window.seconds_sql("first_ts", "campaign")
    extra, extra_args = window.seconds_sql("ts", "campaign")
    groups = {}
    for kind, reason, count, people in conn.execute(
            "SELECT outcome, out_reason, count(*), count(DISTINCT person) FROM sends "
            f"WHERE outcome > 1 AND {hard} GROUP BY outcome, out_reason", hard_args):
        groups[(kind, reason)] = [count, people]
    for reason, count, people in conn.execute(
            "SELECT first_reason, count(*), count(DISTINCT person) FROM soft_bounces "
            f"WHERE {soft} GROUP BY first_reason", soft_args):
        groups[(0, reason)] = [count, people]
    for kind, reason, count, people in conn.execute(
            "SELECT coalesce(class, 4) + 1, reason, count(*), count(DISTINCT person) FROM actions "
            f"WHERE type = 2 AND {extra} GROUP BY 1, 2", extra_args).fetchall():
        if (kind, reason) not in groups:
            groups[(kind, reason)] = [count, people]
            continue
        both = conn.execute(f"""
            SELECT count(*) FROM (
                SELECT person FROM sends WHERE outcome = ? AND coalesce(out_reason, 0) = ? AND {hard}
                UNION
                SELECT person FROM actions WHERE type = 2 AND coalesce(class, 4) + 1 = ?
                    AND coalesce(reason, 0) = ? AND {extra}) AS bounced""",
            [kind, reason or 0, *hard_args, kind, reason or 0, *extra_args]).fetchone()[0]
        groups[(kind, reason)] = [groups[(kind, reason)][0] + count, both]
    names = store.reader.names()
    items = [{"bounce": "soft" if kind == 0 else "hard", "bounce_class": None if kind == 0 else CLASS_OF_OUTCOME.get(kind),
              "reason": names.get(reason) or "other", "count": count, "people": people}
             for (kind, reason), (count, people) in groups.items()]
    items.sort(key=lambda r: (-r["count"], r["bounce"], r["reason"]))
    return items[:limit]


def top_domains(store, counted: _Tally, limit: int) -> list[dict]:
    """Receiving domains by sends, with how often mail to them failed."""
    names = store.reader.names()
    merged: dict[str, list] = defaultdict(lambda: [0, 0, 0, 0])
    for key, counts in counted.domains.items():
        domain = key[1] if isinstance(key, tuple) else names.get(key, "")
        have = merged[domain]
        for i, n in enumerate(counts):
            have[i] += n
    rows = [{"domain": d, "sent": c[0], "delivered": c[1], "hard_bounced": c[2], "soft_bounced": c[3]}
            for d, c in merged.items() if any(c)]
    rows.sort(key=lambda r: (-r["sent"], r["domain"]))
    for row in rows[:limit]:
        row["hard_bounce_rate"] = _ratio(row["hard_bounced"], row["sent"])
        row["soft_bounce_rate"] = _ratio(row["soft_bounced"], row["sent"])
    return rows[:limit]


def _hours_to_items(hours: dict, bucket: str) -> tuple[str, list[dict]]:
    stamps = sorted(h for h, c in hours.items() if any(c.values()))
    if bucket == "auto":
        bucket = "hour" if stamps and iso(stamps[-1] * HOUR)[:10] <= _day_after(iso(stamps[0] * HOUR)[:10]) else "day"
    counts: dict[str, dict] = {}
    for hour in stamps:
        when = iso(hour * HOUR)
        label = when[:13] + ":00" if bucket == "hour" else when[:10]
        item = counts.setdefault(label, {"bucket": label, **{t: 0 for t in ACTIVITY_TYPES}})
        for kind, n in hours[hour].items():
            item[kind] += n
    return bucket, _fill_gaps(list(counts.values()), bucket)


def activity(store, filters: Filters, bucket: str = "auto", *, person: str | None = None) -> tuple[str, list[dict]]:
    """Events per UTC day (or hour) and type: [{"bucket": "2026-11-28", "sent": 3, ...}];
    `auto` keeps hours when it all fits in two days."""
    if person is None:
        return _hours_to_items(tally(store, filters).hours, bucket)
    hours: dict = defaultdict(Counter)
    for event in store.reader.events(person=person, campaign=filters.campaign, since=filters.since,
                                     until=filters.until, types=ACTIVITY_TYPES):
        hours[epoch(event["ts"]) // HOUR][event["type"]] += 1
    return _hours_to_items(hours, bucket)


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


def given_up_by_campaign(store, config: Config, at: str, filters: Filters) -> dict:
    """Soft-bounced sends whose retries ended undelivered by `at`, per campaign id."""
    window = _Window(store, filters)
    if window.empty:
        return {}
    where, args = window.seconds_sql("b.first_ts", "b.campaign")
    at_s = epoch(at)
    expired = store.reader.name_id("reason", "expired") or -1
    rows = store.conn.execute(f"""
        SELECT coalesce(b.campaign, 0), count(*) FROM soft_bounces b
        WHERE b.first_ts <= ? AND NOT coalesce(b.resolved_ts <= ?, FALSE)
          AND (b.first_ts + ? <= ? OR (b.reason = ? AND b.last_ts <= ?)) AND {where}
        GROUP BY 1""", [at_s, at_s, int(config.retry_window_hours * 3600), at_s, expired, at_s, *args])
    return dict(rows.fetchall())


def campaign_stats(store, config: Config, at: str, filters: Filters, *, top: int = 10,
                   bucket: str = "auto", retries=None) -> Stats:
    """Everything `stats` shows, evaluated at `at` (for given-up retries)."""
    del retries  # the given-up count comes from the retry state directly
    counted = tally(store, filters)
    engaged = _engagement(store.conn, _Window(store, filters))
    given_up = given_up_by_campaign(store, config, at, filters)
    names = store.reader.names()
    rows = []
    order = sorted(counted.span, key=lambda c: (counted.span[c][0], names.get(c) or ""))
    for campaign in order:
        funnel = counted.funnel.get(campaign, Counter())
        row = {"campaign": names.get(campaign) if campaign else None}
        for column in COUNTS:
            row[column] = funnel.get(column, 0)
        row.update(engaged.get(campaign, {}))
        row["given_up"] = given_up.get(campaign, 0)
        first, last = counted.span[campaign]
        row["first_event"], row["last_event"] = iso(first), iso(last)
        full = with_rates(row)
        rows.append({c: full[c] for c in CSV_COLUMNS})  # the documented column order, in JSON too
    total = {c: sum(r[c] for r in rows) for c in COUNTS}
    total["first_event"] = min((r["first_event"] for r in rows if r["first_event"]), default=None)
    total["last_event"] = max((r["last_event"] for r in rows if r["last_event"]), default=None)
    bucket, items = _hours_to_items(counted.hours, bucket)
    return Stats(at=at, filters=filters, campaigns=rows, total=with_rates({"campaign": None, **total}),
                 reasons=top_reasons(store, filters, top), domains=top_domains(store, counted, top),
                 bucket=bucket, activity=items)


def prometheus_figures(store, config: Config, at: str):
    """What `emaillog metrics` exposes (emaillog/metrics.py Figures), from
    the hourly counts, the hard-bounce index, the suppression versions (and
    those kept for forgotten people) and the retry state, as of `at`."""
    from importlib.metadata import PackageNotFoundError, version

    from .metrics import Figures
    from .state import REASONS, StateQueries
    from .store.schema import CLASS_NAME
    conn = store.conn
    names = store.reader.names()
    events = Counter()
    for campaign, metric, n in conn.execute(
            f"SELECT campaign, metric, sum(n) FROM counts WHERE metric < {M_FIRST} GROUP BY campaign, metric"):
        events[(METRICS[metric][0], names.get(campaign) if campaign else None)] += n
    hard = Counter()
    for cls, reason, n in conn.execute("SELECT outcome, out_reason, count(*) FROM sends WHERE outcome > 1 "
                                       "GROUP BY outcome, out_reason"):
        hard[(CLASS_OF_OUTCOME.get(cls), names.get(reason))] += n
    for cls, reason, n in conn.execute("SELECT class, reason, count(*) FROM actions WHERE type = 2 "
                                       "GROUP BY class, reason"):
        hard[(CLASS_NAME.get(cls), names.get(reason))] += n
    t = epoch(at)
    suppressions = Counter()
    for table in ("suppressions", "forgotten_suppressions"):
        for reason, n in conn.execute(
                f"SELECT reason, count(*) FROM {table} WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to > ?) "
                "AND (until IS NULL OR until > ?) GROUP BY reason", (t, t, t)):
            suppressions[REASONS[reason - 1]] += n
    pending = Counter(r.campaign for r in StateQueries(store, config).retries(at))
    last = conn.execute(f"SELECT max(n) FROM counts WHERE metric = {M_LAST} "
                        "AND hour = (SELECT max(hour) FROM counts)").fetchone()[0]
    try:
        info = {"version": version("emaillog")}
    except PackageNotFoundError:
        info = {"version": "unknown"}
    return Figures(events={k: n for k, n in events.items() if n}, hard_bounces=dict(hard),
                   suppressions=dict(suppressions), pending_retries=dict(pending), last_event_ts=last,
                   build_info=info)
