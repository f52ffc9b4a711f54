"""Web access logs of the tracking endpoints: the scenario of the issue
(tests/logs/access/mail.log + access.log) and the URL pattern table."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from emaillog import formats, tracking
from emaillog.config import Config, ConfigError
from emaillog.events import Reject, Skip
from emaillog.formats import access_log
from emaillog.formats.context import ParseContext
from emaillog.timestamps import Clock

LOGS = Path(__file__).parent / "logs" / "access"


def parser(config=None, lookup=None):
    clock = Clock(datetime(2026, 11, 28, tzinfo=timezone.utc), tz=timezone.utc)
    return access_log.Parser(ParseContext(clock, config or Config(), "access.log", lookup=lookup))


def line(method, target, status=200, agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", ts="28/Nov/2026:14:00:00 +0000"):
    return f'198.51.100.20 - - [{ts}] "{method} {target} HTTP/1.1" {status} 43 "-" "{agent}"'


@pytest.fixture
def scenario(ingest):
    store, summary = ingest([LOGS / "mail.log", LOGS / "access.log"])
    assert summary.problems == [] and summary.rejected == 0
    return store


def test_pixel_twice_is_one_open_and_the_mpp_prefetch_is_kept_apart(scenario):
    opens = scenario.events(person="ann@example.com", types=["opened"])
    human = [e for e in opens if e["machine"] is None]
    assert len(human) == 1 and human[0]["ts"] == "2026-11-28T14:10:00Z"
    assert human[0]["campaign"] == "spring" and human[0]["email"] == "spring-1"
    assert [e["machine"] for e in opens if e["machine"]] == ["apple_mpp"]


def test_unsubscribe_get_then_post_is_one_unsubscribe_at_the_post(scenario):
    [unsub] = scenario.events(person="ann@example.com", types=["unsubscribed"])
    assert unsub["ts"] == "2026-11-28T14:15:20Z" and unsub["campaign"] == "spring"


def test_scanner_clicks_are_flagged_and_the_person_s_click_keeps_its_url(scenario):
    clicks = scenario.events(person="ann@example.com", types=["clicked"])
    assert [(c["ts"], c["machine"]) for c in clicks] == [
        ("2026-11-28T13:00:05Z", "scanner"),   # HEAD request
        ("2026-11-28T13:00:06Z", "scanner"),   # scanner user agent, seconds after the send
        ("2026-11-28T14:10:30Z", None),
    ]
    assert {c["url"] for c in clicks} == {"https://shop.example/spring"}


def test_opaque_token_resolves_to_the_send(scenario):
    bob = scenario.events(person="bob@example.org", types=["opened", "unsubscribed"])
    assert [(e["type"], e["campaign"]) for e in bob] == [("opened", "spring"), ("unsubscribed", "spring")]
    assert "one-click" in bob[1]["note"]
    # An unknown token, a 404 and other pages made no event.
    assert {e["person"] for e in scenario.events()} == {"ann@example.com", "bob@example.org"}


def test_unsubscribed_person_is_suppressed_for_every_campaign(cli):
    assert cli("ingest", "--quiet", "--tz", "UTC", LOGS / "mail.log", LOGS / "access.log").returncode == 0
    at = "2026-11-28T16:00:00Z"
    assert cli("check", "ann@example.com", "--campaign", "autumn", "--at", at).returncode == 1
    assert cli("check", "ann@example.com", "--at", at).returncode == 1
    assert cli("check", "ann@example.com", "--at", "2026-11-28T14:00:00Z").returncode == 0
    assert cli("check", "carl@example.net", "--at", at).returncode == 0


@pytest.mark.parametrize("spec", tracking.DEFAULT_URL_PATTERNS, ids=lambda s: s["name"])
def test_every_default_pattern_matches_its_sample(spec):
    p = parser()
    hit = p._match(*spec["sample"].partition("?")[::2])
    assert hit is not None and hit[0]["name"] == spec["name"]


def test_samples_detect_as_access_log():
    assert formats.detect(access_log.SAMPLES)[0] is access_log
    for s in access_log.SAMPLES:
        assert access_log.sniff(s)


def test_common_format_and_failures():
    p = parser()
    [ev] = p.parse('198.51.100.20 - - [28/Nov/2026:14:00:00 +0000] "GET /t/open?r=ann%40example.com&c=s HTTP/1.1" 200 43',
                   "a:1")
    assert ev.type == "opened" and ev.machine is None
    assert isinstance(p.parse("garbage", "a:2")[0], Reject)
    assert isinstance(p.parse(line("GET", "/t/open?r=ann%40example.com", status=404), "a:3")[0], Skip)
    assert isinstance(p.parse(line("GET", "/t/open?c=spring"), "a:4")[0], Skip)  # whose?


def test_gmail_proxy_open_is_flagged():
    [ev] = parser().parse(line("GET", "/t/open?r=ann%40example.com&c=s",
                               agent="Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"), "a:1")
    assert ev.machine == "image_proxy"


def test_clicks_on_every_link_at_once_are_a_scanner():
    p = parser()
    t = "/t/click?m=m1&r=ann%40example.com&c=s&u=https%3A%2F%2Fshop.example%2F"
    first = p.parse(line("GET", t + "a", ts="28/Nov/2026:14:00:00 +0000"), "a:1")[0]
    second = p.parse(line("GET", t + "b", ts="28/Nov/2026:14:00:01 +0000"), "a:2")[0]
    assert (first.machine, second.machine) == (None, "scanner")


def test_configured_patterns_replace_the_defaults():
    cfg = Config(access_log_patterns=[{"name": "shop-open", "kind": "open",
                                       "path": r"/px/(?P<campaign>[\w-]+)/(?P<person>[^/]+)\.gif"}])
    p = parser(cfg)
    [ev] = p.parse(line("GET", "/px/spring/ann%40example.com.gif"), "a:1")
    assert (ev.type, ev.person, ev.campaign) == ("opened", "ann@example.com", "spring")
    assert isinstance(p.parse(line("GET", "/t/open?r=ann%40example.com"), "a:2")[0], Skip)


@pytest.mark.parametrize("bad", [
    {"kind": "pixel", "path": "/x"},
    {"kind": "open", "path": "(/x"},
    {"kind": "open", "path": r"/x/(?P<subscriber>\w+)"},
])
def test_bad_patterns_are_config_errors(bad):
    with pytest.raises(ConfigError):
        parser(Config(access_log_patterns=[bad]))


def test_genuine_nginx_lines_of_malformed_requests_are_skipped_not_rejected(ingest):
    """tests/logs/access/nginx_malformed.log (tools/capture_nginx_malformed.py):
    nginx logs a TLS handshake on the HTTP port, non-HTTP bytes and a
    lower-case method as they came, answered 400. They are lines of a healthy
    log: skipped, so `ingest --strict` from cron does not fail on them."""
    log = LOGS / "nginx_malformed.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    assert formats.detect(lines)[0] is access_log and all(access_log.sniff(s) for s in lines)
    p = parser()
    junk = [s for s in lines if ' 400 ' in s]
    assert len(junk) == 3 and any("\\x16\\x03" in s for s in junk)  # the TLS ClientHello
    for s in junk:
        assert [type(f) for f in p.parse(s, "a:1")] == [Skip]
    store, summary = ingest([log])
    assert summary.rejected == 0 and not summary.problems
    # The person's pixel (twice, and once with an escaped quote in the URL) is one open.
    [ev] = store.events(types=["opened"])
    assert (ev["person"], ev["campaign"], ev["machine"]) == ("gina@example.com", "spring", None)
