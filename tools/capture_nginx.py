"""Capture a genuine nginx access log of tracking hits for the messages in
sample_logs/mail.log: opens (a person, Apple's privacy prefetch, Gmail's
image proxy), clicks (a person, a link scanner), the unsubscribe page (GET)
and unsubscribes (a form POST and an RFC 8058 one-click POST).

Runs Debian's nginx (apt install nginx-light or nginx) as root on loopback
with its own config in a temporary prefix; writes the log (nginx's standard
`combined` format) and, beside it, what each request was meant to produce:

    sudo python3 tools/capture_nginx.py sample_logs/access.log tests/logs/access/nginx.scenario.json

A loopback capture comes from 127.0.0.1, so only the user-agent clues of
machines show here (Apple's 17.0.0.0/8 network cannot).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

PORT = 8097
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")
APPLE_PREFETCH = "Mozilla/5.0"
GMAIL_PROXY = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
BARRACUDA = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"

NGINX_CONF = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {prefix}/access.log combined;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location = /t/open.gif {{ empty_gif; }}
        location = /t/click {{ return 302 $arg_u; }}
        location = /t/unsubscribe {{
            default_type text/html;
            if ($request_method = POST) {{ return 200 "You are unsubscribed.\\n"; }}
            return 200 "<form method=post><button>Unsubscribe</button></form>\\n";
        }}
    }}
}}
"""

# (what the request is, person, campaign, message id, method, path kind, extra params,
#  user agent, POST body, expected event: None | "opened" | "opened:<machine>" |
#  "clicked" | "clicked:<machine>" | "unsubscribed")
SPRING1 = "spring.0001.511e7ea419@news.example.net"
SPRING2 = "spring.0002.f380a4df5a@news.example.net"
SPRING3 = "spring.0003.a58306d03b@news.example.net"
SPRING5 = "spring.0005.e21a466884@news.example.net"
AUTUMN11 = "autumn.0011.c6bb049a79@news.example.net"
REQUESTS = [
    ("Apple Mail privacy prefetch", "ann@example.com", "spring", SPRING1, "GET", "open", {}, APPLE_PREFETCH, None,
     "opened:apple_mpp"),
    ("ann opens the message", "ann@example.com", "spring", SPRING1, "GET", "open", {}, FIREFOX, None, "opened"),
    ("ann opens it again", "ann@example.com", "spring", SPRING1, "GET", "open", {}, FIREFOX, None, None),
    ("ann clicks a link", "ann@example.com", "spring", SPRING1, "GET", "click",
     {"u": "https://shop.example/spring"}, FIREFOX, None, "clicked"),
    ("ann clicks another link", "ann@example.com", "spring", SPRING1, "GET", "click",
     {"u": "https://shop.example/sale"}, FIREFOX, None, "clicked"),
    ("Gmail's image proxy", "erin@example.com", "spring", SPRING2, "GET", "open", {}, GMAIL_PROXY, None,
     "opened:image_proxy"),
    ("a link scanner", "erin@example.com", "spring", SPRING2, "GET", "click",
     {"u": "https://shop.example/spring"}, BARRACUDA, None, "clicked:scanner"),
    ("frank opens on his phone", "frank@example.com", "spring", SPRING3, "GET", "open", {}, SAFARI, None, "opened"),
    ("frank clicks", "frank@example.com", "spring", SPRING3, "GET", "click",
     {"u": "https://shop.example/spring"}, SAFARI, None, "clicked"),
    ("gina views the unsubscribe page", "gina@example.com", "autumn", AUTUMN11, "GET", "unsubscribe", {}, FIREFOX,
     None, None),
    ("gina submits the unsubscribe form", "gina@example.com", "autumn", AUTUMN11, "POST", "unsubscribe", {},
     FIREFOX, b"confirm=yes", "unsubscribed"),
    ("kim's mailbox provider: RFC 8058 one-click", "kim@example.com", "spring", SPRING5, "POST", "unsubscribe", {},
     "Mozilla/5.0 (compatible; MailUnsubscribe/1.0)", b"List-Unsubscribe=One-Click", "unsubscribed"),
    ("a pixel for a message we never sent", None, None, "nosuch.0000@news.example.net", "GET", "open", {},
     FIREFOX, None, None),
]
PATHS = {"open": "/t/open.gif", "click": "/t/click", "unsubscribe": "/t/unsubscribe"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a click's 302 is what we log; do not follow it off the machine


def request(entry) -> int:
    _, person, campaign, message_id, method, kind, extra, agent, body, _ = entry
    params = {"m": message_id, **({"r": person} if person else {}), **({"c": campaign} if campaign else {}), **extra}
    url = f"http://127.0.0.1:{PORT}{PATHS[kind]}?{urllib.parse.urlencode(params)}"
    req = urllib.request.Request(url, data=body, method=method, headers={"User-Agent": agent})
    if body:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.build_opener(NoRedirect).open(req, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:  # the 302 of a click
        return exc.code


@contextmanager
def running_nginx(log_out: str):
    """Debian's nginx on 127.0.0.1:PORT with NGINX_CONF in a temporary
    prefix; its access log is copied to `log_out` once it has stopped."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with tempfile.TemporaryDirectory() as prefix:
        conf = Path(prefix) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, port=PORT))
        subprocess.run([nginx, "-p", prefix, "-c", str(conf)], check=True)
        try:
            time.sleep(0.5)
            yield
        finally:
            subprocess.run([nginx, "-p", prefix, "-c", str(conf), "-s", "quit"], check=False)
            time.sleep(0.5)
        shutil.copy(Path(prefix) / "access.log", log_out)


def main(log_out: str, scenario_out: str) -> int:
    statuses = []
    with running_nginx(log_out):
        for entry in REQUESTS:
            statuses.append(request(entry))
            time.sleep(3)  # people are slower than scanners' bursts (tracking.BURST_SECONDS)
    scenario = [{"what": e[0], "person": e[1], "campaign": e[2], "message_id": f"<{e[3]}>", "method": e[4],
                 "kind": e[5], "user_agent": e[7], "status": status, "expect": e[9]}
                for e, status in zip(REQUESTS, statuses)]
    Path(scenario_out).write_text(json.dumps({"requests": scenario}, indent=1) + "\n")
    print(f"{len(REQUESTS)} requests -> {log_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
