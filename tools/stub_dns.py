#!/usr/bin/env python3
"""A tiny authoritative-looking DNS responder on loopback for resolver captures.

Stdlib only, UDP (and TCP for the odd client that retries over TCP).  The
MTAs under test use the C library's resolver through a private
``/etc/resolv.conf`` (``nameserver 127.0.0.1``; see tools/capture_lib.sh), so
this server decides what every lookup returns::

    python3 tools/stub_dns.py --zone ZONE.json [--host 127.0.0.1] [--port 53]
                              [--log queries.jsonl]

ZONE.json::

    {"records": {"example.com": {"MX": [[10, "mx1.example.com"]]},
                 "mx1.example.com": {"A": ["127.0.0.2"]},
                 "nullmx.example": {"MX": [[0, "."]]}},
     "rcode": {"dnsfail.example": "SERVFAIL",      # this name and every name under it
               "dnstimeout.example": "DROP",       # no answer at all (the client times out)
               "refused.example": "REFUSED"},
     "default": "NXDOMAIN"}

A name listed in ``records`` answers NOERROR with the records of the asked
type, or NOERROR with no answer (NODATA) when it has none of that type (with
an SOA in the authority section, as a real server sends).  A name under an
``rcode`` suffix gets that rcode (``DROP``: no reply).  Any other name gets
``default`` (NXDOMAIN, with an SOA).  Record types: A, AAAA, MX, CNAME, TXT, PTR.
Each query is logged as one JSON line (time, client, name, type, answer).

SIGHUP re-reads the zone file (a capture can change the answers mid-run, e.g.
make a domain NXDOMAIN for a while: tools/capture_postfix_resolver_flap.sh);
queries after the reload get the new answers.  A zone file that fails to
load leaves the old zone in place.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import ipaddress
import json
import signal
import socket
import socketserver
import struct
import sys
import threading

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28,
         "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {"NOERROR": 0, "FORMERR": 1, "SERVFAIL": 2, "NXDOMAIN": 3, "NOTIMP": 4, "REFUSED": 5}
TTL = 60
LOCK = threading.Lock()
ZONE: dict = {}
LOG = None


def now() -> str:
    t = _dt.datetime.now(_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


def enc_name(name: str) -> bytes:
    name = name.rstrip(".")
    out = b""
    if name:
        for label in name.split("."):
            b = label.encode("idna") if label else b""
            out += bytes([len(b)]) + b
    return out + b"\x00"


def dec_name(buf: bytes, off: int) -> tuple[str, int]:
    labels, jumped, end = [], False, off
    for _ in range(128):
        n = buf[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            ptr = struct.unpack("!H", buf[off:off + 2])[0] & 0x3FFF
            if not jumped:
                end = off + 2
            jumped, off = True, ptr
            continue
        labels.append(buf[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), (end if jumped else off)


def rdata(rtype: str, value) -> bytes:
    if rtype == "A":
        return ipaddress.IPv4Address(value).packed
    if rtype == "AAAA":
        return ipaddress.IPv6Address(value).packed
    if rtype == "MX":
        pref, host = value
        return struct.pack("!H", int(pref)) + enc_name(host)
    if rtype in ("CNAME", "PTR", "NS"):
        return enc_name(value)
    if rtype == "TXT":
        b = value.encode()
        return bytes([len(b)]) + b
    raise ValueError(rtype)


def soa_rr(zone_name: str) -> bytes:
    mname, rname = enc_name("ns." + zone_name), enc_name("hostmaster." + zone_name)
    rd = mname + rname + struct.pack("!IIIII", 2026010101, 3600, 600, 86400, TTL)
    return enc_name(zone_name) + struct.pack("!HHIH", TYPES["SOA"], 1, TTL, len(rd)) + rd


def lookup(qname: str, qtype: int):
    """Return (rcode name, [(rtype, value)], authority_zone or None)."""
    zone = ZONE  # one zone for the whole answer, even if SIGHUP swaps it meanwhile
    name = qname.lower().rstrip(".")
    recs = zone.get("records", {})
    for suffix, rc in zone.get("rcode", {}).items():
        s = suffix.lower().rstrip(".")
        if name == s or name.endswith("." + s):
            return rc.upper(), [], None
    if name in recs:
        entry = recs[name]
        tname = TYPE_NAMES.get(qtype, str(qtype))
        answers = []
        if "CNAME" in entry and tname != "CNAME":
            answers.append(("CNAME", entry["CNAME"]))
        elif tname == "ANY":
            for t, vals in entry.items():
                answers += [(t, v) for v in vals]
        else:
            answers += [(tname, v) for v in entry.get(tname, [])]
        parent = ".".join(name.split(".")[-2:])
        return "NOERROR", answers, (None if answers else parent)
    rc = zone.get("default", "NXDOMAIN").upper()
    return rc, [], ".".join(name.split(".")[-2:]) if rc == "NXDOMAIN" else None


def answer(query: bytes, client: str) -> bytes | None:
    if len(query) < 12:
        return None
    qid, flags, qd, _an, _ns, _ar = struct.unpack("!HHHHHH", query[:12])
    if qd < 1:
        return None
    qname, off = dec_name(query, 12)
    qtype, qclass = struct.unpack("!HH", query[off:off + 4])
    question = query[12:off + 4]
    rc, answers, auth = lookup(qname, qtype)
    entry = {"ts": now(), "client": client, "name": qname,
             "type": TYPE_NAMES.get(qtype, str(qtype)), "rcode": rc,
             "answers": [[t, v] for t, v in answers]}
    if LOG:
        with LOCK:
            LOG.write(json.dumps(entry) + "\n")
            LOG.flush()
    if rc == "DROP":
        return None
    rflags = 0x8000 | 0x0400 | (flags & 0x0100) | 0x0080 | RCODES.get(rc, 2)  # QR AA RD RA
    body = b""
    name_ptr = b"\xc0\x0c"
    for t, v in answers:
        rd = rdata(t, v)
        body += name_ptr + struct.pack("!HHIH", TYPES[t], qclass, TTL, len(rd)) + rd
    nsrec = soa_rr(auth) if auth else b""
    hdr = struct.pack("!HHHHHH", qid, rflags, 1, len(answers), 1 if nsrec else 0, 0)
    return hdr + question + body + nsrec


class UDP(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        r = answer(data, self.client_address[0])
        if r is not None:
            sock.sendto(r, self.client_address)


class TCP(socketserver.StreamRequestHandler):
    def handle(self):
        while True:
            hdr = self.rfile.read(2)
            if len(hdr) < 2:
                return
            q = self.rfile.read(struct.unpack("!H", hdr)[0])
            r = answer(q, self.client_address[0])
            if r is None:
                return
            self.wfile.write(struct.pack("!H", len(r)) + r)


class UDPServer(socketserver.ThreadingMixIn, socketserver.UDPServer):
    daemon_threads = True
    allow_reuse_address = True


class TCPServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


def load_zone(path: str) -> dict:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def reload_on_hup(path: str) -> None:
    """Install a SIGHUP handler that swaps in the zone file's new contents."""
    def handler(_signum, _frame):
        global ZONE
        try:
            zone = load_zone(path)
        except (OSError, ValueError) as e:
            print(f"stub_dns: reload of {path} failed, keeping the old zone: {e}", file=sys.stderr, flush=True)
            return
        with LOCK:
            ZONE = zone
        print(f"stub_dns: {now()} reloaded {path}", file=sys.stderr, flush=True)
    signal.signal(signal.SIGHUP, handler)


def main(argv=None) -> int:
    global ZONE, LOG
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--zone", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--log")
    a = ap.parse_args(argv)
    ZONE = load_zone(a.zone)
    reload_on_hup(a.zone)
    if a.log:
        LOG = open(a.log, "a", encoding="utf-8")
    udp = UDPServer((a.host, a.port), UDP)
    tcp = TCPServer((a.host, a.port), TCP)
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    print(f"stub_dns listening on {a.host}:{a.port} (udp, tcp)", file=sys.stderr, flush=True)
    try:
        udp.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
