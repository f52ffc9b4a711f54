"""Addresses, campaign names and bounce texts come from the internet. On a
terminal they must print as literal text: never as Rich markup, never as
escape sequences that clear the screen or retitle the window.

The inputs are real line shapes (Postfix lines from tests/logs/postfix,
a SendGrid webhook record) with hostile text where the internet puts it."""

from __future__ import annotations

import json
import re

import pytest

MARKUP = "[bold red]x[/]"
CLEAR = "\x1b[2J"
SHOWN_CLEAR = "\\x1b[2J"  # how emaillog shows the control character
HOSTILE = f'"{MARKUP}"@example.net'  # Postfix logs a local part with a space quoted
QID = "20CD11600D5"
POSTFIX = "\n".join([
    f"Nov 28 17:47:06 mx1 postfix/cleanup[6859]: {QID}: message-id=<spring.0001.511e7ea419@news.example.net>",
    f"Nov 28 17:47:06 mx1 postfix/cleanup[6859]: {QID}: info: header X-Campaign-ID: {MARKUP} from "
    "localhost[127.0.0.1]; from=<bounces@news.example.net> to=<ann@example.net> proto=ESMTP helo=<app1>",
    f"Nov 28 17:47:06 mx1 postfix/qmgr[6769]: {QID}: from=<bounces@news.example.net>, size=648, nrcpt=2 "
    "(queue active)",
    f"Nov 28 17:47:06 mx1 postfix/smtp[6860]: {QID}: to=<{HOSTILE}>, relay=127.0.0.1[127.0.0.1]:2525, "
    "delay=0.12, delays=0.01/0.01/0.04/0.06, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: "
    f"550 5.1.1 <{HOSTILE}>: {MARKUP} User unknown {CLEAR} (in reply to RCPT TO command))",
    f"Nov 28 17:47:06 mx1 postfix/smtp[6860]: {QID}: to=<ann@example.net>, relay=127.0.0.1[127.0.0.1]:2525, "
    "delay=0.12, delays=0.01/0.01/0.04/0.06, dsn=4.2.2, status=deferred (host 127.0.0.1[127.0.0.1] said: "
    f"452 4.2.2 Mailbox full {MARKUP} {CLEAR} (in reply to RCPT TO command))",
    f"Nov 28 17:47:07 mx1 postfix/smtp[6860]: {QID}: to=<broken@example.net>, relay=none, status=\x1b]0;pwned\x07",
]) + "\n"
SENDGRID = json.dumps({
    "email": "[bold red]y[/]@example.com", "timestamp": 1795870800, "event": "bounce", "type": "blocked",
    "status": "5.7.1", "category": [MARKUP], "sg_event_id": "e1", "sg_message_id": "m1.filter1.1.0",
    "reason": f"554 5.7.1 {CLEAR} {MARKUP} blocked using zen.spamhaus.org"}) + "\n"

# Rich's own colours (SGR, ending in "m") are fine; anything else is not.
FOREIGN_ESCAPE = re.compile(r"\x1b(?!\[[0-9;]*m)")
AT = "2026-11-28T18:00:00Z"
COMMANDS = [
    ("person", HOSTILE, "--at", AT),
    ("person", "ann@example.net", "--at", AT),
    ("events",),
    ("suppressed", "--at", AT),
    ("retries", "--at", AT, "--include-given-up"),
    ("check", HOSTILE, "--at", AT),
    ("rejects",),
    ("classify", f"550 5.1.1 {MARKUP} user unknown {CLEAR}"),
    ("stats", "--at", AT),
]


@pytest.fixture(params=["colour", "no colour"])
def loaded(cli, tmp_path, request):
    (tmp_path / "mail.log").write_text(POSTFIX)
    (tmp_path / "sendgrid.jsonl").write_text(SENDGRID)
    result = cli("ingest", "--year", "2026", tmp_path / "mail.log", tmp_path / "sendgrid.jsonl")
    assert result.returncode == 0, result.stderr
    colour = {"FORCE_COLOR": "1", "TERM": "xterm-256color"} if request.param == "colour" else {"NO_COLOR": "1"}
    return lambda *args: cli(*args, env_extra={**colour, "COLUMNS": "250"})


def test_ingest_summary_is_safe(cli, tmp_path):
    (tmp_path / "mail.log").write_text(POSTFIX)
    result = cli("ingest", "--year", "2026", tmp_path / "mail.log", env_extra={"FORCE_COLOR": "1"})
    assert not FOREIGN_ESCAPE.search(result.stdout + result.stderr)


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_output_shows_hostile_text_literally(loaded, args):
    result = loaded(*args)
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert CLEAR not in out and "\x1b]0;" not in out
    assert not FOREIGN_ESCAPE.search(out), repr(FOREIGN_ESCAPE.search(out))


def test_markup_and_escapes_are_visible_as_text(loaded):
    """Not only harmless: shown, so an operator sees what the remote said."""
    person = loaded("person", HOSTILE, "--at", AT).stdout
    assert HOSTILE in person
    events = loaded("events").stdout
    assert MARKUP in events and "[bold red]y[/]@example.com" in events
    assert SHOWN_CLEAR in events  # in the detail column
    assert loaded("check", HOSTILE, "--at", AT).stdout.startswith(f"no: {HOSTILE}")
    assert MARKUP in loaded("stats", "--at", AT).stdout  # the campaign name
    assert "\\x1b]0;pwned\\x07" in loaded("rejects").stdout
    classify = loaded("classify", f"550 5.1.1 {MARKUP} user unknown {CLEAR}").stdout
    assert MARKUP in classify and SHOWN_CLEAR in classify
