"""The syslog line header shared by Postfix, Sendmail and OpenSMTPD logs.

`Nov 28 13:10:01 mx1 postfix/smtp[123]: message` (RFC 3164, also Postfix's
own `maillog_file`) or `2026-11-28T13:10:01.123456+01:00 mx1 ...` (rsyslog's
RSYSLOG_FileFormat). The pid is optional; so is the day's padding
(`Mar 7 02:09:33` is seen in real logs).
"""

from __future__ import annotations

import re

from ..timestamps import Clock

HEADER = re.compile(
    r"(?P<ts>[A-Z][a-z]{2} {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d+)?"
    r"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)"
    r" (?P<host>\S+) (?P<prog>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: (?P<msg>.*)"
)
SAMPLE = "Nov 28 13:10:01 mx1 postfix/smtp[123]: 4Fq2xk1cQzz9: removed"


def stamp(clock: Clock, text: str):
    """The UTC datetime of a header's `ts` group."""
    return clock.iso(text) if text[0].isdigit() else clock.syslog(text)
