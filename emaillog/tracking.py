"""Engagement events (opened, clicked, unsubscribed, complained) and the
rules that tell a person's activity from a machine's.

Every ESP format and the access-log format builds its engagement events
here, so the keys (and with them the SPEC's "at most one open" rule) are
the same whatever the source.

Keys:
  opened        opened|person|campaign|email            one per person, campaign and email
                (+ |machine=KIND for machine opens: a proxy prefetch never
                hides the person's own open, and is itself kept once per kind)
  clicked       clicked|person|<record id>              one per source record
  unsubscribed  unsubscribed|person|campaign|time
  complained    complained|person|campaign|time

"email" is which email of a campaign it was: the source's email id (an
X-Email-ID header, a template, a configured field) or else the subject. When a
record names neither a campaign nor an email, the message id stands in for
the email, so unrelated uncampaigned mail is not merged into one open.
"""

from __future__ import annotations

import ipaddress
import re
from collections import OrderedDict
from datetime import datetime, timedelta

from .events import CLICKED, COMPLAINED, OPENED, UNSUBSCRIBED, Event, iso

APPLE_MPP = "apple_mpp"
IMAGE_PROXY = "image_proxy"
SCANNER = "scanner"
MACHINE_KINDS = (APPLE_MPP, IMAGE_PROXY, SCANNER)

# User agents of machines that fetch images or follow links on a person's
# behalf, as (kind, pattern). Matched case-insensitively, first match wins.
MACHINE_AGENTS = [
    (IMAGE_PROXY, r"GoogleImageProxy|ggpht\.com"),          # Gmail image proxy
    (IMAGE_PROXY, r"YahooMailProxy"),                        # Yahoo/AOL image proxy
    (IMAGE_PROXY, r"Mail\.RU_Bot/Img|YandexImageResizer"),
    # Link scanners and security gateways, HTTP libraries and headless browsers.
    (SCANNER, r"Barracuda|Mimecast|Proofpoint|urldefense|Symantec|MessageLabs|Forcepoint|"
              r"Sophos|TrendMicro|Trend Micro|IronPort|Cisco|FireEye|Zscaler|Bitdefender|"
              r"SafeLinks|Microsoft Office Protocol Discovery|Check ?Point|Fortinet|FortiGuard"),
    (SCANNER, r"python-requests|python-urllib|aiohttp|curl/|Wget|libwww-perl|Go-http-client|"
              r"okhttp|Java/|Apache-HttpClient|HeadlessChrome|PhantomJS|Slurp|"
              r"[Bb]ot\b|bot/|[Ss]pider|[Cc]rawler|[Ss]canner"),
]
_AGENTS = [(kind, re.compile(rx, re.I)) for kind, rx in MACHINE_AGENTS]

# Apple Mail Privacy Protection (iOS 15+/macOS 12+) fetches every image when
# the message arrives, from Apple's network (17.0.0.0/8), with a bare
# "Mozilla/5.0" user agent.
APPLE_NETS = [ipaddress.ip_network("17.0.0.0/8")]
APPLE_MPP_AGENT = "Mozilla/5.0"

# Context rules for clicks (see ClickWatch):
FAST_CLICK_SECONDS = 10     # a click this soon after delivery is a link scanner
BURST_SECONDS = 2           # a click on ANOTHER link of the same message this soon
                            # after the previous one is a scanner walking every link
WATCH_MESSAGES = 20_000     # how many messages the per-parser memory keeps


def _apple_ip(ip: str | None) -> bool:
    if not ip:
        return False
    try:
        addr = ipaddress.ip_address(ip.strip())
    except ValueError:
        return False
    return any(addr in net for net in APPLE_NETS)


def machine_agent(user_agent: str | None) -> str | None:
    """The kind of machine a user agent names, if it names one."""
    if not user_agent:
        return None
    for kind, rx in _AGENTS:
        if rx.search(user_agent):
            return kind
    return None


def open_machine(user_agent: str | None, ip: str | None = None) -> str | None:
    """Is this pixel load a machine's? apple_mpp, image_proxy, scanner or None."""
    ua = (user_agent or "").strip()
    if ua == APPLE_MPP_AGENT or _apple_ip(ip):
        return APPLE_MPP
    return machine_agent(ua)


def click_machine(user_agent: str | None, method: str | None = None) -> str | None:
    """Is this link hit a machine's, from the request alone? (HEAD requests
    and scanner agents are; see ClickWatch for the timing rules.)"""
    if method and method.upper() == "HEAD":
        return SCANNER
    kind = machine_agent(user_agent)
    # A proxy that fetched a link is still not the person clicking it.
    return SCANNER if kind else None


class ClickWatch:
    """A small bounded memory of deliveries and clicks per message, for the
    timing rules: a click within FAST_CLICK_SECONDS of delivery, or on a
    different link within BURST_SECONDS of the message's previous click, is
    a scanner's. The first click of a burst that is not also fast after a
    known delivery stays a person's: events are written as they are read.
    """

    def __init__(self, size: int = WATCH_MESSAGES):
        self.size = size
        self.delivered_at: OrderedDict[str, datetime] = OrderedDict()
        self.last_click: OrderedDict[str, tuple[datetime, str]] = OrderedDict()

    def _remember(self, table: OrderedDict, key: str, value) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.size:
            table.popitem(last=False)

    def delivered(self, message: str, ts: datetime) -> None:
        if message not in self.delivered_at:
            self._remember(self.delivered_at, message, ts)

    def click(self, message: str, ts: datetime, url: str | None) -> str | None:
        """Record a click; SCANNER if the timing says a machine made it."""
        verdict = None
        delivered = self.delivered_at.get(message)
        if delivered is not None and timedelta(0) <= ts - delivered <= timedelta(seconds=FAST_CLICK_SECONDS):
            verdict = SCANNER
        last = self.last_click.get(message)
        if last is not None:
            last_ts, last_url = last
            if url != last_url and abs(ts - last_ts) <= timedelta(seconds=BURST_SECONDS):
                verdict = SCANNER
        self._remember(self.last_click, message, (ts, url or ""))
        return verdict


# -- the events --------------------------------------------------------------

def _common(ts, type_, person, key, **fields) -> Event:
    return Event(ts=ts, type=type_, person=person, key=key, **fields)


def opened(ts: datetime, person: str, *, campaign=None, email=None, message_id=None,
           machine=None, source_format=None, source=None, host=None, note=None) -> Event:
    """At most one per person, campaign and email (SPEC §2): the key says so."""
    which = email or (None if campaign else message_id)
    key = f"{OPENED}|{person}|{campaign or ''}|{which or ''}"
    if machine:
        key += f"|machine={machine}"
    return _common(ts, OPENED, person, key, campaign=campaign, email=email, message_id=message_id,
                   machine=machine, source_format=source_format, source=source, host=host, note=note)


def clicked(ts: datetime, person: str, url: str | None, *, record_id: str | None = None, campaign=None,
            email=None, message_id=None, machine=None, source_format=None, source=None,
            host=None, note=None) -> Event:
    """One per source record: the ESP's event id, else message, time and URL."""
    rid = record_id or f"{message_id or ''}|{iso(ts)}|{url or ''}"
    return _common(ts, CLICKED, person, f"{CLICKED}|{person}|{source_format or ''}|{rid}",
                   campaign=campaign, email=email, message_id=message_id, url=url, machine=machine,
                   source_format=source_format, source=source, host=host, note=note)


def unsubscribed(ts: datetime, person: str, *, campaign=None, email=None, message_id=None,
                 source_format=None, source=None, host=None, note=None, url=None) -> Event:
    return _common(ts, UNSUBSCRIBED, person, f"{UNSUBSCRIBED}|{person}|{campaign or ''}|{iso(ts)}",
                   campaign=campaign, email=email, message_id=message_id, url=url,
                   source_format=source_format, source=source, host=host, note=note)


def complained(ts: datetime, person: str, *, campaign=None, email=None, message_id=None,
               source_format=None, source=None, host=None, note=None) -> Event:
    return _common(ts, COMPLAINED, person, f"{COMPLAINED}|{person}|{campaign or ''}|{iso(ts)}",
                   campaign=campaign, email=email, message_id=message_id,
                   source_format=source_format, source=source, host=host, note=note)


# -- tracking URLs in web access logs -------------------------------------------
# Each pattern: `kind` (open, click, unsubscribe), `path` (a regex the whole
# URL path must match), optional `params` (query parameter -> field) and a
# `sample` request target it must match (tests walk them). The fields, from
# named groups or params: message_id, person (an address), campaign, email,
# link (the target URL or link id) and token (an opaque id that is looked up
# as the Message-ID of a send we have seen). Replace them in the config file
# with [[access_log_patterns]] tables; docs/tracking.md has examples.
_UUID = r"[0-9a-fA-F-]{36}"
_COMMON_PARAMS = {"m": "message_id", "r": "person", "c": "campaign", "e": "email", "t": "token"}
DEFAULT_URL_PATTERNS = [
    # Our own suggestion: /t/open?m=<message id>&r=<address>&c=<campaign>&e=<email id>
    {"name": "generic-open", "kind": "open", "path": r"/t/o(?:pen)?(?:\.gif|\.png)?",
     "params": _COMMON_PARAMS,
     "sample": "/t/open.gif?m=20261128.ann%40news.example.net&r=ann%40example.com&c=spring&e=spring-1"},
    {"name": "generic-click", "kind": "click", "path": r"/t/c(?:lick)?",
     "params": {**_COMMON_PARAMS, "u": "link"},
     "sample": "/t/click?m=20261128.ann%40news.example.net&r=ann%40example.com&c=spring&u=https%3A%2F%2Fshop.example%2F"},
    {"name": "generic-unsubscribe", "kind": "unsubscribe", "path": r"/t/u(?:nsubscribe)?",
     "params": _COMMON_PARAMS, "sample": "/t/unsubscribe?r=ann%40example.com&c=spring"},
    # listmonk: the campaign and subscriber UUIDs (internal/http handlers:
    # /campaign/{c}/{s}/px.png, /link/{l}/{c}/{s}, /subscription/{c}/{s}).
    {"name": "listmonk-open", "kind": "open", "path": rf"/campaign/(?P<campaign>{_UUID})/(?P<token>{_UUID})/px\.png",
     "sample": "/campaign/0b2f8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b/9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a/px.png"},
    {"name": "listmonk-click", "kind": "click",
     "path": rf"/link/(?P<link>{_UUID})/(?P<campaign>{_UUID})/(?P<token>{_UUID})",
     "sample": "/link/11111111-2222-4333-8444-555555555555/0b2f8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b/"
               "9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a"},
    {"name": "listmonk-unsubscribe", "kind": "unsubscribe",
     "path": rf"/subscription/(?P<campaign>{_UUID})/(?P<token>{_UUID})",
     "sample": "/subscription/0b2f8a4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b/9d8c7b6a-5f4e-4d3c-2b1a-0f9e8d7c6b5a"},
    # Mautic: the per-send stat hash (/email/{idHash}.gif, /email/unsubscribe/{idHash});
    # its click redirects (/r/{id}?ct=...) carry the hash inside an encoded blob.
    {"name": "mautic-open", "kind": "open", "path": r"/email/(?P<token>[0-9a-zA-Z]{8,40})\.gif",
     "sample": "/email/5f1e2d3c4b5a69788796a5b4.gif"},
    {"name": "mautic-unsubscribe", "kind": "unsubscribe", "path": r"/email/unsubscribe/(?P<token>[0-9a-zA-Z]{8,40})",
     "sample": "/email/unsubscribe/5f1e2d3c4b5a69788796a5b4"},
    # Postal's click and open tracking host: /img/{server token}/{message token}
    # and /{server token}/{link token}.
    {"name": "postal-open", "kind": "open", "path": r"/img/(?P<server>[a-zA-Z0-9]{6,})/(?P<token>[a-zA-Z0-9]{6,})",
     "sample": "/img/abc123xy/Zq9mT2kLp0"},
]
KINDS = ("open", "click", "unsubscribe")
FIELDS = ("message_id", "person", "campaign", "email", "link", "token")
