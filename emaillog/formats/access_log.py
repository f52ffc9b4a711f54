"""Web server access logs (nginx/Apache "combined" and "common") of the
tracking endpoints: the open pixel, the click redirect and the unsubscribe
endpoint, recognised by the URL patterns in emaillog/tracking.py (or the
config file's [[access_log_patterns]]).

Rules (SPEC §2): a pixel load is an `opened` (one per person, campaign and
email: the key says so); a click keeps its URL; only a POST to the
unsubscribe endpoint (the form, or RFC 8058 one-click
`List-Unsubscribe=One-Click`) is an `unsubscribed` - a GET only shows the
page. Failed requests (4xx/5xx) are not hits. Machine hits are kept and
marked (tracking.py: image proxies, Apple MPP, scanners, HEAD requests,
clicks within seconds of the send, every link at once).
"""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlsplit

from .. import tracking
from ..config import ConfigError
from ..events import Reject, Skip, message_id_of, person_of
from .context import ParseContext

NAME = "access_log"
DESCRIPTION = "nginx/Apache access logs (combined or common) of tracking pixel, click and unsubscribe URLs"

# "%h %l %u %t \"%r\" %>s %b" (common) + " \"%{Referer}i\" \"%{User-agent}i\"" (combined).
# The request line is logged as the client sent it (nginx escapes bytes as
# \xHH, Apache as \" and \xHH), so it is matched apart: a TLS handshake on
# the HTTP port or other junk is still a line of the log, answered 400.
LINE = re.compile(
    r'(?P<ip>\S+) \S+ (?P<user>\S+) \[(?P<ts>[^\]]+)\] '
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?P<size>\S+)'
    r'(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?')
REQUEST = re.compile(r'(?P<method>[A-Z]+) (?P<target>\S+)(?: HTTP/[\d.]+)?')
SAMPLES = [
    '198.51.100.20 - - [28/Nov/2026:14:10:00 +0000] "GET /t/open.gif?m=20261128.ann%40news.example.net'
    '&r=ann%40example.com&c=spring&e=spring-1 HTTP/1.1" 200 43 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"',
    '198.51.100.20 - - [28/Nov/2026:14:12:00 +0000] "POST /t/unsubscribe?r=ann%40example.com&c=spring HTTP/1.1" 200 512',
]
STAMP = "%d/%b/%Y:%H:%M:%S %z"


def sniff(line: str) -> bool:
    return bool(LINE.match(line))


def compile_patterns(patterns: list[dict]) -> list[dict]:
    """Check and compile URL patterns; a bad one is a ConfigError that says which."""
    compiled = []
    for n, spec in enumerate(patterns, start=1):
        name = spec.get("name") or f"access_log_patterns[{n}]"
        kind = spec.get("kind")
        if kind not in tracking.KINDS:
            raise ConfigError(f"{name}: kind must be one of {', '.join(tracking.KINDS)}, not {kind!r}")
        try:
            path = re.compile(spec.get("path") or "")
        except re.error as exc:
            raise ConfigError(f"{name}: bad path regular expression ({exc})") from exc
        params = dict(spec.get("params") or {})
        unknown = sorted((set(path.groupindex) | set(params.values())) - set(tracking.FIELDS) - {"server"})
        if unknown:
            raise ConfigError(f"{name}: unknown field(s) {', '.join(unknown)}; use {', '.join(tracking.FIELDS)}")
        compiled.append({"name": name, "kind": kind, "path": path, "params": params, "sample": spec.get("sample")})
    return compiled


class Parser:
    def __init__(self, ctx: ParseContext):
        self.ctx = ctx
        self.patterns = compile_patterns(ctx.config.access_log_patterns or tracking.DEFAULT_URL_PATTERNS)
        self.watch = tracking.ClickWatch()
        self.sends: dict[str, dict | None] = {}  # token -> send, bounded below

    def parse(self, line: str, source: str) -> list:
        m = LINE.match(line)
        if not m:
            return [Reject("not an access log line (common or combined format)")]
        request = REQUEST.fullmatch(m.group("request"))
        if request is None:
            return self.skip("not an HTTP request (a TLS handshake on the HTTP port, a probe): nothing to track")
        target = request.group("target")
        url = urlsplit(target)
        hit = self._match(url.path, url.query)
        if hit is None:
            return self.skip("request for another URL")
        pattern, fields = hit
        status = int(m.group("status"))
        if status >= 400:
            return self.skip(f"failed tracking request (HTTP {status})")
        try:
            ts = datetime.strptime(m.group("ts"), STAMP)
        except ValueError:
            return [Reject(f"access log time {m.group('ts')!r} is not {STAMP}")]
        send = self._send(fields)
        person = person_of(fields.get("person")) or (send or {}).get("person")
        if not person:
            return self.skip(f"{pattern['kind']} hit whose person is unknown (no address, token not a known send)")
        send = send or {}
        # The known send's Message-ID, else the URL's in the same <id> form,
        # so tracking events join the MTA's by message.
        message_id = send.get("message_id") or message_id_of(fields.get("message_id"))
        common = dict(campaign=fields.get("campaign") or send.get("campaign"),
                      email=fields.get("email") or send.get("email"), message_id=message_id,
                      source_format=NAME, source=source)
        method, agent, ip = request.group("method"), m.group("agent"), m.group("ip")
        kind = pattern["kind"]
        if kind == "open":
            machine = tracking.SCANNER if method == "HEAD" else tracking.open_machine(agent, ip)
            return [tracking.opened(ts, person, machine=machine, note=f"pattern {pattern['name']}", **common)]
        if kind == "click":
            link = fields.get("link") or target
            watch_key = f"{message_id or fields.get('token') or common['campaign']}|{person}"
            if send.get("ts"):
                self.watch.delivered(watch_key, _from_iso(send["ts"]))
            machine = tracking.click_machine(agent, method)
            machine = self.watch.click(watch_key, ts, link) or machine
            rid = f"{ip}|{m.group('ts')}|{method}|{target}"
            return [tracking.clicked(ts, person, link, record_id=rid, machine=machine, **common)]
        # unsubscribe
        if method != "POST":
            return self.skip("unsubscribe page viewed, not submitted")
        one_click = "One-Click" in unquote(url.query)
        note = "RFC 8058 one-click POST" if one_click else "unsubscribe POST"
        return [tracking.unsubscribed(ts, person, note=note, url=url.path, **common)]

    @staticmethod
    def skip(why: str) -> list:
        return [Skip(why)]

    def _match(self, path: str, query: str):
        for pattern in self.patterns:
            m = pattern["path"].fullmatch(path)
            if not m:
                continue
            fields = {k: unquote(v) for k, v in m.groupdict().items() if v}
            if pattern["params"]:
                qs = parse_qs(query, keep_blank_values=False)
                for param, field in pattern["params"].items():
                    if qs.get(param) and field not in fields:
                        fields[field] = qs[param][0]
            return pattern, fields
        return None

    def _send(self, fields: dict) -> dict | None:
        """The send an opaque token (or a message id without a person) names."""
        if fields.get("person") and fields.get("campaign"):
            return None
        token = fields.get("token") or fields.get("message_id")
        if not token or self.ctx.lookup is None:
            return None
        if token not in self.sends:
            if len(self.sends) > 10_000:
                self.sends.clear()
            self.sends[token] = self.ctx.lookup(token)
        return self.sends[token]


def _from_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
