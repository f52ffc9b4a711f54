"""A syslog file of many programs: /var/log/mail.log holds postfix/*,
sendmail, dovecot, amavis, opendkim, spamd...; /var/log/syslog cron, the
kernel and sshd too. Each line goes to the parser of its program (so two
MTAs in one file both count); other programs' lines are skipped and
counted. Chosen by `--format auto` for any syslog-framed file.
"""

from __future__ import annotations

from collections import Counter

from ..events import Skip
from . import exim, opensmtpd, postfix, sendmail
from .syslog import HEADER, SAMPLE

NAME = "syslog"
DESCRIPTION = "A syslog file of several programs, each line read by its program's parser (Postfix, Sendmail, ...)"
SAMPLES = [SAMPLE]
OTHER = "other programs"

# Program name -> the format that reads its lines; a prefix ends in "*".
PROGRAMS = {
    "postfix*": postfix,        # postfix/smtp, postfix-out/qmgr (multi-instance)
    "sendmail": sendmail, "sm-mta": sendmail, "sm-msp-queue": sendmail,
    "smtpd": opensmtpd,         # OpenSMTPD (Postfix's smtpd logs as postfix/smtpd)
    "exim": exim, "exim4": exim,
}
_PREFIXES = tuple((p[:-1], m) for p, m in PROGRAMS.items() if p.endswith("*"))


def format_of(program: str):
    """The format module for a program name, or None."""
    module = PROGRAMS.get(program)
    if module is None:
        for prefix, candidate in _PREFIXES:
            if program.startswith(prefix):
                return candidate
    return module


def sniff(line: str) -> bool:
    return bool(HEADER.match(line))


class Parser:
    """Routes each line to its program's parser; Postfix lines in bulk."""

    def __init__(self, ctx):
        self.parsers = {}
        self.ctx = ctx
        self.postfix = self._parser(postfix)
        self.routed: Counter = Counter()
        if not hasattr(self.postfix, "feed_text"):  # (a test takes the bulk reader away)
            self.feed_text = None

    def _parser(self, module):
        parser = self.parsers.get(module.NAME)
        if parser is None:
            parser = self.parsers[module.NAME] = module.Parser(self.ctx)
        return parser

    def parse(self, line: str, source: str) -> list:
        head = HEADER.match(line)
        if head is None:
            # no syslog header: an MTA's own line shape, or a broken one
            for module in (postfix, sendmail, opensmtpd):
                if module.NAME in line:
                    self.routed[module.NAME] += 1
                    return self._parser(module).parse(line, source)
            self.routed[OTHER] += 1
            return []
        module = format_of(head.group("prog"))
        if module is None:
            self.routed[OTHER] += 1
            return [Skip(f"{head.group('prog')} line")]
        self.routed[module.NAME] += 1
        return self._parser(module).parse(line, source)

    def feed_text(self, text: str, line_no: int, corr, label: str):
        """Postfix's bulk reader, with the other lines routed here."""
        return self.postfix.feed_text(text, line_no, corr, label, other=self.parse)

    def line_counts(self) -> Counter:
        """Lines read so far, by format (and other programs)."""
        counts = Counter(self.routed)
        counts[postfix.NAME] += self.postfix.fast_lines
        return +counts
