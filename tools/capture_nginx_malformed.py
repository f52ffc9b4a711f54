"""Capture what nginx writes to a `combined` access log for requests that are
not well-formed HTTP, as every public server receives them: a TLS handshake
sent to the plain-HTTP port, bytes that are no request at all, a request line
with a lower-case method, an HTTP/0.9 request, a quote in the URL. Between
them, ordinary tracking hits, so the file reads as an access log.

    sudo python3 tools/capture_nginx_malformed.py tests/logs/access/nginx_malformed.log

Same nginx setup as tools/capture_nginx.py (its config, in a temporary
prefix, on 127.0.0.1). nginx answers the malformed ones 400 (the HTTP/0.9
one 403: there is no index page) and logs the request line as it came, bytes
escaped as \\xHH. emaillog must skip them, not reject them: they are lines of
a healthy log (tests/test_access_log.py).
"""

from __future__ import annotations

import socket
import ssl
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture_nginx import FIREFOX, PORT, running_nginx  # noqa: E402

OPEN = "/t/open.gif?m=spring.0004.f3dc28ff90%40news.example.net&r=gina%40example.com&c=spring"


def raw(data: bytes) -> None:
    """Send bytes on a fresh connection and read the answer, if any."""
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
        s.sendall(data)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass


def tls_hello() -> None:
    """What an https:// client sends to an http:// port: a TLS ClientHello."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", PORT), timeout=5) as s:
        try:
            ctx.wrap_socket(s, server_hostname="news.example.net")
        except (ssl.SSLError, OSError):
            pass  # nginx answers in plain HTTP: the handshake fails, as it does for real


def get(target: str, agent: str = FIREFOX) -> None:
    raw(f"GET {target} HTTP/1.1\r\nHost: news.example.net\r\nUser-Agent: {agent}\r\n"
        "Connection: close\r\n\r\n".encode())


STEPS = [
    ("a person's open", lambda: get(OPEN)),
    ("a TLS ClientHello on the HTTP port", tls_hello),
    ("bytes that are not HTTP", lambda: raw(b"hello\r\n\r\n")),
    ("a lower-case method", lambda: raw(b"get / HTTP/1.1\r\nHost: news.example.net\r\n\r\n")),
    ("an HTTP/0.9 request", lambda: raw(b"GET /\r\n")),
    ("a quote in the URL", lambda: get('/t/open.gif?r=gina%40example.com&c=spring&x="')),
    ("the person's open again", lambda: get(OPEN)),
]


def main(log_out: str) -> int:
    with running_nginx(log_out):
        for what, step in STEPS:
            print(what, file=sys.stderr)
            step()
            time.sleep(1)
    print(f"{len(STEPS)} requests -> {log_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
