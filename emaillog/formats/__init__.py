"""The input formats: one module each, registered by one line below.

A format module has NAME, DESCRIPTION, SAMPLES (lines it must recognise),
`sniff(line) -> bool` (does this line look like ours) and `Parser(ctx)`
whose `parse(line, source)` returns facts (see emaillog/events.py).
"""

from __future__ import annotations

from . import exim, opensmtpd, postfix, powermta, sendmail
from . import access_log, mailgun, postmark, sendgrid, ses

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
}


def detect(head: list[str]):
    """The format most of a file's first lines look like (lnav-style), with
    a reason when none fits."""
    best, best_hits = None, 0
    lines = [line for line in head if line.strip()]
    for module in FORMATS.values():
        hits = sum(1 for line in lines if module.sniff(line))
        if hits > best_hits:
            best, best_hits = module, hits
    if best is None:
        return None, f"none of the {len(lines)} first lines looks like {', '.join(FORMATS)}"
    return best, None
