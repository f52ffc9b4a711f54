"""A genuine nginx access log (tools/capture_nginx.py: Debian's nginx on
loopback, `combined` format) of tracking hits for the messages of the
genuine Postfix capture in sample_logs/. Every request's intended outcome
is in tests/logs/access/nginx.scenario.json; the events must match it:
a repeated open counts once, machines are flagged, a GET of the
unsubscribe page is not an unsubscribe, both POSTs are."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import LOGS, ROOT

ACCESS_LOG = ROOT / "sample_logs" / "access.log"
SCENARIO = LOGS / "access" / "nginx.scenario.json"


@pytest.fixture
def captured(ingest):
    if not ACCESS_LOG.exists():
        pytest.skip("sample_logs/access.log not present")
    store, summary = ingest([ROOT / "sample_logs" / "mail.log", ACCESS_LOG], year=2026)
    assert summary.rejected == 0 and not summary.problems
    return store, json.loads(SCENARIO.read_text())["requests"]


def outcome(event: dict) -> str:
    return event["type"] + (f":{event['machine']}" if event.get("machine") else "")


def test_every_request_gives_what_it_meant(captured):
    store, requests = captured
    got = Counter((e["person"], e["campaign"], e["message_id"], outcome(e))
                  for e in store.events(types=["opened", "clicked", "unsubscribed"]))
    expected = Counter((r["person"], r["campaign"], r["message_id"], r["expect"]) for r in requests if r["expect"])
    assert got == expected


def test_requests_that_mean_nothing_add_nothing(captured):
    store, requests = captured
    quiet = [r for r in requests if not r["expect"]]
    assert {r["kind"] for r in quiet} >= {"open", "unsubscribe"}  # a repeat open and a page view at least
    page_views = [r for r in quiet if r["kind"] == "unsubscribe"]
    assert page_views and all(r["method"] == "GET" for r in page_views)
    for r in page_views:  # the person who only viewed the page, then POSTed, has one unsubscribe: the POST's
        posts = [p for p in requests if p["person"] == r["person"] and p["expect"] == "unsubscribed"]
        events = store.events(person=r["person"], types=["unsubscribed"])
        assert len(events) == len(posts) == 1


def test_clicks_keep_their_links_and_unsubscribers_are_suppressed(captured, tmp_path):
    from emaillog.config import Config
    from emaillog.state import StateQueries
    store, requests = captured
    clicks = store.events(types=["clicked"])
    assert all(c["url"].startswith("https://shop.example/") for c in clicks)
    unsubscribers = {r["person"] for r in requests if r["expect"] == "unsubscribed"}
    now = "2026-11-29T00:00:00Z"
    queries = StateQueries(store, Config())
    for person in unsubscribers:
        assert [s.reason for s in queries.check(person, "welcome", now)] == ["unsubscribed"]
