"""`stats`, the database views and the terminal charts on a scenario whose
counts are known by construction: SendGrid event-webhook records (the
documented shape, as in tests/logs/esp/sendgrid.jsonl) for two campaigns.

spring: 7 sends to a..g. a-d and g delivered (g after one deferral); e is
  a dead mailbox (550 5.1.1), f blocked by Spamhaus (554 5.7.1).
  Opens: a twice (one person), b once, c only by Apple's proxy, d by the
  proxy and by a person. Clicks: a two links, b one. b unsubscribes, c
  reports spam.
autumn: 3 sends; h and i delivered; j deferred, never delivered.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest

from emaillog.config import Config
from emaillog.state import StateQueries
from emaillog.stats import Filters, campaign_stats

NOW = datetime.now(timezone.utc).replace(microsecond=0)
START = NOW - timedelta(hours=3)
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def record(n: int, who: str, event: str, minutes: float, campaign: str, **extra) -> dict:
    ts = int((START + timedelta(minutes=minutes)).timestamp())
    return {"email": f"{who}@example.{'org' if who in 'efj' else 'com'}", "timestamp": ts,
            "smtp-id": f"<SG{campaign}{who}@ismtpd0001p1.sendgrid.net>", "event": event,
            "category": [campaign], "sg_event_id": f"ev{n}",
            "sg_message_id": f"SG{campaign}{who}.filter0001p1.1.0", **extra}


def scenario() -> list[dict]:
    out = []

    def add(who, event, minutes, campaign="spring", **extra):
        out.append(record(len(out), who, event, minutes, campaign, **extra))

    for who in "abcdefg":
        add(who, "processed", 0)
    for who in "abcd":
        add(who, "delivered", 1, response="250 2.0.0 OK")
    add("g", "deferred", 1, response="451 4.7.1 Greylisted, try again later", attempt="1")
    add("g", "delivered", 20, response="250 2.0.0 OK")
    add("e", "bounce", 1, type="bounce", status="5.1.1",
        reason="550 5.1.1 The email account that you tried to reach does not exist.")
    add("f", "bounce", 1, type="blocked", status="5.7.1",
        reason="554 5.7.1 Service unavailable; Client host [192.0.2.5] blocked using zen.spamhaus.org")
    for who, minutes, machine in (("a", 30, False), ("a", 50, False), ("b", 40, False),
                                  ("c", 2, True), ("d", 2, True), ("d", 45, False)):
        add(who, "open", minutes, useragent="Mozilla/5.0" if machine else BROWSER,
            ip="17.58.1.1" if machine else "198.51.100.20", sg_machine_open=machine)
    for who, minutes, url in (("a", 31, "https://shop.example/a"), ("a", 52, "https://shop.example/b"),
                              ("b", 41, "https://shop.example/a")):
        add(who, "click", minutes, useragent=BROWSER, ip="198.51.100.20", url=url)
    add("b", "unsubscribe", 42)
    add("c", "spamreport", 60)
    for who in "hij":
        add(who, "processed", 5, "autumn")
    for who in "hi":
        add(who, "delivered", 6, "autumn", response="250 2.0.0 OK")
    add("j", "deferred", 6, "autumn", response="421 4.7.0 Try again later, closing connection.", attempt="1")
    return out


@pytest.fixture
def loaded(ingest, tmp_path):
    path = tmp_path / "sendgrid.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in scenario()))
    store, summary = ingest([path])
    assert summary.rejected == 0 and not summary.problems
    return store


def at(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def by_campaign(stats) -> dict:
    return {row["campaign"]: row for row in stats.campaigns}


def test_funnel_counts_and_rates(loaded):
    spring = by_campaign(campaign_stats(loaded, Config(), at(0), Filters()))["spring"]
    assert {k: spring[k] for k in (
        "sent", "delivered", "hard_bounced", "hard_permanent", "hard_spam_block", "hard_technical",
        "soft_bounced", "unique_opens", "machine_opens", "unique_clicks", "machine_clicks",
        "unsubscribed", "complained")} == {
        "sent": 7, "delivered": 5, "hard_bounced": 2, "hard_permanent": 1, "hard_spam_block": 1,
        "hard_technical": 0, "soft_bounced": 1, "unique_opens": 3, "machine_opens": 2,
        "unique_clicks": 2, "machine_clicks": 0, "unsubscribed": 1, "complained": 1}
    assert spring["delivery_rate"] == round(5 / 7, 4)
    assert spring["hard_bounce_rate"] == round(2 / 7, 4)
    assert spring["open_rate"] == 0.6 and spring["click_rate"] == 0.4
    assert spring["click_to_open_rate"] == round(2 / 3, 4)
    assert spring["unsubscribe_rate"] == 0.2 and spring["complaint_rate"] == 0.2


def test_given_up_depends_on_the_moment(loaded):
    """j's deferral is pending inside the 36 h window and given up after it;
    g's was resolved by its delivery."""
    assert by_campaign(campaign_stats(loaded, Config(), at(0), Filters()))["autumn"]["given_up"] == 0
    later = by_campaign(campaign_stats(loaded, Config(), at(40), Filters()))
    assert later["autumn"]["given_up"] == 1 and later["spring"]["given_up"] == 0


def test_totals_filters_reasons_and_domains(loaded):
    stats = campaign_stats(loaded, Config(), at(0), Filters())
    assert stats.total["sent"] == 10 and stats.total["delivered"] == 7 and stats.total["soft_bounced"] == 2
    assert stats.total["delivery_rate"] == 0.7
    only = campaign_stats(loaded, Config(), at(0), Filters(campaign="autumn"))
    assert [r["campaign"] for r in only.campaigns] == ["autumn"] and only.total["sent"] == 3
    early = campaign_stats(loaded, Config(), at(0), Filters(until=(START + timedelta(minutes=10)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")))
    assert by_campaign(early)["spring"]["delivered"] == 4  # g's delivery came at minute 20
    reasons = {(r["bounce"], r["bounce_class"], r["reason"]): r["count"] for r in stats.reasons}
    assert reasons[("hard", "permanent", "user_unknown")] == 1
    assert reasons[("hard", "spam_block", "blocklisted")] == 1
    assert reasons[("soft", None, "greylisted")] == 1
    domains = {d["domain"]: d for d in stats.domains}
    assert domains["example.org"]["sent"] == 3 and domains["example.org"]["hard_bounced"] == 2
    assert domains["example.org"]["hard_bounce_rate"] == round(2 / 3, 4)
    assert domains["example.com"]["sent"] == 7 and domains["example.com"]["hard_bounced"] == 0


def test_reasons_count_people_once_across_sends_and_second_outcomes(ingest, tmp_path):
    """k's spring mail was delivered, then bounced (a second outcome, kept
    as an action); k's autumn mail and e's bounced outright, all "user
    unknown": three bounces of two people, though the three are kept in
    two tables."""
    unknown = {"type": "bounce", "status": "5.1.1", "reason": "550 5.1.1 <x>: Recipient address rejected: User unknown"}
    records = [record(0, "k", "processed", 0, "spring"), record(1, "k", "delivered", 1, "spring", response="250 OK"),
               record(2, "k", "bounce", 30, "spring", **unknown),
               record(3, "k", "processed", 5, "autumn"), record(4, "k", "bounce", 6, "autumn", **unknown),
               record(5, "e", "processed", 0, "spring"), record(6, "e", "bounce", 1, "spring", **unknown)]
    path = tmp_path / "sendgrid.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    store, _ = ingest([path])
    assert store.conn.execute("SELECT count(*) FROM actions WHERE type = 2").fetchone()[0] == 1
    reasons = {(r["bounce"], r["reason"]): (r["count"], r["people"])
               for r in campaign_stats(store, Config(), at(0), Filters()).reasons}
    assert reasons[("hard", "user_unknown")] == (3, 2)
    spring = campaign_stats(store, Config(), at(0), Filters(campaign="spring")).reasons
    assert [(r["reason"], r["count"], r["people"]) for r in spring] == [("user_unknown", 2, 2)]


def test_campaign_funnel_view_agrees_with_stats(loaded):
    stats = by_campaign(campaign_stats(loaded, Config(), at(0), Filters()))
    cur = loaded.conn.execute("SELECT * FROM campaign_funnel")
    names = [d[0] for d in cur.description]
    view = {row["campaign"]: row for row in (dict(zip(names, r)) for r in cur)}
    assert set(view) == set(stats)
    for campaign, row in view.items():
        for column, value in row.items():
            assert stats[campaign][column] == value, (campaign, column)


def test_status_views_agree_with_the_commands(loaded):
    """active_suppressions, pending_retries and person_status answer at
    SQLite's now what StateQueries answers at the same moment."""
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    queries = StateQueries(loaded, Config())
    expected = {(s.person, s.scope, s.reason) for s in queries.suppressions(now)}
    assert expected == {("e@example.org", None, "hard_bounce"), ("f@example.org", "spring", "spam_block"),
                        ("b@example.com", None, "unsubscribed"), ("c@example.com", None, "complained")}
    view = set(loaded.conn.execute("SELECT person, scope, reason FROM active_suppressions"))
    assert view == expected
    pending = {r.person for r in queries.retries(now)}
    assert pending == {"j@example.org"}
    assert {r[0] for r in loaded.conn.execute("SELECT person FROM pending_retries")} == pending
    status = dict(loaded.conn.execute("SELECT person, status FROM person_status"))
    assert status == {"a@example.com": "mailable", "b@example.com": "suppressed", "c@example.com": "suppressed",
                      "d@example.com": "mailable", "e@example.org": "suppressed",
                      "f@example.org": "suppressed_for_some_campaigns", "g@example.com": "mailable",
                      "h@example.com": "mailable", "i@example.com": "mailable", "j@example.org": "retrying"}


def test_views_follow_the_configured_windows(loaded):
    """A 1-hour spam block (config) ends f's block in the view, as in `suppressed`."""
    short = Config(spam_block_hours=0.5)
    loaded.sync_views(short)
    reasons = {r[0] for r in loaded.conn.execute("SELECT reason FROM active_suppressions")}
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "spam_block" not in reasons
    assert "spam_block" not in {s.reason for s in StateQueries(loaded, short).suppressions(now)}


def test_stats_command_formats(loaded, cli, tmp_path):
    db = str(loaded.path)
    doc = json.loads(cli("--db", db, "stats", "--json").stdout)
    assert doc["total"]["sent"] == 10
    assert {c["campaign"] for c in doc["campaigns"]} == {"spring", "autumn"}
    assert doc["activity"]["bucket"] == "hour"
    hours = [item["bucket"] for item in doc["activity"]["items"]]
    assert sum(item["sent"] for item in doc["activity"]["items"]) == 10
    assert len(hours) >= 2 and all(  # an even time axis: quiet hours are there, empty
        datetime.fromisoformat(b) - datetime.fromisoformat(a) == timedelta(hours=1) for a, b in zip(hours, hours[1:]))
    rows = list(csv.DictReader(io.StringIO(cli("--db", db, "stats", "--format", "csv").stdout)))
    assert [r["campaign"] for r in rows] == ["spring", "autumn"]
    assert rows[0]["unique_opens"] == "3" and rows[0]["machine_opens"] == "2" and rows[0]["open_rate"] == "0.6"
    table = cli("--db", db, "stats", "--campaign", "spring")
    assert table.returncode == 0
    assert "spring" in table.stdout and "71.4%" in table.stdout and "autumn" not in table.stdout
    assert "█" in table.stdout and "▓" in table.stdout  # the chart: delivered and hard-bounced glyphs


def test_stats_on_an_empty_period(loaded, cli):
    result = cli("--db", str(loaded.path), "stats", "--since", at(24))
    assert result.returncode == 0 and "No campaign activity" in result.stdout


def test_person_shows_an_activity_chart(loaded, cli):
    out = cli("--db", str(loaded.path), "person", "a@example.com").stdout
    assert "Activity per" in out and "█" in out


def test_chart_bars_are_proportional_and_readable_without_colour():
    from rich.console import Console

    from emaillog.charts import activity_chart
    zero = {t: 0 for t in ("sent", "delivered", "soft_bounced", "hard_bounced", "opened", "clicked",
                           "unsubscribed", "complained")}
    items = [{**zero, "bucket": "2026-11-27", "sent": 20, "delivered": 10, "soft_bounced": 5, "hard_bounced": 5},
             {**zero, "bucket": "2026-11-28", "sent": 5, "delivered": 5},
             {**zero, "bucket": "2026-11-29"}]
    console = Console(width=100, no_color=True, record=True)
    console.print(activity_chart(items, bucket="day", width=40))
    lines = {line.split()[0]: line for line in console.export_text().splitlines() if line.startswith("2026")}
    assert lines["2026-11-27"].count("█") == 20 and lines["2026-11-27"].count("▒") == 10
    assert lines["2026-11-27"].count("▓") == 10
    assert lines["2026-11-28"].count("█") == 10 and "▒" not in lines["2026-11-28"]
    assert not any(glyph in lines["2026-11-29"] for glyph in "█▒▓")
