"""The input formats: one module each, registered by one line below.

A format module has NAME, DESCRIPTION, SAMPLES (lines it must recognise),
`sniff(line) -> bool` (does this line look like ours) and `Parser(ctx)`
whose `parse(line, source)` returns facts (see emaillog/events.py).
"""

from __future__ import annotations

from . import exim, opensmtpd, postfix, powermta, sendmail
from . import access_log, mailgun, postmark, sendgrid, ses
from . import journald, mixed_syslog

FORMATS = {
    postfix.NAME: postfix,
    exim.NAME: exim,
    opensmtpd.NAME: opensmtpd,
    powermta.NAME: powermta,
    sendmail.NAME: sendmail,
    ses.NAME: ses,
    sendgrid.NAME: sendgrid,
    mailgun.NAME: mailgun,
    postmark.NAME: postmark,
    access_log.NAME: access_log,
    mixed_syslog.NAME: mixed_syslog,
    journald.NAME: journald,
}
# Formats whose files are syslog: a file detected as one of these is read
# through the router, so other programs' lines in it are read too.
SYSLOG_FORMATS = (postfix.NAME, sendmail.NAME, opensmtpd.NAME)
ROUTED_MIN_SHARE = 0.6  # of a file's first lines syslog-framed, to route a file no format claims


def detect_file(head: list[str]):
    """The format to read a file with: `detect`, except that a syslog file
    (Postfix, Sendmail, OpenSMTPD, or lines of programs we don't read) goes
    through the router, which gives each line to its program's parser."""
    module, why = detect(head)
    if module is not None and module.NAME in SYSLOG_FORMATS:
        return mixed_syslog, None
    if module is None:
        lines = [line for line in head if line.strip()]
        framed = sum(1 for line in lines if mixed_syslog.sniff(line))
        if lines and framed / len(lines) >= ROUTED_MIN_SHARE:
            return mixed_syslog, None
    return module, why


def detect(head: list[str]):
    """The format most of a file's first lines look like (lnav-style), with
    a reason when none fits."""
    best, best_hits = None, 0
    lines = [line for line in head if line.strip()]
    for module in FORMATS.values():
        if module is mixed_syslog:
            continue
        hits = sum(1 for line in lines if module.sniff(line))
        if hits > best_hits:
            best, best_hits = module, hits
    if best is None:
        return None, f"none of the {len(lines)} first lines looks like {', '.join(FORMATS)}"
    return best, None
