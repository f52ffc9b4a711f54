"""Suppression and retry rules (SPEC §2) at chosen moments, on events."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from emaillog.config import Config
from emaillog.rules.retry import retry_status
from emaillog.rules.suppression import Happening, versions
from emaillog.store.codec import epoch, iso

CFG = Config()
_ids = iter(range(1, 10_000))


def ev(ts, type_, person="ann@example.com", **kw):
    return {"id": next(_ids), "ts": ts, "type": type_, "person": person, **kw}


def active(rows, at, config=CFG):
    """The suppressions in force at `at`, per person, from their versions."""
    t = epoch(at)
    out = []
    for person in sorted({r["person"] for r in rows}):
        happenings = [Happening(epoch(r["ts"]), r["id"], r["type"], r.get("bounce_class"), r.get("campaign"),
                                r.get("scope"), epoch(r.get("until"))) for r in rows if r["person"] == person]
        for v in versions(happenings, int(config.spam_block_hours * 3600)):
            if v.valid_from <= t and (v.valid_to is None or v.valid_to > t) and (v.until is None or v.until > t):
                out.append((person, v))
    return out


def reasons(rows, at, campaign=None):
    return sorted((v.reason, v.scope) for _, v in active(rows, at) if campaign is None or v.scope in (None, campaign))


def test_permanent_hard_bounce_suppresses_every_campaign_forever():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="permanent", campaign="spring")]
    assert reasons(rows, "2026-11-28T09:59:59Z") == []
    assert reasons(rows, "2026-11-28T10:00:00Z") == [("hard_bounce", None)]
    assert reasons(rows, "2031-01-01T00:00:00Z", campaign="autumn") == [("hard_bounce", None)]


def test_delivery_after_permanent_bounce_does_not_lift_it():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="permanent"),
            ev("2026-11-29T10:00:00Z", "delivered")]
    assert reasons(rows, "2026-11-30T00:00:00Z") == [("hard_bounce", None)]


@pytest.mark.parametrize("at,blocked", [
    ("2026-11-28T10:00:00Z", True),
    ("2026-11-29T09:59:59Z", True),   # 24 h less a second
    ("2026-11-29T10:00:00Z", False),  # exactly 24 h later: over
])
def test_spam_block_stops_only_that_campaign_for_24_hours(at, blocked):
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="spam_block", campaign="spring")]
    assert bool(reasons(rows, at, campaign="spring")) is blocked
    assert reasons(rows, at, campaign="autumn") == []


def test_spam_block_window_is_configurable():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="spam_block", campaign="spring")]
    assert active(rows, "2026-11-28T11:30:00Z", Config(spam_block_hours=1)) == []


def test_a_second_spam_block_extends_the_window():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="spam_block", campaign="spring"),
            ev("2026-11-28T20:00:00Z", "hard_bounced", bounce_class="spam_block", campaign="spring")]
    [(_, sup)] = active(rows, "2026-11-29T12:00:00Z")
    assert iso(sup.since) == "2026-11-28T10:00:00Z" and iso(sup.until) == "2026-11-29T20:00:00Z"


def test_technical_bounce_suppresses_nobody():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="technical")]
    assert reasons(rows, "2026-11-28T11:00:00Z") == []


@pytest.mark.parametrize("kind", ["unsubscribed", "complained"])
def test_unsubscribe_and_complaint_suppress_every_campaign_until_released(kind):
    rows = [ev("2026-11-28T10:00:00Z", kind, campaign="spring"),
            ev("2026-12-05T10:00:00Z", "released", note="re-subscribed by phone")]
    assert reasons(rows, "2026-11-30T00:00:00Z", campaign="autumn") == [(kind, None)]
    assert reasons(rows, "2026-12-05T10:00:00Z") == []


def test_release_lifts_only_what_was_in_force_then():
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="permanent"),
            ev("2026-11-29T10:00:00Z", "released"),
            ev("2026-11-30T10:00:00Z", "hard_bounced", bounce_class="permanent")]
    assert reasons(rows, "2026-11-29T12:00:00Z") == []
    assert reasons(rows, "2026-11-30T12:00:00Z") == [("hard_bounce", None)]


def test_events_in_any_order_give_the_same_intervals():
    """Versions come from all of a person's events sorted by time: a release
    read before the older hard bounce it lifts still lifts it."""
    rows = [ev("2026-11-28T10:00:00Z", "hard_bounced", bounce_class="permanent"),
            ev("2026-11-29T10:00:00Z", "released"),
            ev("2026-11-30T10:00:00Z", "unsubscribed")]
    forward = active(rows, "2026-11-29T12:00:00Z") + active(rows, "2026-12-01T00:00:00Z")
    backward = active(list(reversed(rows)), "2026-11-29T12:00:00Z") + active(list(reversed(rows)),
                                                                             "2026-12-01T00:00:00Z")
    assert forward == backward and [v.reason for _, v in forward] == ["unsubscribed"]


def test_campaign_release_leaves_global_suppressions():
    rows = [ev("2026-11-28T10:00:00Z", "manual_suppressed", scope="spring"),
            ev("2026-11-28T10:00:01Z", "unsubscribed"),
            ev("2026-11-28T11:00:00Z", "released", scope="spring")]
    assert reasons(rows, "2026-11-28T12:00:00Z") == [("unsubscribed", None)]


def test_manual_suppression_with_an_end():
    rows = [ev("2026-11-28T10:00:00Z", "manual_suppressed", scope=None, until="2026-12-01T00:00:00Z")]
    assert reasons(rows, "2026-11-30T23:59:59Z") == [("manual", None)]
    assert reasons(rows, "2026-12-01T00:00:00Z") == []


def test_people_are_independent():
    rows = [ev("2026-11-28T10:00:00Z", "unsubscribed", person="bob@example.com"),
            ev("2026-11-28T11:00:00Z", "released", person="ann@example.com")]
    assert [person for person, _ in active(rows, "2026-11-29T00:00:00Z")] == ["bob@example.com"]


def test_soft_bounce_is_not_a_suppression():
    rows = [ev("2026-11-28T10:00:00Z", "soft_bounced", reason="mailbox_full")]
    assert active(rows, "2026-11-28T11:00:00Z") == []


# -- retries -----------------------------------------------------------------

WINDOW = int(CFG.retry_window_hours * 3600)
T0 = epoch("2026-11-28T10:00:00Z")


@pytest.mark.parametrize("at,status", [
    ("2026-11-28T09:00:00Z", None),          # before the first soft bounce
    ("2026-11-28T10:00:00Z", "pending"),
    ("2026-11-29T21:59:59Z", "pending"),     # 36 h less a second
    ("2026-11-29T22:00:00Z", "given_up"),    # the window has closed
])
def test_retry_window_edges(at, status):
    assert retry_status(T0, T0, "greylisted", None, epoch(at), WINDOW) == status


def test_delivery_or_hard_bounce_ends_the_retry():
    resolved = epoch("2026-11-28T12:00:00Z")
    assert retry_status(T0, T0, "greylisted", resolved, epoch("2026-11-28T11:00:00Z"), WINDOW) == "pending"
    assert retry_status(T0, T0, "greylisted", resolved, epoch("2026-11-28T12:00:00Z"), WINDOW) is None


def test_mta_expiry_gives_up_early():
    last = epoch("2026-11-28T14:00:00Z")
    assert retry_status(T0, last, "expired", None, epoch("2026-11-28T13:00:00Z"), WINDOW) == "pending"
    assert retry_status(T0, last, "expired", None, last, WINDOW) == "given_up"


def test_retry_window_is_configurable():
    window = int(Config(retry_window_hours=4).retry_window_hours * 3600)
    assert retry_status(T0, T0, "greylisted", None, epoch("2026-11-28T13:59:59Z"), window) == "pending"
    assert retry_status(T0, T0, "greylisted", None, epoch("2026-11-28T14:00:00Z"), window) == "given_up"


def test_the_suppressed_table_shows_the_first_of_the_whole_list(run, tmp_path):
    """`suppressed` on a terminal asks the database for a screenful only
    (StateQueries.suppressions_page); it must be the head of the full list,
    in its order, with the right total, filters applied."""
    people = [f"p{i:03d}@example.com" for i in range(70)]
    listing = tmp_path / "list.csv"
    listing.write_text("person,scope,reason,since,until,event_id,detail\n" + "".join(
        f"{p},*,manual,2026-11-01T00:00:00Z,,,\n" for p in reversed(people)))
    assert run("suppress", "--import", listing).returncode == 0
    # the last person shown also has a campaign-only suppression: both rows come, in order
    assert run("suppress", people[49], "--campaign", "autumn", "--note", "asked").returncode == 0
    full = run("suppressed", "--format", "csv").stdout.splitlines()[1:]
    assert len(full) == 71
    table = run("suppressed").stdout
    shown = [m.group() for line in table.splitlines() for m in [re.search(r"p\d{3}@example\.com", line)] if m]
    assert shown == [row.split(",")[0] for row in full[:50]]
    assert "50 of 71 suppression(s)" in table and "21 more; see them with" in table
    spring = run("suppressed", "--campaign", "spring").stdout
    assert "50 of 70 suppression(s)" in spring


def test_suppressed_for_scripts_streams_the_list_in_its_order(run, tmp_path):
    """`suppressed --format csv/jsonl` streams the rows from the database in
    the listing's order (person, every-campaign first, then scope and
    reason), without building the list first; filters as on the table."""
    people = ["zed@example.com", "ärger@example.org", "amy@example.com", "bob@example.net", "émile@example.fr"]
    for person in people:  # one by one, so that the database's own order is not the listing's
        assert run("suppress", person, "--note", "asked").returncode == 0
    for campaign in ("winter", "autumn"):
        assert run("suppress", "bob@example.net", "--campaign", campaign, "--note", "asked").returncode == 0
    assert run("suppress", "amy@example.com", "--campaign", "spring", "--note", "asked").returncode == 0
    # zed also unsubscribes, then complains: three reasons for every campaign, listed by name
    esp = tmp_path / "sendgrid.jsonl"
    esp.write_text("".join(json.dumps({"email": "zed@example.com", "timestamp": 1764338400 + i, "event": event,
                                       "sg_event_id": f"ev{i}", "sg_message_id": "SGzed.filter0001p1.1.0"}) + "\n"
                           for i, event in enumerate(("unsubscribe", "spamreport"))))
    assert run("ingest", str(esp)).returncode == 0
    rows = [line.split(",")[:3] for line in run("suppressed", "--format", "csv").stdout.splitlines()[1:]]
    assert [tuple(r) for r in rows] == sorted(
        (tuple(r) for r in rows), key=lambda r: (r[0], "" if r[1] == "*" else r[1], r[2]))
    assert [r[0] for r in rows] == ["amy@example.com", "amy@example.com", "bob@example.net", "bob@example.net",
                                    "bob@example.net", "zed@example.com", "zed@example.com", "zed@example.com",
                                    "ärger@example.org", "émile@example.fr"]
    assert [r[1] for r in rows[2:5]] == ["*", "autumn", "winter"]
    assert [r[2] for r in rows[5:8]] == ["complained", "manual", "unsubscribed"]
    lines = [json.loads(line) for line in run("suppressed", "--format", "jsonl").stdout.splitlines()]
    assert [[d["person"], d["scope"], d["reason"]] for d in lines] == rows
    autumn = [line.split(",")[:2] for line in run("suppressed", "--format", "csv", "--campaign", "autumn")
              .stdout.splitlines()[1:]]
    assert autumn == [[p, "*"] for p in sorted(people)[:2]] + [["bob@example.net", "autumn"]] + \
        [["zed@example.com", "*"]] * 3 + [[p, "*"] for p in sorted(people)[3:]]


def test_retries_for_scripts_stream_in_the_listing_order(run, tmp_path):
    """`retries --format csv/jsonl` streams the soft-bounced sends from the
    database in the listing's order (window close, then person), the same
    rows `--format json` gives."""
    import sys

    from conftest import ROOT
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate_postfix import generate

    log = tmp_path / "mail.log"
    generate(str(log), 400, seed=7)
    assert run("ingest", "-q", "--year", "2026", log).returncode == 0
    at = "2026-11-20T08:00:00Z"
    rows = list(csv.DictReader(io.StringIO(
        run("retries", "--include-given-up", "--at", at, "--format", "csv").stdout)))
    assert len(rows) > 10 and {"pending", "given_up"} <= {r["status"] for r in rows}
    assert rows == sorted(rows, key=lambda r: (r["window_closes"], r["person"]))
    doc = json.loads(run("retries", "--include-given-up", "--at", at, "--format", "json").stdout)
    assert [r["event_id"] for r in doc["items"]] == [int(r["event_id"]) for r in rows]
    lines = [json.loads(line) for line in run("retries", "--at", at, "--format", "jsonl").stdout.splitlines()]
    assert lines == [item for item in doc["items"] if item["status"] == "pending"]
