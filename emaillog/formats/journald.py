"""The systemd journal as `journalctl -o json` prints it: one JSON object
per entry and line (systemd.journal-fields(7), "JSON format" in
https://systemd.io/JOURNAL_EXPORT_FORMATS/).

Each entry becomes the syslog line it stands for, `TIME HOST PROGRAM[PID]:
MESSAGE`, read by the parser the syslog router (mixed_syslog) gives that
program: a Postfix line from the journal gives the same events as the same
line from /var/log/mail.log. From the entry: the time from
`__REALTIME_TIMESTAMP` (microseconds since the epoch, UTC: exact, with its
year), the host from `_HOSTNAME`, the program from `SYSLOG_IDENTIFIER`
(else `_COMM`), the pid from `SYSLOG_PID` (else `_PID`). The last entry's
`__CURSOR` is kept (`cursor`): `ingest --journal` resumes after it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from ..events import Reject
from . import mixed_syslog

NAME = "journald"
DESCRIPTION = "systemd journal entries as `journalctl -o json` prints them (each read by its program's parser)"
SAMPLES = [
    '{"__CURSOR":"s=5b19;i=1;b=3934;m=d693a400;t=66159da8b0b76;x=593f","__REALTIME_TIMESTAMP":"1795888406793078",'
    '"_HOSTNAME":"mx1","SYSLOG_IDENTIFIER":"postfix/qmgr","SYSLOG_PID":"14195","_PID":"14195",'
    '"MESSAGE":"599AC1600ED: removed"}',
]

# journalctl writes its keys unordered: look for two that every entry has.
_SNIFF = re.compile(r'^\s*\{.*"__REALTIME_TIMESTAMP"\s*:.*$')
# Characters a program name cannot hold in a syslog header (syslog.HEADER).
_NOT_IN_PROGRAM = re.compile(r"[\s\[:]+")
# rsyslog writes control characters as #ooo (its default
# $EscapeControlCharactersOnReceive): a multi-line MESSAGE is one line then.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def sniff(line: str) -> bool:
    return '"__CURSOR"' in line and bool(_SNIFF.match(line))


def field_text(value) -> str | None:
    """One field's text. journalctl prints a value that is not valid UTF-8
    as an array of byte values, and a field an entry holds more than once
    as an array of its values (we take the first)."""
    if isinstance(value, list):
        if value and all(isinstance(b, int) and not isinstance(b, bool) and 0 <= b < 256 for b in value):
            return bytes(value).decode("utf-8", "replace")
        return field_text(value[0]) if value else None
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def entry_line(entry: dict) -> str | Reject:
    """The syslog line of a journal entry (RFC 3339 stamp, UTC), or why not."""
    usec = field_text(entry.get("__REALTIME_TIMESTAMP"))
    if usec is None or not usec.isdigit():
        return Reject("journal entry without a __REALTIME_TIMESTAMP in microseconds")
    try:
        when = datetime.fromtimestamp(int(usec) // 1_000_000, timezone.utc).replace(microsecond=int(usec) % 1_000_000)
    except (OverflowError, OSError, ValueError):
        return Reject(f"journal entry with an impossible __REALTIME_TIMESTAMP {usec}")
    message = entry.get("MESSAGE")
    text = field_text(message)
    if text is None:
        # journalctl prints null for a field over 4096 bytes unless --all
        why = "left out by journalctl (pass --all)" if message is None and "MESSAGE" in entry else "missing"
        return Reject(f"journal entry whose MESSAGE is {why}")
    program = field_text(entry.get("SYSLOG_IDENTIFIER")) or field_text(entry.get("_COMM")) or "-"
    program = _NOT_IN_PROGRAM.sub("_", program)
    pid = field_text(entry.get("SYSLOG_PID")) or field_text(entry.get("_PID"))
    host = _NOT_IN_PROGRAM.sub("_", field_text(entry.get("_HOSTNAME")) or "localhost")
    text = _CONTROL.sub(lambda m: f"#{ord(m.group()):03o}", text.rstrip("\n"))
    tag = f"{program}[{pid}]" if pid and pid.isdigit() else program
    return f"{when.isoformat(timespec='microseconds')} {host} {tag}: {text}"


class Parser:
    """Journal entries to syslog lines, routed by program (mixed_syslog)."""

    def __init__(self, ctx):
        self.router = mixed_syslog.Parser(ctx)
        self.cursor: str | None = None  # of the last entry read
        self.broken = 0  # lines that were no journal entry

    def parse(self, line: str, source: str) -> list:
        try:
            entry = json.loads(line)
        except ValueError:
            self.broken += 1
            return [Reject("not a journal entry: the line is not JSON (journalctl -o json prints one object a line)")]
        if not isinstance(entry, dict):
            self.broken += 1
            return [Reject("not a journal entry: a JSON line that is not an object")]
        cursor = entry.get("__CURSOR")
        if isinstance(cursor, str):
            self.cursor = cursor
        syslog_line = entry_line(entry)
        if isinstance(syslog_line, Reject):
            self.broken += 1
            return [syslog_line]
        return self.router.parse(syslog_line, source)

    def line_counts(self):
        """Lines read so far, by the format their program's parser reads."""
        counts = self.router.line_counts()
        if self.broken:
            counts[NAME] += self.broken
        return counts
