"""The suppression and retry rules on a genuine Postfix capture, through the
installed command, at several `--at` moments (derived from the events)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from conftest import LOGS

SCENARIO = LOGS / "postfix" / "scenario.log"


def shift(iso: str, **delta) -> str:
    when = datetime.fromisoformat(iso.replace("Z", "+00:00")) + timedelta(**delta)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def db(cli):
    if not SCENARIO.exists():
        pytest.skip("capture not present")
    assert cli("ingest", "-q", SCENARIO).returncode == 0
    return cli


def events(cli, **filters):
    args = [f"--{k.replace('_', '-')}={v}" for k, v in filters.items()]
    out = cli("events", "--format", "jsonl", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


def first(cli, bounce_class):
    return next(e for e in events(cli, type="hard_bounced") if e["bounce_class"] == bounce_class)


def test_spam_block_stops_its_campaign_for_24_hours_only(db):
    bounce = first(db, "spam_block")
    person, campaign, ts = bounce["person"], bounce["campaign"], bounce["ts"]
    other = next(c for c in ("spring", "autumn", "welcome") if c != campaign)
    assert db("check", person, "--campaign", campaign, "--at", shift(ts, seconds=-1)).returncode == 0
    assert db("check", person, "--campaign", campaign, "--at", ts).returncode == 1
    assert db("check", person, "--campaign", campaign, "--at", shift(ts, hours=24, seconds=-1)).returncode == 1
    assert db("check", person, "--campaign", campaign, "--at", shift(ts, hours=24)).returncode == 0
    assert db("check", person, "--campaign", other, "--at", ts).returncode == 0
    listed = json.loads(db("suppressed", "--json", "--campaign", campaign, "--at", ts).stdout)
    assert any(i["person"] == person and i["reason"] == "spam_block" and i["scope"] == campaign
               for i in listed["items"])


def test_permanent_bounce_stops_every_campaign_for_good(db):
    bounce = first(db, "permanent")
    for campaign in ("spring", "autumn", "welcome"):
        result = db("check", bounce["person"], "--campaign", campaign, "--at", shift(bounce["ts"], days=400))
        assert result.returncode == 1
        assert "hard_bounce" in result.stdout and "until released" in result.stdout


def test_technical_bounce_and_soft_bounces_do_not_suppress(db):
    technical = first(db, "technical")
    assert db("check", technical["person"], "--at", shift(technical["ts"], minutes=1)).returncode == 0
    soft = events(db, type="soft_bounced")[0]
    assert db("check", soft["person"], "--at", shift(soft["ts"], minutes=1)).returncode == 0


def test_greylisted_send_is_a_pending_retry_until_delivered(db):
    grey = next(e for e in events(db, type="soft_bounced") if e["reason"] == "greylisted")
    delivered = next(e for e in events(db, type="delivered", person=grey["person"])
                     if e["message_id"] == grey["message_id"])
    def pending(at):
        data = json.loads(db("retries", "--json", "--person", grey["person"], "--at", at).stdout)
        return [r for r in data["items"] if r["message_id"] == grey["message_id"]]
    assert pending(shift(grey["ts"], seconds=-1)) == []
    [retry] = pending(grey["ts"])
    assert retry["window_closes"] == shift(grey["ts"], hours=36)
    assert pending(delivered["ts"]) == []


def test_retry_window_edge_for_a_mailbox_full_bounce(db):
    full = next(e for e in events(db, type="soft_bounced") if e["reason"] == "mailbox_full" and e["smtp_code"] >= 500)
    def status(at):
        data = json.loads(db("retries", "--json", "--include-given-up", "--person", full["person"],
                             "--at", at).stdout)
        return {r["status"] for r in data["items"] if r["message_id"] == full["message_id"]}
    assert status(shift(full["ts"], hours=36, seconds=-1)) == {"pending"}
    assert status(shift(full["ts"], hours=36)) == {"given_up"}


def test_person_shows_status_before_history(db):
    bounce = first(db, "permanent")
    out = db("person", bounce["person"], "--at", shift(bounce["ts"], minutes=5)).stdout
    assert out.index("Suppressed") < out.index("hard_bounced")
