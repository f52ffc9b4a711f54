#!/usr/bin/env python3
"""Put a genuine Postfix capture into a real systemd journal file.

    sudo python3 tools/capture_journal.py [--log tests/logs/postfix/rfc3339.log]
                                          [--out tests/logs/journald]

No systemd needs to run.  Needs Debian's ``systemd-journal-remote`` (for
/lib/systemd/systemd-journal-remote) and ``systemd`` (for journalctl); installs
systemd-journal-remote with apt if it is missing.

1. Each line of the genuine capture (RSYSLOG_FileFormat: RFC 3339 time, host,
   tag[pid]: message; by default tests/logs/postfix/rfc3339.log, written by
   Postfix through rsyslog) becomes one entry in the journal export format.
   From the line: __REALTIME_TIMESTAMP (the line's time, microseconds),
   _HOSTNAME, SYSLOG_IDENTIFIER, SYSLOG_PID and _PID, MESSAGE, SYSLOG_TIMESTAMP.
   Set as journald sets them for a syslog(3) message of Debian 12's
   postfix@-.service: _TRANSPORT=syslog, SYSLOG_FACILITY=2 (mail), PRIORITY
   (6; 4 for "warning:", 3 "error:", 2 "fatal:", 0 "panic:" as Postfix's
   msg_* levels map), _COMM (the program name), _SYSTEMD_UNIT=postfix@-.service,
   _SYSTEMD_SLICE=system-postfix.slice, and fixed _BOOT_ID/_MACHINE_ID;
   __MONOTONIC_TIMESTAMP counts from a boot one hour before the first line.
2. ``/lib/systemd/systemd-journal-remote -o postfix.journal -`` reads that
   stream and writes a real journal file.
3. The real ``journalctl --file postfix.journal -o json`` (one JSON object per
   line, with __CURSOR, __REALTIME_TIMESTAMP, ...) and ``-o short-iso`` are
   kept as fixtures.

Output (in --out): postfix.json, postfix.short-iso.log, postfix.journal.gz (the
journal file itself, gzip'd: journal files are allocated in 8 MiB steps, the
gzip is a few KB; gunzip it to a temporary file and run
``journalctl --file FILE --after-cursor C``), and copies of the source
capture's truth files as postfix.scenario.json / postfix.sink.jsonl.
The export stream itself is left in $WORK (default /var/tmp/emaillog-capture).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import os
import re
import shutil
import subprocess
import sys
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE = re.compile(r"^(\S+) (\S+) ([^\s\[:]+)(?:\[(\d+)\])?: ?(.*)$")
JOURNAL_REMOTE = "/lib/systemd/systemd-journal-remote"
BOOT_ID = uuid.uuid5(uuid.NAMESPACE_DNS, "boot.mx1.news.example.net").hex
MACHINE_ID = uuid.uuid5(uuid.NAMESPACE_DNS, "machine.mx1.news.example.net").hex
PRIORITY = [("panic: ", 0), ("fatal: ", 2), ("error: ", 3), ("warning: ", 4)]


def priority(msg: str) -> int:
    for prefix, level in PRIORITY:
        if msg.startswith(prefix):
            return level
    return 6


def export_entries(lines):
    first = None
    for n, raw in enumerate(lines, 1):
        m = LINE.match(raw.rstrip("\n"))
        if not m:
            raise SystemExit(f"line {n}: not RSYSLOG_FileFormat: {raw!r}")
        ts, host, ident, pid, msg = m.groups()
        t = _dt.datetime.fromisoformat(ts)
        usec = int(t.timestamp()) * 1_000_000 + t.microsecond
        if first is None:
            first = usec
        mono = usec - first + 3600 * 1_000_000
        fields = [("__REALTIME_TIMESTAMP", usec), ("__MONOTONIC_TIMESTAMP", mono),
                  ("_BOOT_ID", BOOT_ID), ("_MACHINE_ID", MACHINE_ID), ("_HOSTNAME", host),
                  ("_TRANSPORT", "syslog"), ("PRIORITY", priority(msg)),
                  ("SYSLOG_FACILITY", 2), ("SYSLOG_IDENTIFIER", ident)]
        if pid:
            fields += [("SYSLOG_PID", pid), ("_PID", pid)]
        fields += [("SYSLOG_TIMESTAMP", t.strftime("%b %e %H:%M:%S ")),
                   ("_COMM", ident.rsplit("/", 1)[-1][:15]),
                   ("_SYSTEMD_UNIT", "postfix@-.service"),
                   ("_SYSTEMD_SLICE", "system-postfix.slice"),
                   ("MESSAGE", msg)]
        yield "".join(f"{k}={v}\n" for k, v in fields) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", default=os.path.join(REPO, "tests/logs/postfix/rfc3339.log"))
    ap.add_argument("--out", default=os.path.join(REPO, "tests/logs/journald"))
    ap.add_argument("--name", default="postfix")
    a = ap.parse_args(argv)
    if not os.path.exists(JOURNAL_REMOTE):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "systemd-journal-remote"], check=True,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    work = os.path.join(os.environ.get("WORK", "/var/tmp/emaillog-capture"), "journald")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    os.makedirs(a.out, exist_ok=True)
    with open(a.log, encoding="utf-8") as fh:
        lines = fh.readlines()
    export = os.path.join(work, f"{a.name}.export")
    with open(export, "w", encoding="utf-8") as fh:
        fh.writelines(export_entries(lines))
    journal = os.path.join(work, f"{a.name}.journal")
    with open(export, "rb") as fh:
        subprocess.run([JOURNAL_REMOTE, "-o", journal, "-"], stdin=fh, check=True)
    for fmt, ext in (("json", "json"), ("short-iso", "short-iso.log")):
        with open(os.path.join(a.out, f"{a.name}.{ext}"), "wb") as fh:
            subprocess.run(["journalctl", "--file", journal, "-o", fmt, "--no-pager"],
                           stdout=fh, check=True, env=dict(os.environ, TZ="UTC"))
    with open(journal, "rb") as src, gzip.GzipFile(os.path.join(a.out, f"{a.name}.journal.gz"),
                                                   "wb", 9, mtime=0) as dst:
        shutil.copyfileobj(src, dst)
    base = a.log[:-len(".log")] if a.log.endswith(".log") else a.log
    for ext in ("scenario.json", "sink.jsonl"):
        if os.path.exists(f"{base}.{ext}"):
            shutil.copy(f"{base}.{ext}", os.path.join(a.out, f"{a.name}.{ext}"))
    n = sum(1 for _ in open(os.path.join(a.out, f"{a.name}.json"), encoding="utf-8"))
    print(f"{len(lines)} lines -> {n} journal entries in {a.out}/{a.name}.*", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
